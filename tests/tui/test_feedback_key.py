"""The result view's wrong-answer key: ``!`` asks why, then reports the template answer (its savings
are reversed and its bindings never match again); other answers are refused with a notification."""

from __future__ import annotations

from typing import Any

from engine.store.models import LedgerEntry
from tests.engine.test_learning import responder
from tests.tui.helpers import press, settle, type_text
from tests.tui.test_generate import SIZE, TASK, generate
from tui.app import TemplarApp
from tui.screens.generate import GenerateScreen
from tui.screens.modals import PromptModal

COLOR = "enum Color with members red, green and blue"


def listen(app: TemplarApp) -> list[str]:
    seen: list[str] = []
    original = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        seen.append(message)
        original(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def test_bang_reports_a_template_answer_after_asking_why(engine: Any, fake: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        seen = listen(app)
        await settle(pilot)
        screen = await generate(pilot, COLOR)
        served = screen.result
        assert served.source == "builtin" and served.saved_micros > 0
        await press(pilot, "escape")
        shown = {b.binding.key: b.binding for b in app.active_bindings.values()}
        assert shown["exclamation_mark"].key_display == "!" and shown["exclamation_mark"].show

        await press(pilot, "exclamation_mark")
        assert isinstance(app.screen, PromptModal) and "wrong" in app.screen.title_text.lower()
        await press(pilot, "escape")  # cancel: nothing is reported
        assert app.screen is screen
        assert engine.store.call(lambda: LedgerEntry.select().where(LedgerEntry.source == "reversal").count()) == 0

        await press(pilot, "exclamation_mark")
        await type_text(pilot, "members should be upper case")
        await press(pilot, "enter")
        assert app.screen is screen
        assert any(m.startswith("Reported:") and "savings reversed" in m for m in seen), seen
        reversal = engine.store.call(
            lambda: LedgerEntry.get((LedgerEntry.request_id == served.request_id) & (LedgerEntry.source == "reversal"))
        )
        assert reversal.saved_micros == -served.saved_micros and reversal.cost_micros == 0

        await press(pilot, "exclamation_mark")
        await type_text(pilot, "again")
        await press(pilot, "enter")
        assert isinstance(app.screen, PromptModal), "a duplicate report keeps the dialog open with the error"
        assert "already reported" in str(app.screen.query_one("#prompt-error").content)
        await press(pilot, "escape", "slash")  # back to the task box

        fake.responder = responder()
        await generate(pilot, COLOR)
        assert screen.result.source == "llm", "the reported bindings were served again"
        assert app.errors == []


async def test_bang_on_a_paid_answer_says_only_template_answers_take_feedback(engine: Any, fake: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        seen = listen(app)
        await settle(pilot)
        await press(pilot, "escape", "exclamation_mark")
        assert seen and "Generate something first" in seen[-1]
        fake.responder = responder()
        await press(pilot, "slash")
        screen = await generate(pilot, TASK)
        assert screen.result.source == "llm"
        await press(pilot, "escape", "exclamation_mark")
        assert isinstance(app.screen, GenerateScreen)
        assert "only template answers" in seen[-1]
