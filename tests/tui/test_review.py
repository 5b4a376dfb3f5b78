"""The review screen, with keys only: rename and retype a parameter, watch the live preview and
round trip, edit the pattern, accept (a template is saved) or reject, next and previous."""

from __future__ import annotations

from typing import Any

from engine.store.models import Template
from tests.engine.test_learning import TASK
from tests.tui.helpers import press, settle, text_of, type_text
from tui.app import TemplarApp
from tui.screens.modals import ChoiceModal, ConfirmModal, PatternModal, PromptModal
from tui.screens.review import ReviewScreen

SIZE = (120, 40)


async def open_review(pilot: Any) -> ReviewScreen:
    await settle(pilot)
    await press(pilot, "escape", "r")
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def test_review_rename_retype_and_accept_with_keys_only(learning_engine: Any) -> None:
    sid = (await learning_engine.generate(TASK)).to_dict()["suggestion_id"]
    await learning_engine.settle_learning()  # learning runs after the answer
    app = TemplarApp(learning_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(pilot)
        assert app.pending == 1 and screen.current.id == sid
        assert "Suggestion 1 of 1" in text_of(app, "#rev-head")
        checks = text_of(app, "#rev-check")
        assert "round trip: rendering with the original values reproduces the code byte for byte" in checks
        assert "ready to accept" in checks
        assert "{{ name }}" in text_of(app, "#rev-body")

        await press(pilot, "r")  # rename the highlighted parameter (the first: name)
        assert isinstance(app.screen, PromptModal)
        await press(pilot, "ctrl+u")
        await type_text(pilot, "const_name")
        await press(pilot, "enter")
        assert app.screen is screen
        assert [p.name for p in screen.current.params] == ["const_name", "value"]
        assert "{const_name:identifier}" in text_of(app, "#rev-pattern")
        assert "{{ const_name }}" in text_of(app, "#rev-body")

        await press(pilot, "down", "t")  # retype the second parameter: integer -> string breaks the template
        assert isinstance(app.screen, ChoiceModal)
        await press(pilot, "up", "enter")
        assert screen.current.params[1].type == "string"
        assert "ready to accept" not in text_of(app, "#rev-check")
        await press(pilot, "t", "down", "enter")  # and back to integer
        assert screen.current.params[1].type == "integer"
        assert "ready to accept" in text_of(app, "#rev-check")

        await press(pilot, "a")
        assert app.pending == 0
        assert "No suggestions waiting" in text_of(app, "#rev-head")
        assert app.errors == []
    templates = learning_engine.store.call(lambda: [(t.pattern, t.status) for t in Template.select()])
    assert templates == [("a constant {const_name:identifier} set to {value:integer}", "active")]
    served = await learning_engine.generate("a constant LIMIT set to 7")
    assert served.source == "learned"


async def test_pattern_edit_previews_live_and_reject_next_previous(learning_engine: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(PatternModal, "DEBOUNCE_S", 0)  # check on every key instead of after a pause
    first = (await learning_engine.generate(TASK)).to_dict()["suggestion_id"]
    second = (await learning_engine.generate("a constant BATCH_SIZE set to 64")).to_dict()["suggestion_id"]
    await learning_engine.settle_learning()
    app = TemplarApp(learning_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(pilot)
        assert "r Review 2" in text_of(app, "#tab-review")
        assert screen.current.id == first
        await press(pilot, "n")
        assert screen.current.id == second and "Suggestion 2 of 2" in text_of(app, "#rev-head")
        assert "ready to accept" not in text_of(app, "#rev-check"), "its values are not in its task"
        await press(pilot, "p")
        assert screen.current.id == first

        await press(pilot, "e")
        modal = app.screen
        assert isinstance(modal, PatternModal)
        assert "✓ matches the task" in text_of(app, "#pattern-preview")
        await press(pilot, "backspace")  # "... {value:integer" no longer parses
        assert "✗" in text_of(app, "#pattern-preview")
        await type_text(pilot, "}")
        assert "✓ matches the task" in text_of(app, "#pattern-preview")
        await press(pilot, "escape")
        assert app.screen is screen

        await press(pilot, "x")
        assert isinstance(app.screen, ConfirmModal)
        await press(pilot, "y")
        assert [s.id for s in screen.suggestions] == [second] and app.pending == 1
        assert "r Review 1" in text_of(app, "#tab-review")
    status = learning_engine.store.call(learning_engine.library.suggestion, first).status
    assert status == "rejected"


async def test_accept_refused_keeps_the_suggestion_and_says_why(learning_engine: Any) -> None:
    await learning_engine.generate("a constant BATCH_SIZE set to 64")  # suggestion values do not match
    app = TemplarApp(learning_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(pilot)
        await press(pilot, "a")
        assert app.errors and "cannot become a template" in app.errors[-1]
        assert len(screen.suggestions) == 1 and "why it is still pending" in text_of(app, "#rev-head")
