"""App tests reuse the engine fixtures (fake provider server, keys, settings) and add engines
for the cases the app needs: learning on, no keys, a fixed clock for snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.paths import Paths
from engine.service import Engine
from tests.engine.conftest import _server, engine, fake, keys, make_engine, sleeps  # noqa: F401
from tests.engine.test_learning import responder

# 2025-01-15 12:00 UTC: budget periods, ledger days and alert times in snapshots never move.
FIXED_NOW = 1736942400.0


@pytest.fixture
def learning_engine(make_engine: Any, fake: Any) -> Engine:  # noqa: F811
    """Paid answers leave a pending suggestion (the fake answers code, suggestions and reviews)."""
    fake.responder = responder()
    # the model's suggestion (deterministic parameterisation is tested in tests/engine)
    return make_engine(order='["openai", "gemini"]', learning=True, extra="deterministic = false\n")


@pytest.fixture
def keyless_engine(paths: Paths) -> Iterator[Engine]:  # noqa: F811
    """The default settings and no API keys: only templates and the cache can answer."""
    built = Engine.from_settings(paths)
    yield built
    built.close()


@pytest.fixture
def fixed_engine(paths: Paths, fake: Any, sleeps: Any, keys: str) -> Iterator[Any]:  # noqa: F811
    """Build engines on the fake provider with a fixed clock (for snapshots)."""
    from tests.engine.conftest import user_settings

    engines: list[Engine] = []

    def build(*, learning: bool = False, order: str = '["openai", "gemini"]', extra: str = "") -> Engine:
        paths.user_settings.write_text(
            user_settings(fake, order=order, learning=learning, extra=extra), encoding="utf-8"
        )
        built = Engine.from_settings(paths, sleep=sleeps, clock=lambda: FIXED_NOW)
        engines.append(built)
        return built

    yield build
    for built in engines:
        built.close()
