"""The typed API the CLI and the app share for templates, suggestions and feedback
(``engine/api``), against a real SQLite store in a temp dir and the fake provider.

Every method returns frozen dataclasses (never rows), refuses impossible ids as NotFound (never a
driver overflow), and writes nothing when it refuses."""

from __future__ import annotations

import dataclasses
import inspect
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from engine.api import (
    ExportResult,
    FeedbackAPI,
    GenerateAPI,
    HeldForReview,
    ImportResult,
    Preview,
    SimilarTemplate,
    SuggestionsAPI,
    SuggestionView,
    TemplatesAPI,
    TemplateView,
    WrongAnswer,
    check_scope_name,
    describe_slot_constraints,
    slot_types,
)
from engine.errors import BadInput, ConfigError, NotFound
from engine.learning.body import Param
from engine.service import Engine
from engine.templates import TemplateSpec
from tests.engine.test_feedback import RISKY_CODES
from tests.engine.test_learning import CODE, MODEL_PATH, TASK, responder

GREETING = {
    "name": "greeting",
    "pattern": "a greeting constant saying {text:string}",
    "body": '"""Greeting."""\n\nGREETING: str = {{ text | repr }}\n',
    "params": [Param("text", "string", "hi")],
}
ENUM_TASK = "enum Color with members red, green and blue"
IMPOSSIBLE_IDS = (0, -1, 2**63, 2**70, True)


def frozen(value: Any) -> None:
    assert dataclasses.is_dataclass(value) and not isinstance(value, type)
    field = dataclasses.fields(value)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, getattr(value, field))


def greeting(engine: Engine) -> TemplateView:
    return engine.store.call(engine.library.add_template, GREETING)  # seeding only: the API is under test


@pytest.fixture
def learning(make_engine: Any, fake: Any) -> Engine:
    fake.responder = responder()
    return make_engine(order='["openai"]', learning=True, extra=MODEL_PATH)


async def suggest(engine: Engine, task: str = TASK) -> int:
    result = await engine.generate(task)
    assert result.source == "llm"
    await engine.settle_learning()  # learning runs after the answer (engine.learning.learner)
    return int(result.to_dict()["suggestion_id"])


# -- the door itself ------------------------------------------------------------------------------


def test_engine_is_every_mixin_and_every_method_is_async_typed_and_documented() -> None:
    for mixin in (TemplatesAPI, SuggestionsAPI, FeedbackAPI, GenerateAPI):
        assert issubclass(Engine, mixin)
        for name, member in vars(mixin).items():
            if name.startswith("_") or not inspect.isfunction(member):
                continue
            assert inspect.iscoroutinefunction(member), f"{mixin.__name__}.{name} is not async"
            assert (member.__doc__ or "").strip(), f"{mixin.__name__}.{name} has no docstring"
            assert "return" in member.__annotations__, f"{mixin.__name__}.{name} has no return type"


# -- templates ------------------------------------------------------------------------------------


async def test_get_template_is_a_frozen_view_with_its_history(engine: Engine) -> None:
    view = greeting(engine)
    got = await engine.get_template(view.id)
    frozen(got)
    assert isinstance(got, TemplateView) and got.pattern == GREETING["pattern"] and got.status == "active"
    assert [v["reason"] for v in got.versions] == ["imported"]


@pytest.mark.parametrize("bad", [*IMPOSSIBLE_IDS, 999])
async def test_unknown_or_impossible_template_ids_are_not_found(engine: Engine, bad: int) -> None:
    with pytest.raises(NotFound, match="no template"):
        await engine.get_template(bad)
    with pytest.raises(NotFound, match="no template"):
        await engine.retire_template(bad, "why")


async def test_retire_keeps_the_reason_and_listing_hides_retired_unless_asked(engine: Engine) -> None:
    view = greeting(engine)
    retired = await engine.retire_template(view.id, "   ")
    assert retired.status == "retired" and retired.retired_reason == "retired by hand", "a blank reason"
    assert retired.versions[-1]["reason"] == "retired: retired by hand"
    assert await engine.templates() == []
    assert [t.id for t in await engine.templates(include_retired=True)] == [view.id]
    other = greeting(engine)
    assert (await engine.retire_template(other.id, "wrong for lists")).retired_reason == "wrong for lists"


