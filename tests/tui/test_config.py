"""The config screen: an override edited here changes the effective value and its provenance;
a bad value is refused in place with the engine's one-line error and nothing is written."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.tui.helpers import press, settle, text_of, type_text
from tui.app import TemplarApp
from tui.screens.config import ConfigScreen
from tui.screens.modals import ConfirmModal, PromptModal

SIZE = (120, 40)


async def open_key(pilot: Any, key: str) -> ConfigScreen:
    await settle(pilot)
    await press(pilot, "escape", "c")
    screen = pilot.app.screen
    assert isinstance(screen, ConfigScreen)
    await press(pilot, "slash")
    screen.query_one("#cfg-search", Input).value = key
    await press(pilot, "enter")
    assert [r.key for r in screen.shown] == [key]
    return screen


async def set_value(pilot: Any, key: str, text: str) -> None:
    await press(pilot, key)
    assert isinstance(pilot.app.screen, PromptModal)
    await press(pilot, "ctrl+u")
    await type_text(pilot, text)
    await press(pilot, "enter")


async def test_edit_project_and_agent_overrides_and_see_provenance_change(engine: Any, paths: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_key(pilot, "chain.attempts")
        row = screen.shown[0]
        assert (row.value, row.level, row.where) == (3, "system", row.where)
        assert row.where.startswith("settings.toml:")

        await set_value(pilot, "e", "5")
        assert app.screen is screen
        row = screen.shown[0]
        assert (row.value, row.level) == (5, "project")
        assert row.where.startswith("projects/default.toml:")
        assert row.levels["system"] == 3 and row.levels["project"] == 5
        assert "attempts = 5" in paths.project_file("default").read_text()
        assert "set by project (projects/default.toml" in text_of(app, "#cfg-detail")

        await set_value(pilot, "a", "4")
        row = screen.shown[0]
        assert (row.value, row.level) == (4, "agent")
        assert engine.config("default", "default").settings.chain.attempts == 4

        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmModal)
        await press(pilot, "y")
        row = screen.shown[0]
        assert (row.value, row.level) == (5, "project")
        assert app.errors == []


async def test_a_bad_value_is_refused_in_the_dialog_and_nothing_is_written(engine: Any, paths: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_key(pilot, "chain.attempts")
        await set_value(pilot, "e", "99")
        modal = app.screen
        assert isinstance(modal, PromptModal), "the dialog stays open on an error"
        error = text_of(app, "#prompt-error")
        assert "chain.attempts" in error and "10" in error
        assert not paths.project_file("default").exists()
        await press(pilot, "escape")
        assert app.screen is screen and screen.shown[0].level == "system"


async def test_project_picker_reads_the_project_files(engine: Any, paths: Any) -> None:
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("acme").write_text("[chain]\nattempts = 2\n\n[agents.coder.chain]\nattempts = 1\n")
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_key(pilot, "chain.attempts")
        assert app.scopes == {"acme": ["coder"]}
        app.project = "acme"
        await settle(pilot)
        assert (screen.shown[0].value, screen.shown[0].level) == (2, "project")
        app.agent = "coder"
        await settle(pilot)
        assert (screen.shown[0].value, screen.shown[0].level) == (1, "agent")
        assert "acme/coder" in text_of(app, "#bar-status")
