"""A bad config file at start-up: a persistent, specific banner (file, line, key, message) on
every screen, the Config screen still lists the files and the error, and ctrl+r recovers once
the file is fixed, without a restart. The files are real; the engine is the real one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.paths import Paths
from engine.service import Engine
from tests.tui.helpers import press, settle, text_of
from tui.app import TemplarApp

# Each: the user settings text, and what the banner must name.
BAD_FILES = [
    pytest.param("[chain]\nattempts = 3\natempts = 4\n", ["settings.toml", "chain.atempts"], id="unknown-key"),
    pytest.param("[chain]\nattempts = 'many'\n", ["settings.toml", "chain.attempts"], id="wrong-type"),
    pytest.param("[chain\nattempts = 3\n", ["settings.toml"], id="broken-toml"),
]


def factory(paths: Paths) -> Any:
    return lambda: Engine.from_settings(paths)


@pytest.mark.parametrize(("text", "named"), BAD_FILES)
async def test_bad_config_banner_persists_names_the_place_and_ctrl_r_recovers(
    text: str, named: list[str], paths: Paths
) -> None:
    paths.user_settings.write_text(text, encoding="utf-8")
    app = TemplarApp(factory(paths))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.engine_state == "failed"
        for key in ("escape", "b", "c", "g"):
            await press(pilot, key)
            banner = app.screen.query_one("#engine-banner")
            assert banner.display and banner.region.height > 0, f"no banner on {app.current_mode}"
            shown = text_of(app, "#engine-banner")
            assert all(part in shown for part in named), shown
            assert "ctrl+r" in shown
        await press(pilot, "c")
        detail = text_of(app, "#cfg-detail")
        assert str(paths.user_settings) in detail and "Files the cascade reads" in detail
        assert named[0] in text_of(app, "#cfg-count")

        await press(pilot, "ctrl+r")  # not fixed yet: still failed, still a banner
        assert app.engine_state == "failed" and app.screen.query_one("#engine-banner").display

        paths.user_settings.write_text("[chain]\nattempts = 3\n", encoding="utf-8")
        await press(pilot, "ctrl+r")
        assert app.engine_state == "ready" and app.engine is not None
        assert not app.screen.query_one("#engine-banner").display
        await settle(pilot)
        assert "keys for default/default" in text_of(app, "#cfg-count")
    app.shutdown_engine()


async def test_generate_without_an_engine_says_why_not_that_it_is_opening(paths: Paths) -> None:
    paths.user_settings.write_text("[chain]\natempts = 4\n", encoding="utf-8")
    app = TemplarApp(factory(paths))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "slash")
        await pilot.press(*"enum Color with members red and blue")
        await press(pilot, "enter")
        messages = [n.message for n in app._notifications]
        assert not any("still opening" in m for m in messages)
        assert any("unavailable" in m and "chain.atempts" in m for m in messages)


async def wait_for_state(pilot: Any, app: TemplarApp, name: str, done: Any) -> None:
    """Wait (on the reactive's changes, never a sleep) until ``done(app)``; the poll timer runs
    meanwhile. Fails after 20 s."""
    reached = asyncio.Event()
    app.watch(app, name, lambda _: done(app) and reached.set())
    await asyncio.wait_for(reached.wait(), 20)
    await settle(pilot)


@pytest.mark.parametrize(("text", "named"), BAD_FILES)
async def test_saving_the_fixed_file_recovers_without_ctrl_r(text: str, named: list[str], paths: Paths) -> None:
    paths.user_settings.write_text(text, encoding="utf-8")
    app = TemplarApp(factory(paths))
    app.CONFIG_POLL_S = 0.05
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.engine_state == "failed"
        await press(pilot, "escape", "c")
        paths.user_settings.write_text("[chain]\nattempts = 2\n", encoding="utf-8")  # saved, no key pressed
        await wait_for_state(pilot, app, "engine_state", lambda a: a.engine_state == "ready")
        assert app.engine is not None and not app.screen.query_one("#engine-banner").display
        assert "keys for default/default" in text_of(app, "#cfg-count")
    app.shutdown_engine()


async def test_a_file_broken_while_running_shows_the_banner_until_saved_fixed(paths: Paths) -> None:
    paths.user_settings.write_text("[chain]\nattempts = 3\n", encoding="utf-8")
    app = TemplarApp(factory(paths))
    app.CONFIG_POLL_S = 0.05
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.engine_state == "ready" and not app.screen.query_one("#engine-banner").display
        await press(pilot, "escape", "c")
        paths.user_settings.write_text("[chain]\nattempts = 3\natempts = 4\n", encoding="utf-8")
        await wait_for_state(pilot, app, "config_problem", lambda a: bool(a.config_problem))
        shown = text_of(app, "#engine-banner")
        assert app.screen.query_one("#engine-banner").display
        assert "settings.toml" in shown and "line 3" in shown and "chain.atempts" in shown, shown
        assert "chain.atempts" in text_of(app, "#cfg-count")  # the Config screen re-read the cascade
        detail = text_of(app, "#cfg-detail")
        assert "A config file is broken" in detail and str(paths.user_settings) in detail and "atempts" in detail
        paths.user_settings.write_text("[chain]\nattempts = 2\n", encoding="utf-8")
        await wait_for_state(pilot, app, "config_problem", lambda a: not a.config_problem)
        assert not app.screen.query_one("#engine-banner").display
        assert "keys for default/default" in text_of(app, "#cfg-count")
    app.shutdown_engine()
