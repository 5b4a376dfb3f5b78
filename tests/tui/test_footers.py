"""Footers at 80 columns: every screen's footer fits (nothing cut off), shows the screen's main
keys and help and quit, and leaves the palette to ctrl+p; at 160 columns the palette shows."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Footer

from tests.tui.helpers import press, settle
from tui.app import TemplarApp

MAIN_KEYS = {
    "g": ["/", "x", "y", "w", "L", "!", "p", "esc"],
    "l": ["/", "f", "o", "x", "e", "i"],
    "b": ["m", "A", "u"],
    "c": ["/", "e", "a", "d", "x", "i"],
    "r": ["a", "x", "n", "p", "r", "t", "d", "e"],
}


def shown_keys(footer: Footer) -> list[str]:
    return [str(key.key_display) for key in footer.query("FooterKey")]


@pytest.mark.parametrize("mode", list(MAIN_KEYS))
async def test_the_footer_fits_80_columns_with_the_screens_keys(keyless_engine: Any, mode: str) -> None:
    app = TemplarApp(keyless_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", mode)
        footer = app.screen.query_one(Footer)
        assert footer.virtual_size.width <= footer.size.width == 80, "the footer is cut off"
        keys = shown_keys(footer)
        for key in [*MAIN_KEYS[mode], "?", "q"]:
            assert key in keys, (mode, key, keys)
        assert not footer.show_command_palette


async def test_the_palette_shows_in_the_footer_when_wide(keyless_engine: Any) -> None:
    app = TemplarApp(keyless_engine)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.screen.query_one(Footer).show_command_palette
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert not app.screen.query_one(Footer).show_command_palette
