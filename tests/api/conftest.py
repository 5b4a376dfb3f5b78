"""API tests reuse the engine fixtures: a real SQLite store in a temp dir, the fake provider."""

from tests.engine.conftest import _server, engine, fake, keys, make_engine, sleeps  # noqa: F401
