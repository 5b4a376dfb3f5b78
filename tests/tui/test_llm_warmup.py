"""The LLM client loads in a background thread after the first frame when a provider has a key,
and the status bar says so ("LLM client: loading…" then "ready"); with no key it never loads."""

from __future__ import annotations

import threading
from typing import Any

from tests.tui.helpers import settle, text_of
from tui.app import TemplarApp


async def test_llm_client_warms_in_the_background_and_the_bar_says_so(engine: Any, monkeypatch: Any) -> None:
    from engine.llm import adapter

    release, started = threading.Event(), threading.Event()
    real = adapter.litellm

    def slow_import() -> Any:
        started.set()
        release.wait(30)
        return real()

    monkeypatch.setattr(adapter, "litellm", slow_import)
    app = TemplarApp(engine)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(200):  # the engine opens, providers are checked, then the warm-up starts
            await pilot.pause()
            if started.is_set():
                break
        assert started.is_set(), "a provider has a key: the client must start loading"
        await pilot.pause()
        assert app.llm_state == "loading"
        assert "LLM client: loading…" in text_of(app, "#bar-status")
        assert app.screen.query_one("#task").has_focus or app.focused is not None, "the app stays usable"
        release.set()
        await settle(pilot)
        assert app.llm_state == "ready"
        assert "LLM client: ready" in text_of(app, "#bar-status")


async def test_no_key_no_warm_up(keyless_engine: Any, monkeypatch: Any) -> None:
    from engine.llm import adapter

    calls: list[int] = []
    monkeypatch.setattr(adapter, "litellm", lambda: calls.append(1))
    app = TemplarApp(keyless_engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert app.no_keys and app.llm_state == "" and calls == []
        assert "LLM client" not in text_of(app, "#bar-status")
