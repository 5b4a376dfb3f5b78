"""One snapshot per screen at 80x24 (the default terminal: the "-narrow" layouts) and 160x48
(pytest-textual-snapshot), plus the light theme. Everything shown is made
deterministic: a fixed clock for budgets, ledger and history; a fixed latency on results; no
machine paths (sources are shown relative to the config directory). Review SVG changes before
``--snapshot-update``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from textual.widgets import Input

from engine.learning.body import Param
from engine.service import Engine
from tests.engine.test_learning import TASK
from tests.tui.conftest import FIXED_NOW
from tests.tui.helpers import press, settle, spend
from tui.app import TemplarApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def fixed_latency(engine: Engine) -> Engine:
    """Results report 7 ms, whatever the machine took (latency is the one number that varies)."""
    original = engine.generate_events

    async def generate_events(task: str, **kwargs: Any) -> Any:
        async for item in original(task, **kwargs):
            if hasattr(item, "request_id"):
                item.latency_ms = 7
            yield item

    engine.generate_events = generate_events  # type: ignore[method-assign]
    return engine


def snap(snap_compare: Any, engine: Engine, size: tuple[int, int], *steps: Any, theme: str | None = None) -> bool:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        if theme is not None:
            pilot.app.theme = theme
        await press(pilot, "escape")
        for step in steps:
            if callable(step):
                await step(pilot)
            else:
                await press(pilot, step)
        await settle(pilot)

    return snap_compare(TemplarApp(engine), terminal_size=size, run_before=run_before)


async def _generate_enum(pilot: Any) -> None:
    await press(pilot, "slash")
    pilot.app.screen.query_one("#task", Input).value = "enum Color with members red, green and blue"
    await press(pilot, "enter", "escape")


@pytest.mark.parametrize("size", SIZES)
def test_generate_screen(size: tuple[int, int], snap_compare: Any, fixed_engine: Any) -> None:
    assert snap(snap_compare, fixed_latency(fixed_engine()), size, _generate_enum)


@pytest.mark.parametrize("size", SIZES)
def test_library_screen(size: tuple[int, int], snap_compare: Any, fixed_engine: Any) -> None:
    engine = fixed_engine()
    engine.store.call(
        lambda: engine.library.add_template(
            {
                "name": "greeting",
                "pattern": "a greeting constant saying {text:string}",
                "body": '"""Greeting."""\n\nGREETING: str = {{ text | repr }}\n',
                "params": [Param("text", "string", "hi")],
            },
            now=FIXED_NOW,
        )
    )

    async def search(pilot: Any) -> None:
        await press(pilot, "slash")
        pilot.app.screen.query_one("#lib-search", Input).value = "greet"
        await press(pilot, "enter")

    assert snap(snap_compare, engine, size, "l", search)


@pytest.mark.parametrize("size", SIZES)
def test_budget_screen(size: tuple[int, int], snap_compare: Any, fixed_engine: Any, paths: Any) -> None:
    engine = fixed_engine()
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text("[budget.project]\nlimit_usd = 1.0\n")
    spend(engine, 820_000)  # L3 warning on the project
    assert snap(snap_compare, engine, size, "b")


@pytest.mark.parametrize("size", SIZES)
def test_config_screen(size: tuple[int, int], snap_compare: Any, fixed_engine: Any, paths: Any) -> None:
    engine = fixed_engine()
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text("[chain]\nattempts = 5\n")

    async def filter_chain(pilot: Any) -> None:
        await press(pilot, "slash")
        pilot.app.screen.query_one("#cfg-search", Input).value = "chain."
        await press(pilot, "enter", "down")

    assert snap(snap_compare, engine, size, "c", filter_chain)


@pytest.mark.parametrize("size", SIZES)
def test_review_screen(size: tuple[int, int], snap_compare: Any, fixed_engine: Any, fake: Any) -> None:
    from tests.engine.test_learning import responder

    fake.responder = responder()
    engine = fixed_engine(learning=True, extra="deterministic = false\n")  # the model's suggestion

    async def learn() -> None:  # a paid answer that leaves a pending suggestion (learned after it)
        await engine.generate(TASK)
        await engine.settle_learning()

    asyncio.run(learn())
    assert snap(snap_compare, engine, size, "r")


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(size: tuple[int, int], snap_compare: Any, fixed_engine: Any) -> None:
    assert snap(snap_compare, fixed_engine(), size, "question_mark")


@pytest.mark.parametrize("size", SIZES)
def test_budget_confirmation_modal(size: tuple[int, int], snap_compare: Any, fixed_engine: Any, paths: Any) -> None:
    engine = fixed_engine()
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text("[budget.project]\nlimit_usd = 1.0\n")
    spend(engine, 960_000)

    async def ask(pilot: Any) -> None:
        await press(pilot, "slash")
        pilot.app.screen.query_one("#task", Input).value = TASK
        await press(pilot, "enter")

    assert snap(snap_compare, engine, size, ask)


@pytest.mark.parametrize("size", SIZES)
def test_generate_screen_light_theme(size: tuple[int, int], snap_compare: Any, fixed_engine: Any) -> None:
    """The light theme (chosen from the command palette) is legible: everything follows the theme."""
    assert snap(snap_compare, fixed_latency(fixed_engine()), size, _generate_enum, theme="textual-light")
