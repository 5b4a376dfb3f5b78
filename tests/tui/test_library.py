"""The template library: learned and built-in templates, search, filter, sort, detail, retire,
export and import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input

from engine.learning.body import Param
from tests.tui.helpers import press, settle, text_of, type_text
from tui.app import TemplarApp
from tui.screens.library import LibraryScreen, Row, select_rows
from tui.screens.modals import PromptModal

SIZE = (120, 40)
GREETING = {
    "name": "greeting",
    "pattern": "a greeting constant saying {text:string}",
    "body": '"""Greeting."""\n\nGREETING: str = {{ text | repr }}\n',
    "params": [Param("text", "string", "hi")],
}


async def open_library(pilot: Any) -> LibraryScreen:
    await settle(pilot)
    await press(pilot, "escape", "l")
    screen = pilot.app.screen
    assert isinstance(screen, LibraryScreen)
    return screen


async def test_library_lists_searches_filters_and_shows_details(engine: Any) -> None:
    engine.store.call(engine.library.add_template, GREETING)
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        sources = {r.source for r in screen.shown}
        assert sources == {"learned", "built-in"} and len(screen.shown) > 10
        assert "greeting" in [r.name for r in screen.shown]
        assert "[class]" in next(r.pattern for r in screen.shown if r.name == "dataclass"), "no markup eaten"

        await press(pilot, "slash")
        screen.query_one("#lib-search", Input).value = "greet"
        await press(pilot, "enter")
        assert [r.name for r in screen.shown] == ["greeting"]
        detail = text_of(app, "#tpl-detail")
        assert "a greeting constant saying {text:string}" in detail
        assert "{{ text | repr }}" in text_of(app, "#tpl-body")
        assert "imported" in detail, "the version history is shown"

        await press(pilot, "slash", "ctrl+u", "enter", "f", "f", "f")  # all -> active -> retired -> learned
        assert screen.filter == "learned" and [r.name for r in screen.shown] == ["greeting"]
        await press(pilot, "f")
        assert screen.filter == "built-in" and all(r.source == "built-in" for r in screen.shown)


async def test_retire_export_and_import_from_the_library(engine: Any, tmp_path: Path) -> None:
    view = engine.store.call(engine.library.add_template, GREETING)
    out = tmp_path / "lib.json"
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_library(pilot)
        await press(pilot, "e")
        assert isinstance(app.screen, PromptModal)
        await press(pilot, "ctrl+u")
        app.screen.query_one(Input).value = str(out)
        await press(pilot, "enter")
        assert out.exists() and '"greeting"' in out.read_text()

        await press(pilot, "i", "ctrl+u")
        app.screen.query_one(Input).value = str(out)
        await press(pilot, "enter")
        assert [r.name for r in screen.rows if r.source == "learned"] == ["greeting", "greeting"]

        screen.query_one("#lib-table").move_cursor(row=[r.key for r in screen.shown].index(f"learned-{view.id}"))
        await press(pilot, "x", "ctrl+u")
        await type_text(pilot, "obsolete")
        await press(pilot, "enter")
        assert app.errors == []
    retired = engine.store.call(engine.library.template, view.id)
    assert retired.status == "retired" and retired.retired_reason == "obsolete"


def test_select_rows_sorts_numbers_descending_and_filters() -> None:
    rows = [
        Row("a", "learned", 1, "a", "p", 1, 1, 0, 10, 50, "active"),
        Row("b", "learned", 2, "b", "q", 1, 5, 0, 5, 90, "retired"),
        Row("c", "built-in", None, "c", "r", 1, None, None, None, None, "active"),
    ]
    assert [r.key for r in select_rows(rows, "", "all", "uses")] == ["b", "a", "c"]
    assert [r.key for r in select_rows(rows, "", "active", "name")] == ["a", "c"]
    assert [r.key for r in select_rows(rows, "Q", "all", "name")] == ["b"]
