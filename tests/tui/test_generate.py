"""The generation screen against an engine on the fake provider: answers from a provider (streamed,
with retries shown), from a learned template and from the cache; errors become notifications."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input

from engine.api.doctor import ADD_PROVIDER_HINT
from tests.fakes import Fault, Reply
from tests.tui.helpers import press, settle, spend, text_of
from tui.app import TemplarApp
from tui.messages import GenerationDone, StreamText
from tui.screens.generate import GenerateScreen
from tui.screens.modals import ConfirmModal
from tui.widgets.code import CodeView
from tui.widgets.pipeline import PipelineLog

TASK = "a constant MAX_RETRIES set to 5"
SIZE = (120, 40)


async def generate(pilot: Any, task: str) -> GenerateScreen:
    """Focus the task box (/ unless it has the focus: after an answer the focus is on the code),
    put ``task`` in it (as a paste would) and press enter."""
    screen = pilot.app.screen
    assert isinstance(screen, GenerateScreen)
    if not isinstance(pilot.app.focused, Input):
        await press(pilot, "slash")
    screen.query_one("#task", Input).value = task
    await press(pilot, "enter")
    return screen


def log_lines(app: TemplarApp) -> list[str]:
    return app.screen.query_one(PipelineLog).lines_text


async def test_generate_from_llm_streams_tokens_and_shows_badges_and_report(engine: Any, fake: Any) -> None:
    fake.enqueue(
        "gemini",
        Reply(
            text='```python\n"""Settings."""\n\nMAX_RETRIES: int = 5\n```\n',
            chunks=("```python\n", '"""Settings."""\n\n', "MAX_RETRIES: int = 5\n```\n"),
        ),
    )
    seen: list[Any] = []
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(pilot)
        screen = await generate(pilot, TASK)
        assert screen.result is not None and screen.result.source == "llm"
        assert screen.query_one(CodeView).code == '"""Settings."""\n\nMAX_RETRIES: int = 5\n'
        badges = text_of(app, "#badges")
        assert "llm" in badges and "gemini" in badges and "cost $0.0000" in badges
        assert "passed" in text_of(app, "#report")
        lines = log_lines(app)
        assert any(line.startswith("→ gemini") for line in lines)
        assert any("learned templates: no match" in line for line in lines)
        assert any("response cache: no match" in line for line in lines)
        streamed = [m.text for m in seen if isinstance(m, StreamText)]
        assert streamed and streamed[-1].startswith("```python"), "tokens reach the screen as they stream"
        assert any(isinstance(m, GenerationDone) for m in seen)
        assert app.errors == []


async def test_retries_show_the_failure_and_the_backoff_then_the_answer(engine: Any, fake: Any, sleeps: Any) -> None:
    fake.enqueue("gemini", Fault.rate_limit(retry_after=1.5))
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await generate(pilot, TASK)
        lines = log_lines(app)
        assert any("gemini attempt 1: rate_limit" in line for line in lines)
        assert any("waiting 1.5 s before attempt 2" in line for line in lines)
        assert sleeps.delays == [1.5]
        assert screen.result.source == "llm" and screen.result.attempts == 2


async def test_generate_from_a_learned_template_costs_nothing_and_explains(learning_engine: Any, fake: Any) -> None:
    result = await learning_engine.generate(TASK)
    await learning_engine.settle_learning()  # learning runs after the answer
    learning_engine.store.call(learning_engine.library.accept, result.to_dict()["suggestion_id"])
    calls = fake.count()
    app = TemplarApp(learning_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await generate(pilot, "a constant TIMEOUT_SECONDS set to 30")
        assert screen.result.source == "learned" and screen.result.cost_micros == 0
        assert "TIMEOUT_SECONDS: int = 30" in screen.query_one(CodeView).code
        assert "learned" in text_of(app, "#badges") and "saved $0.0" in text_of(app, "#badges")
        explain = text_of(app, "#explain")
        assert "pattern a constant {name:identifier} set to {value:integer}" in explain
        assert "name='TIMEOUT_SECONDS'" in explain and "value=30" in explain
        assert any("learned templates: hit" in line for line in log_lines(app))
    assert fake.count() == calls, "the template path made no provider call"


async def test_the_same_task_twice_is_answered_from_the_cache(engine: Any, fake: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await generate(pilot, TASK)
        first = screen.result
        assert first.source == "llm"
        calls = fake.count()
        await generate(pilot, TASK)
        assert screen.result.source == "cache" and screen.result.code == first.code
        assert (
            screen.result.saved_micros > 0 and screen.result.cost_micros == 0
        )  # basis: tests/engine/test_savings_basis.py
        assert "cache" in text_of(app, "#badges")
        assert fake.count() == calls
        await press(pilot, "x")  # regenerate: skip templates and the cache
        assert screen.result.source == "llm" and fake.count() > calls


async def test_without_keys_the_app_says_how_to_add_one_and_an_error_is_a_notification(keyless_engine: Any) -> None:
    app = TemplarApp(keyless_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        note = text_of(app, "#providers")
        assert "No provider has an API key" in note and ADD_PROVIDER_HINT in note
        screen = await generate(pilot, TASK)
        assert screen.result is None
        assert app.errors and "no provider could answer" in app.errors[-1]
        assert "GEMINI_API_KEY" in app.errors[-1]
        assert app.screen is screen and app.is_running
        # templates still answer without any key
        await generate(pilot, "enum Color with members red, green and blue")
        assert screen.result.source == "builtin"


async def test_budget_critical_asks_in_a_modal_and_a_yes_makes_the_call(engine: Any, fake: Any, paths: Any) -> None:
    paths.project_file("default").parent.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text("[budget.project]\nlimit_usd = 1.0\n", encoding="utf-8")
    spend(engine, 960_000)  # 96 %: L5 critical
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = fake.count()
        screen = await generate(pilot, TASK)
        assert isinstance(app.screen, ConfirmModal)
        assert "critical level" in app.screen.message
        await press(pilot, "n")
        assert app.screen is screen and screen.result is None and fake.count() == calls
        assert "not confirmed" in log_lines(app)[-1]
        await generate(pilot, TASK)
        assert isinstance(app.screen, ConfirmModal)
        await press(pilot, "y")
        assert app.screen is screen and screen.result.source == "llm" and fake.count() > calls
        assert app.errors == []


async def test_exhausted_budget_is_a_notification_not_a_crash(engine: Any, paths: Any) -> None:
    paths.project_file("default").parent.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text("[budget.project]\nlimit_usd = 1.0\n", encoding="utf-8")
    spend(engine, 1_000_000)
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await generate(pilot, TASK)
        assert app.errors and "budget exhausted (L6)" in app.errors[-1]
        assert app.is_running


async def test_save_copy_and_learn_this(learning_engine: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    app = TemplarApp(learning_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await generate(pilot, TASK)
        await learning_engine.settle_learning()  # learning runs after the answer
        await settle(pilot)
        await press(pilot, "escape", "w")
        await press(pilot, "enter")  # the proposed name: generated.py
        assert (tmp_path / "generated.py").read_text() == screen.result.code
        await press(pilot, "w", "enter")  # the file exists now: the dialog says so and stays
        assert "already exists" in text_of(app, "#prompt-error")
        await press(pilot, "escape", "y")
        assert app.clipboard == screen.result.code
        await press(pilot, "L")
        assert app.current_mode == "review"
        assert app.screen.current.id == screen.result_data["suggestion_id"]
