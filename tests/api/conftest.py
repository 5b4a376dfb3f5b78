"""API tests reuse the engine fixtures (fake provider server, keys, settings, a temp store)."""

from tests.engine.conftest import _server, engine, fake, keys, make_engine, sleeps  # noqa: F401
