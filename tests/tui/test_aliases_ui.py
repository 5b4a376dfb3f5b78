"""Aliases in the app (issue 13 item 3): the review screen says "same as template N" for a
wording whose paid answer an existing template renders, accepting it adds an alias (no second
template), and the library's detail pane lists the template's aliases with their hit counts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.test_aliases import CODE_FOR, TEACH, answer
from tests.tui.helpers import press, settle, text_of
from tui.app import TemplarApp
from tui.screens.library import LibraryScreen
from tui.screens.review import ReviewScreen

SIZE = (120, 40)
WORDING = "function that tells if a number is prime"


@pytest.fixture
def alias_engine(make_engine: Any, fake: Any) -> Any:
    fake.responder = answer
    return make_engine(order='["openai"]', learning=True)


async def taught(engine: Any) -> int:
    result = await engine.generate(TEACH)
    await engine.settle_learning()
    return int(engine.store.call(engine.library.accept, result.to_dict()["suggestion_id"]).id)


async def test_review_shows_same_as_template_and_accepting_adds_an_alias(alias_engine: Any) -> None:
    template = await taught(alias_engine)
    other = await alias_engine.generate("function that tells if a number is even")  # other code: no alias
    paid = await alias_engine.generate(WORDING)
    await alias_engine.settle_learning()
    sid = paid.to_dict()["suggestion_id"]
    app = TemplarApp(alias_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "r")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        ids = [s.id for s in screen.suggestions]
        assert ids == sorted([other.to_dict()["suggestion_id"], sid]), ids
        while screen.current.id != sid:
            await press(pilot, "n")
        assert f"same as template {template}: accepting adds this wording as an alias" in text_of(app, "#rev-head")
        await press(pilot, "a")
        assert app.errors == []
        assert [s.id for s in screen.suggestions] == [other.to_dict()["suggestion_id"]]
        # the remaining suggestion is a new task, not an alias: the line is gone
        assert "same as template" not in text_of(app, "#rev-head")
    assert len(alias_engine.store.call(alias_engine.library.templates)) == 1, "no second template"
    served = await alias_engine.generate(WORDING, use_cache=False)
    assert served.source == "learned" and served.code == CODE_FOR[WORDING]


async def test_library_detail_lists_aliases_with_hit_counts(alias_engine: Any) -> None:
    template = await taught(alias_engine)
    paid = await alias_engine.generate(WORDING)
    await alias_engine.settle_learning()
    alias_engine.store.call(alias_engine.library.accept, paid.to_dict()["suggestion_id"])
    for _ in range(2):
        assert (await alias_engine.generate(WORDING, use_cache=False)).source == "learned"
    [alias] = alias_engine.store.call(alias_engine.library.template, template).aliases
    app = TemplarApp(alias_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "l")
        screen = app.screen
        assert isinstance(screen, LibraryScreen)
        await press(pilot, "f", "f", "f")  # learned only: the one template is highlighted
        assert [r.id for r in screen.shown] == [template]
        await settle(pilot)
        detail = text_of(app, "#tpl-detail")
        assert "aliases (other wordings it answers)" in detail
        section = detail.split("aliases (other wordings it answers)", 1)[1]
        line = next(ln for ln in section.splitlines() if alias["pattern"][:30] in ln)
        assert line.split()[0] == str(alias["id"]) and " 2 " in f"{line} " and "active" in line, line
        assert app.errors == []


async def test_library_detail_without_aliases_has_no_alias_section(alias_engine: Any) -> None:
    template = await taught(alias_engine)
    app = TemplarApp(alias_engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "l", "f", "f", "f")
        await settle(pilot)
        assert [r.id for r in app.screen.shown] == [template]
        assert "{name" in text_of(app, "#tpl-detail") or "pattern" in text_of(app, "#tpl-detail")
        assert "aliases" not in text_of(app, "#tpl-detail")
