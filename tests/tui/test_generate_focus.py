"""Generate: after enter the focus leaves the task box (single keys act, they do not type), one
esc cancels a running generation, the log collapses with a key, and at 80x24 the code takes the
width. Against the fake provider over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input

from tests.fakes import Reply
from tests.tui.helpers import press, settle
from tui.app import TemplarApp
from tui.screens.generate import GenerateScreen
from tui.widgets.code import CodeView
from tui.widgets.pipeline import PipelineLog

TASK = "a constant MAX_RETRIES set to 5"


def shown(widget: Any) -> bool:
    """On screen: displayed, with every ancestor displayed (a hidden parent leaves no region)."""
    return bool(widget.display) and widget.region.area > 0


CODE = '```python\n"""Settings."""\n\nMAX_RETRIES: int = 5\n```\n'


async def submit(pilot: Any, task: str, *, wait: bool = True) -> GenerateScreen:
    screen = pilot.app.screen
    assert isinstance(screen, GenerateScreen)
    await press(pilot, "slash")
    screen.query_one("#task", Input).value = task
    if wait:
        await press(pilot, "enter")
    else:
        await pilot.press("enter")
    return screen


@pytest.mark.parametrize("key", ["L", "y", "w", "x", "q"])
async def test_after_enter_single_keys_act_instead_of_typing(
    key: str, engine: Any, fake: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    fake.enqueue("gemini", Reply(text=CODE))
    fake.enqueue("gemini", Reply(text=CODE))
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await submit(pilot, TASK)
        assert screen.result is not None
        assert not isinstance(app.focused, Input), "the focus left the task box"
        await press(pilot, key)
        assert screen.query_one("#task", Input).value == TASK, f"{key!r} was typed into the task"
    if key == "q":
        assert app.return_code is not None or not app.is_running


async def test_one_escape_cancels_a_running_generation(engine: Any, fake: Any) -> None:
    fake.enqueue("gemini", Reply(text=CODE, delay=30))
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await submit(pilot, TASK, wait=False)
        for _ in range(400):
            await pilot.pause()
            if any(line.startswith("→ gemini") for line in screen.query_one(PipelineLog).lines_text):
                break
        assert screen.running
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.running and screen.result is None
        assert any("cancel" in line for line in screen.query_one(PipelineLog).lines_text)


async def test_escape_in_the_task_box_when_idle_only_leaves_it(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, Input)
        await press(pilot, "escape")
        assert not isinstance(app.focused, Input) and app.is_running


async def test_narrow_code_takes_the_width_and_the_log_toggles(engine: Any, fake: Any) -> None:
    fake.enqueue("gemini", Reply(text=CODE))
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await submit(pilot, TASK)
        code, log = screen.query_one(CodeView), screen.query_one(PipelineLog)
        assert code.region.width >= 70 and code.region.height >= 6, code.region
        assert not shown(log), "narrow: the log starts collapsed"
        await press(pilot, "p")
        assert shown(log) and log.region.height >= 3 and log.region.bottom <= code.region.y, "stacked above"
        assert code.region.height >= 3
        await press(pilot, "p")
        assert not shown(log)
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert shown(log) and log.region.height > 10 and log.region.right <= code.region.x, "wide: side by side"
        await press(pilot, "p")
        assert not shown(log) and code.region.width >= 140, "wide: the code takes the width"


async def test_footer_after_an_answer_shows_its_actions(engine: Any, fake: Any) -> None:
    fake.enqueue("gemini", Reply(text=CODE))
    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await submit(pilot, TASK)
        keys = {k.key for k in app.screen.query("FooterKey")}
        assert {"y", "w", "L", "p"} <= keys, keys


async def test_collapsed_log_still_tells_of_a_pending_suggestion(learning_engine: Any) -> None:
    app = TemplarApp(learning_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await submit(pilot, TASK)
        assert screen.result_data.get("suggestion_id")
        await learning_engine.settle_learning()  # learning runs after the answer; its event follows
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("press L to review it" in m for m in messages), messages
        await press(pilot, "L")
        assert app.current_mode == "review"
