"""MCP tests reuse the engine fixtures (fake provider server, keys, settings)."""

from tests.engine.conftest import _server, fake, keys, make_engine, sleeps  # noqa: F401