async def test_export_then_import_round_trips_and_a_bad_file_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    view = greeting(engine)
    out = await engine.export_templates(tmp_path / "lib.json")
    frozen(out)
    assert out == ExportResult(str(tmp_path / "lib.json"), 1) and out.to_dict()["templates"] == 1
    document = json.loads((tmp_path / "lib.json").read_text(encoding="utf-8"))
    assert [t["pattern"] for t in document["templates"]] == [GREETING["pattern"]]

    await engine.retire_template(view.id)
    assert (await engine.export_templates(tmp_path / "none.json")).templates == 0
    assert (await engine.export_templates(tmp_path / "all.json", include_retired=True)).templates == 1

    imported = await engine.import_templates(tmp_path / "lib.json")
    assert isinstance(imported, ImportResult) and len(imported.ids) == 1 and imported.ids[0] != view.id
    assert imported.to_dict() == {"imported": list(imported.ids)}
    assert [t.id for t in await engine.templates()] == list(imported.ids)

    document["templates"].append({**document["templates"][0], "body": "import os\n"})  # breaks the round trip
    (tmp_path / "bad.json").write_text(json.dumps(document), encoding="utf-8")
    for bad in (tmp_path / "bad.json", tmp_path / "missing.json", tmp_path):
        with pytest.raises(BadInput):
            await engine.import_templates(bad)
    assert len(await engine.templates(include_retired=True)) == 2, "a refused import wrote nothing"


@pytest.mark.parametrize("where", ["directory", "missing dir"])
async def test_export_to_an_unwritable_place_is_bad_input(engine: Engine, tmp_path: Path, where: str) -> None:
    greeting(engine)
    target = tmp_path if where == "directory" else tmp_path / "nowhere" / "lib.json"
    with pytest.raises(BadInput):
        await engine.export_templates(target)


async def test_similar_lists_matches_and_near_misses_from_both_sources(engine: Engine) -> None:
    greeting(engine)
    rows = await engine.similar_templates("a greeting constant saying 'hello'")
    for row in rows:
        frozen(row)
    best = rows[0]
    assert best == SimilarTemplate("learned", best.template, GREETING["pattern"], 1.0, True, {"text": "hello"})
    assert best.to_dict()["bindings"] == {"text": "hello"} and "refused" not in best.to_dict()

    near = await engine.similar_templates("a greeting constant")  # no value: resembles, does not match
    assert near and all(not r.match and r.score < 1.0 and r.bindings is None for r in near)
    assert "bindings" not in near[0].to_dict()
    assert any(r.source == "learned" and r.pattern == GREETING["pattern"] for r in near)

    builtin = await engine.similar_templates(ENUM_TASK, limit=2)
    assert builtin[0].source == "builtin" and builtin[0].match
    assert await engine.similar_templates("") == []


async def test_a_match_reported_wrong_is_listed_as_refused(engine: Engine) -> None:
    served = await engine.generate(ENUM_TASK)
    assert served.source == "builtin"
    await engine.report_wrong_answer(served.request_id, "members must be upper case")
    [match] = [r for r in await engine.similar_templates(ENUM_TASK) if r.score == 1.0]
    assert not match.match and match.refused and match.to_dict()["refused"] == match.refused


async def test_builtin_templates_are_specs_sorted_by_name(engine: Engine) -> None:
    specs = await engine.builtin_templates()
    names = [s.name for s in specs]
    assert names == sorted(names) and "dataclass" in names
    assert all(isinstance(s, TemplateSpec) for s in specs)
    frozen(specs[0])


# -- suggestions ----------------------------------------------------------------------------------


async def test_the_review_queue_lists_previews_edits_and_accepts(learning: Engine) -> None:
    sid = await suggest(learning)
    pending = await learning.pending_suggestions()
    assert [s.id for s in pending] == [sid] and await learning.pending_suggestion_count() == 1
    s = await learning.get_suggestion(sid)
    frozen(s)
    assert isinstance(s, SuggestionView) and s == pending[0] and s.code == CODE

    preview = await learning.preview_suggestion(s)
    frozen(preview)
    assert isinstance(preview, Preview) and preview.ok and preview.rendered == CODE

    live = await learning.preview_suggestion(s, pattern="a constant {name:identifier} is five")
    assert not live.ok and live.problems, "a pattern without the value slot cannot pass"
    assert (await learning.get_suggestion(sid)).pattern == s.pattern, "a live check stores nothing"

    edited = await learning.edit_suggestion(sid, rename={"name": "const"})
    assert edited.pattern == "a constant {const:identifier} set to {value:integer}"
    assert [p.name for p in edited.params] == ["const", "value"]
    with pytest.raises(BadInput, match="no parameter 'nope'"):
        await learning.edit_suggestion(sid, rename={"nope": "x"})
    with pytest.raises(BadInput, match="cannot rename"):
        await learning.edit_suggestion(sid, rename={"const": "not an identifier"})
    assert await learning.get_suggestion(sid) == edited, "a refused edit changed nothing"

    view = await learning.accept_suggestion(sid)
    frozen(view)
    assert isinstance(view, TemplateView) and view.pattern == edited.pattern and view.status == "active"
    assert await learning.pending_suggestions() == [] and await learning.pending_suggestion_count() == 0
    assert (await learning.get_suggestion(sid)).status == "accepted"
    for again in (
        learning.accept_suggestion(sid),
        learning.reject_suggestion(sid),
        learning.edit_suggestion(sid, drop=["value"]),
    ):
        with pytest.raises(BadInput, match="not pending"):
            await again


