"""An engine on a temp dir whose three providers point at the loopback fake server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engine.paths import Paths
from engine.service import Engine
from tests.fakes import FakeProviderServer
from tests.fakes.settings import MODELS, api_bases, provider_tables

# Random like a real key: the scrubber masks any 6-character piece of a configured key in error
# text, so a key spelled with words ("templar", "leak") would mask those words everywhere.
FAKE_KEY = "fk-Q3xV8mZ1rT6wY4pL9sK2dH7gJ5cB0nE"
PROVIDERS = MODELS


@pytest.fixture(scope="session")
def _server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(hang_limit=10) as server:
        yield server


@pytest.fixture
def fake(_server: FakeProviderServer) -> FakeProviderServer:
    _server.reset()
    return _server


def user_settings(
    fake: FakeProviderServer, *, extra: str = "", timeout: float = 5.0, order: str = "", learning: bool = False
) -> str:
    lines = provider_tables(api_bases(fake), timeout_s=timeout)
    lines += ["[chain]", "jitter = 0.0", "cooldown_failures = 100"]
    if order:
        lines.append(f"order = {order}")
    # learning makes a second (suggestion) call per paid answer; tests of it turn it on
    lines += ["", "[learning]", f"enabled = {'true' if learning else 'false'}"]
    return "\n".join(lines) + "\n" + extra


class Sleeps:
    """An injected sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    for name in PROVIDERS:
        monkeypatch.setenv(f"{name.upper()}_API_KEY", FAKE_KEY)
    return FAKE_KEY


@pytest.fixture
def make_engine(paths: Paths, fake: FakeProviderServer, sleeps: Sleeps, keys: str) -> Iterator[Any]:
    engines: list[Engine] = []

    def build(extra: str = "", **kwargs: Any) -> Engine:
        paths.user_settings.write_text(user_settings(fake, extra=extra, **kwargs), encoding="utf-8")
        engine = Engine.from_settings(paths, sleep=sleeps)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


@pytest.fixture
def engine(make_engine: Any) -> Engine:
    return make_engine()
