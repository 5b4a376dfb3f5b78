"""Colours follow the theme: Rich text written with named colours becomes theme variables, and
a theme switch from the command palette recolours what is already on screen."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.color import Color
from textual.content import Content

from tests.tui.helpers import press, settle
from tui.app import TemplarApp
from tui.theme import themed


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("red", "$text-error"),
        ("bold green", "bold $text-success"),
        ("bold black on green", "bold $background on $success"),
        ("bold white on red", "bold $foreground on $error"),
        ("dim", "$text-muted"),
        ("italic", "italic"),  # near miss: no colour, left alone
        ("bold", "bold"),
        ("underline cyan", "underline $text-primary"),
    ],
)
def test_named_colours_become_theme_variables(style: str, expected: str) -> None:
    content = themed(Text("word", style=style))
    assert isinstance(content, Content)
    assert [span.style for span in content.spans] == [expected]


def test_colour_names_in_the_words_are_text_not_style() -> None:
    content = themed(Text.assemble(("✗ ", "red"), "the green light is red"))
    assert content.plain == "✗ the green light is red"
    assert [(s.start, s.end, s.style) for s in content.spans] == [(0, 2, "$text-error")]


def test_resolved_for_rich_only_widgets_uses_the_current_theme() -> None:
    resolved = themed(Text("x", style="bold yellow"), {"text-warning": "#123456"})
    assert isinstance(resolved, Text) and str(resolved.spans[0].style) == "bold #123456"


def test_non_text_passes_through() -> None:
    assert themed("plain") == "plain"


async def test_theme_switch_recolours_the_budget_savings_already_shown(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "b")
        savings = app.screen.query_one("#savings")

        def saved_colour() -> Color:
            for y in range(savings.size.height):
                for segment in savings.render_line(y):
                    if "saved" in segment.text and segment.style and segment.style.color:
                        return Color.from_rich_color(segment.style.color)
            raise AssertionError("no 'saved' segment")

        dark = saved_colour()
        app.theme = "textual-light"
        await settle(pilot)
        savings.refresh()
        light = saved_colour()
        assert light != dark
        assert light == Color.parse(app.theme_variables["text-success"])