async def test_reject_and_drop(learning: Engine) -> None:
    first, second = await suggest(learning), await suggest(learning, "a constant MAX_ITEMS set to 5")
    dropped = await learning.edit_suggestion(second, drop=["value"])
    assert [p.name for p in dropped.params] == ["name"] and "{value" not in dropped.pattern
    rejected = await learning.reject_suggestion(first)
    assert rejected.status == "rejected" and rejected.reason == "rejected in review"
    assert [s.id for s in await learning.pending_suggestions()] == [second]


@pytest.mark.parametrize("bad", [*IMPOSSIBLE_IDS, 999])
async def test_unknown_or_impossible_suggestion_ids_are_not_found(learning: Engine, bad: int) -> None:
    for call in (
        learning.get_suggestion(bad),
        learning.accept_suggestion(bad),
        learning.reject_suggestion(bad),
        learning.edit_suggestion(bad, pattern="x"),
    ):
        with pytest.raises(NotFound, match="no suggestion"):
            await call


async def test_unseen_acceptance_holds_code_with_a_security_finding(make_engine: Any, fake: Any) -> None:
    fake.responder = responder(code=RISKY_CODES[0])
    engine = make_engine(order='["openai"]', learning=True, extra=MODEL_PATH)
    sid = await suggest(engine)
    with pytest.raises(HeldForReview, match="security findings"):
        await engine.accept_suggestion(sid, unseen=True)
    assert (await engine.get_suggestion(sid)).status == "pending"
    assert (await engine.accept_suggestion(sid)).status == "active", "a person who read it may accept it"


def test_slot_types_and_constraint_words() -> None:
    types = slot_types()
    assert "identifier" in types and "integer" in types and len(types) == len(set(types))
    assert describe_slot_constraints("integer(1..10)")
    assert describe_slot_constraints("identifier") == ""
    assert describe_slot_constraints("no such type((") == "", "a bad type is not an error here"


# -- feedback -------------------------------------------------------------------------------------


async def test_report_wrong_answer_reverses_savings_once(engine: Engine) -> None:
    served = await engine.generate(ENUM_TASK)
    done = await engine.report_wrong_answer(served.request_id, "  wrong\x1b[2J order \n")
    frozen(done)
    assert isinstance(done, WrongAnswer) and done.request_id == served.request_id
    assert done.reason == "wrong [2J order", "control characters and extra space never reach the row"
    assert done.reversed_micros == served.saved_micros > 0 and done.wrong_reports == 1 and not done.retired
    with pytest.raises(BadInput):
        await engine.report_wrong_answer(served.request_id, "again")
    with pytest.raises(NotFound):
        await engine.report_wrong_answer("no-such-request", "why")


@pytest.mark.parametrize("reason", ["", "   ", "\x1b\x07"])
async def test_an_empty_reason_is_refused_before_anything_is_written(engine: Engine, reason: str) -> None:
    served = await engine.generate(ENUM_TASK)
    with pytest.raises(BadInput, match="say why"):
        await engine.report_wrong_answer(served.request_id, reason)
    assert (await engine.report_wrong_answer(served.request_id, "real")).wrong_reports == 1


# -- around generation ----------------------------------------------------------------------------


def test_a_writable_store_has_no_unrecorded_note(engine: Engine) -> None:
    assert engine.unrecorded is None


async def test_warm_up_llm_imports_the_client_off_the_loop_thread(engine: Engine, monkeypatch: Any) -> None:
    from engine.llm import adapter

    threads: list[str] = []
    monkeypatch.setattr(adapter, "litellm", lambda: threads.append(threading.current_thread().name))
    await engine.warm_up_llm()
    assert len(threads) == 1 and threads[0] != threading.current_thread().name


@pytest.mark.parametrize("name", ["../etc", "a/b", "", ".hidden", "x" * 65, "bad\x1bname"])
def test_hostile_scope_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError):
        check_scope_name(name)


def test_plain_scope_names_pass() -> None:
    assert check_scope_name("web-app.v2") == "web-app.v2" and check_scope_name("coder_1", "agent") == "coder_1"
