"""App-wide behaviour: first paint before the engine, mode keys, the pending count on every
screen, the command palette and help covering every action, engine failures as notifications,
and import hygiene (the app module loads neither litellm nor the engine's service)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from tests.engine.test_learning import TASK
from tests.tui.helpers import press, settle, text_of
from tui.app import TemplarApp
from tui.format import short_source, show_value
from tui.modes import screen_classes
from tui.screens.help import HelpScreen, help_text

SIZE = (120, 40)
ROOT = Path(__file__).resolve().parents[2]


async def test_first_paint_does_not_wait_for_the_engine(engine: Any) -> None:
    release = threading.Event()

    def slow_factory() -> Any:
        release.wait(10)
        return engine

    app = TemplarApp(slow_factory)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.engine_state == "opening" and app.engine is None
        assert "opening the database" in text_of(app, "#bar-status")
        await pilot.press("escape", "b")  # not press(): it would wait for the opening worker
        await pilot.pause()
        assert app.current_mode == "budget", "keys work while the engine opens"
        release.set()
        await settle(pilot)
        assert app.engine_state == "ready" and app.engine is engine
        assert "default/default" in text_of(app, "#bar-status")
    assert app.owns_engine, "an engine from a factory is the app's to close"


async def test_an_engine_that_cannot_open_is_a_notification(paths: Any) -> None:
    def broken() -> Any:
        raise ConfigError("unknown key", file="settings.toml", key="chain.atempts", line=3)

    app = TemplarApp(broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.engine_state == "failed" and app.is_running
        assert app.errors == ["settings.toml:3: chain.atempts: unknown key"]
        assert "engine unavailable" in text_of(app, "#bar-status")


async def test_mode_keys_and_the_pending_count_on_every_screen(learning_engine: Any) -> None:
    await learning_engine.generate(TASK)
    app = TemplarApp(learning_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape")
        for key, mode in (("l", "library"), ("b", "budget"), ("c", "config"), ("r", "review"), ("g", "generate")):
            await press(pilot, key)
            assert app.current_mode == mode
            assert text_of(app, "#tab-review").strip() == "r Review 1"
            assert "1 pending review" in text_of(app, "#bar-status")
            assert app.screen.query_one(f"#tab-{mode}").has_class("-active")


async def test_the_command_palette_has_every_action_and_runs_them_in_their_mode(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for screen in screen_classes().values():
            for binding in screen.BINDINGS:
                if binding.description:
                    assert any(
                        title.endswith(f": {binding.description} ({binding.key_display or binding.key})")
                        for title in commands
                    ), binding
        for title in ("Go to Library (l)", "Go to Review (r)", "Help (?)"):
            assert title in commands
        commands["Library: Filter (f)"].callback()
        await settle(pilot)
        assert app.current_mode == "library" and app.screen.filter == "active"
        await press(pilot, "ctrl+p")
        assert type(app.screen).__name__ == "CommandPalette"
        await press(pilot, "escape")


async def test_help_lists_every_key(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_text()
        for screen in screen_classes().values():
            for binding in screen.BINDINGS:
                if binding.description:
                    assert f"{binding.key_display or binding.key}  {binding.description}" in text
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


def test_the_app_module_loads_neither_litellm_nor_the_engine_service() -> None:
    code = (
        "import sys\nfrom tui.app import TemplarApp\nTemplarApp()\n"
        "print(sorted(m for m in ('litellm', 'engine.service', 'engine.pipeline') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_sources_and_values_are_shown_without_machine_paths(tmp_path: Path) -> None:
    config = tmp_path / "config"
    assert short_source(str(config / "projects" / "acme.toml"), config) == "projects/acme.toml"
    assert (
        short_source("/opt/x/engine/config/settings.toml", config, Path("/opt/x/engine/config/settings.toml"))
        == "settings.toml"
    )
    assert short_source("TEMPLAR_CHAIN__ATTEMPTS", config) == "TEMPLAR_CHAIN__ATTEMPTS"
    assert show_value(["gemini", "openai"]) == '["gemini", "openai"]' and show_value(True) == "true"
    assert show_value("x" * 100, 10) == "x" * 9 + "…"


def test_streamed_text_and_pipeline_lines() -> None:
    from engine.events import AttemptStarted, Backoff
    from tui.screens.generate import strip_fence
    from tui.widgets.pipeline import describe

    assert strip_fence("```python\nX = 1\n```\n") == "X = 1\n" and strip_fence("```pyt") == ""
    started = AttemptStarted("openai", "openai/gpt-4o-mini", 1, 0.0006)
    assert "suggestion" in describe(AttemptStarted("openai", "m", 1, 0.0006, "suggest")).plain
    assert "repair" in describe(AttemptStarted("openai", "m", 2, 0.0006, "repair")).plain
    assert "(" not in describe(started).plain.split("reserved")[0], "the answer's own attempts carry no label"
    assert "waiting 2.0 s before attempt 2" in describe(Backoff("openai", 1, 2.0, "rate_limit")).plain
