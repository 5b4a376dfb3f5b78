"""Layout at 80x24 and 160x48, visible focus, the footer following the focus, and the theme.

Every case drives the real app with Pilot. Near misses kept here on purpose: a Tab stop that is
a container with nothing to show (Budget's right column), a help text longer than the screen,
a theme switch after the code is shown (tokens must repaint on the new panel colour).
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.color import Color
from textual.widget import Widget
from textual.widgets import Button, Select, Static

from tests.tui.helpers import press, settle
from tui.app import TemplarApp
from tui.widgets.code import CodeView

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
MODES = ["generate", "library", "budget", "config", "review"]


def shows_focus(widget: Widget) -> bool:
    """The focused widget is marked: a focus bar (outline), or (selects, buttons) its own style."""
    if isinstance(widget, (Select, Button)):
        return True  # app.tcss restyles them on :focus; checked for change in the test below
    return widget.styles.outline_left[0] not in ("", "none")


def visible_area(widget: Widget) -> int:
    """Cells of the widget that are on screen (inside every scrolled ancestor)."""
    region = widget.region
    for ancestor in widget.ancestors_with_self:
        if isinstance(ancestor, Widget) and ancestor is not widget:
            region = region.intersection(ancestor.scrollable_content_region)
    return region.area


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", MODES)
async def test_tab_never_lands_on_something_invisible_or_unmarked(
    mode: str, size: tuple[int, int], engine: Any
) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "escape")
        app.switch_mode(mode)
        await settle(pilot)
        chain = list(app.screen.focus_chain)
        assert chain, f"{mode}: nothing can take the focus"
        for _ in range(len(chain) + 1):
            await press(pilot, "tab")
            await pilot.pause()
            focused = app.focused
            assert focused is not None
            assert visible_area(focused) > 0, f"{mode} {size}: Tab landed on {focused!r}, which is not on screen"
            assert shows_focus(focused), f"{mode} {size}: {focused!r} has the focus but no focus style"


async def test_select_and_input_change_look_when_focused(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "b")
        select = app.screen.query_one("#pick-project", Select)
        current = select.query_one("SelectCurrent")
        before = current.styles.background
        select.focus()
        await settle(pilot)
        assert current.styles.background != before


async def test_budget_focusables_are_the_tables_not_their_containers(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "b")
        ids = [w.id for w in app.screen.focus_chain]
        assert "budget-right" not in ids and "budget-main" not in ids
        assert {"alerts", "breakdown", "allocation"} <= set(ids)


@pytest.mark.parametrize("size", SIZES)
async def test_help_fits_the_screen_and_scrolls(size: tuple[int, int], engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "question_mark")
        body = app.screen.query_one("#help-body")
        assert body.region.right <= size[0] and body.region.bottom <= size[1], "help is cut off"
        assert body.max_scroll_y > 0, "every key on every screen does not fit: it must scroll"
        await press(pilot, "end")
        assert body.scroll_y == body.max_scroll_y


async def test_narrow_screens_stack_their_panes(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "c")
        assert app.screen.has_class("-narrow")
        left, right = app.screen.query_one("#cfg-left"), app.screen.query_one("#cfg-right")
        assert right.region.y >= left.region.bottom and right.region.right <= 80
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert not app.screen.has_class("-narrow")
        assert right.region.x >= left.region.right, "wide: side by side"


def footer_keys(app: Any) -> set[str]:
    return {key.key for key in app.screen.query("FooterKey")}


async def test_footer_follows_the_focus(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "l")
        assert {"f", "o", "slash"} <= footer_keys(app), "the table has the focus: the screen's keys show"
        assert "g" not in footer_keys(app), "mode keys are on the mode bar, not the footer"
        await press(pilot, "slash")
        keys = footer_keys(app)
        assert "f" not in keys and "o" not in keys, "typing in the search box: letters are not actions"


def backgrounds(widget: Widget) -> set[Color]:
    """Every background colour the widget paints (each segment of each line)."""
    colours = set()
    for y in range(widget.size.height):
        for segment in widget.render_line(y):
            if segment.style and segment.style.bgcolor and segment.text.strip():
                colours.add(Color.from_rich_color(segment.style.bgcolor))
    return colours


@pytest.mark.parametrize("theme", ["templar", "textual-light", "nord"])
async def test_code_background_is_uniform_and_follows_the_theme(theme: str, engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "r")
        view = app.screen.query_one("#rev-code", CodeView)
        view.show('"""Doc."""\n\nimport os\n\n\ndef f(x: int = 5) -> str:\n    return f"{x}" + os.sep  # hi\n')
        app.theme = theme
        await settle(pilot)
        body = view.query_one(".code-body", Static)
        surface = Color.parse(app.theme_variables["surface"])
        colours = backgrounds(body)
        assert colours, "the code was not painted"
        assert all(abs(c.brightness - surface.brightness) < 0.05 for c in colours), (
            f"{theme}: tokens sit on {colours}, the panel is {surface}"
        )
