"""Wrong-answer feedback: a reported template answer is reversed in the ledger, its bindings never
match that template version again, the template's quality drops and it retires after N reports;
and no suggestion whose code has a security finding is accepted without a person."""

from __future__ import annotations

import functools

import pytest

from engine.errors import BadInput, NotFound
from engine.feedback import Negatives, canonical_bindings
from engine.learning.review import HeldForReview
from engine.service import Engine
from engine.store.models import BudgetCounter, LedgerEntry, Suggestion, Template, TemplateVersion, WrongReport
from tests.engine.test_learning import learn, responder

COLOR = "enum Color with members red, green and blue"


def ledger(engine: Engine, request_id: str) -> list[tuple[str, int, int, str]]:
    return engine.store.call(
        lambda: [
            (r.source, r.cost_micros, r.saved_micros, r.outcome)
            for r in LedgerEntry.select().where(LedgerEntry.request_id == request_id).order_by(LedgerEntry.id)
        ]
    )


def spent(engine: Engine) -> list[tuple[str, int, int]]:
    return engine.store.call(
        lambda: sorted((c.scope, c.spent_micros, c.reserved_micros) for c in BudgetCounter.select())
    )


async def learned_engine(make_engine, fake, extra: str = "") -> tuple[Engine, int]:
    fake.responder = responder()
    engine = make_engine(order='["openai", "gemini"]', learning=True, extra=extra)
    _, sid = await learn(engine)
    view = engine.store.call(engine.library.accept, sid)
    return engine, view.id


async def test_a_wrong_learned_answer_is_reversed_and_its_bindings_never_match_again(make_engine, fake) -> None:
    engine, tid = await learned_engine(make_engine, fake)
    served = await engine.generate("a constant TIMEOUT_SECONDS set to 30")
    assert served.source == "learned" and served.saved_micros > 0
    before_quality = engine.store.call(lambda: Template.get_by_id(tid).quality)
    budgets = spent(engine)

    done = engine.report_wrong(served.request_id, "  timeouts\nmust be floats  ")
    assert done.template == f"learned-{tid}" and done.version == 1 and done.reason == "timeouts must be floats"
    assert done.bindings == {"name": "TIMEOUT_SECONDS", "value": 30}
    assert done.reversed_micros == served.saved_micros and done.wrong_reports == 1 and not done.retired
    rows = ledger(engine, served.request_id)
    assert rows == [("learned", 0, served.saved_micros, "ok"), ("reversal", 0, -served.saved_micros, "ok")]
    assert spent(engine) == budgets, "a reversal never touches spend or budgets"
    row = engine.store.call(lambda: Template.get_by_id(tid))
    assert row.quality == done.quality == before_quality - 20 and row.saved_micros == 0 and row.status == "active"
    history = engine.store.call(
        lambda: [v.reason for v in TemplateVersion.select().where(TemplateVersion.template == tid)]
    )
    assert any("wrong answer reported" in r and "timeouts must be floats" in r for r in history)

    calls = fake.count()
    again = await engine.generate("a constant TIMEOUT_SECONDS set to 30")
    assert again.source == "llm" and fake.count() > calls, "the reported bindings were served again"
    assert any(
        getattr(e, "source", "") == "learned" and "reported wrong" in getattr(e, "detail", "") for e in again.events
    )
    other = await engine.generate("a constant LIMIT set to 9")
    assert other.source == "learned", "other bindings of the same template still match"


async def test_a_template_retires_after_the_configured_number_of_wrong_reports(make_engine, fake) -> None:
    engine, tid = await learned_engine(make_engine, fake, extra="retire_after_wrong = 2\n")
    first = await engine.generate("a constant ALPHA set to 1")
    second = await engine.generate("a constant BETA set to 2")
    assert first.source == second.source == "learned"
    assert not engine.report_wrong(first.request_id, "wrong").retired
    done = engine.report_wrong(second.request_id, "wrong again")
    assert done.retired and done.wrong_reports == 2 and done.retire_after == 2
    row = engine.store.call(lambda: Template.get_by_id(tid))
    assert row.status == "retired" and "2 wrong-answer reports" in row.retired_reason
    assert (await engine.generate("a constant GAMMA set to 3")).source == "llm"


async def test_feedback_errors_are_clear_and_write_nothing(make_engine, fake) -> None:
    engine, _ = await learned_engine(make_engine, fake)
    paid = await engine.generate("write a function that adds two numbers")
    cached = await engine.generate("write a function that adds two numbers")
    served = await engine.generate("a constant OMEGA set to 4")
    assert (paid.source, cached.source, served.source) == ("llm", "cache", "learned")
    rows = engine.store.call(lambda: LedgerEntry.select().count())

    with pytest.raises(NotFound, match="no request"):
        engine.report_wrong("00000000-0000-0000-0000-000000000000", "why")
    with pytest.raises(NotFound, match="no request"):
        engine.report_wrong("x" * 500, "why")
    with pytest.raises(BadInput, match="paid provider call, not a template"):
        engine.report_wrong(paid.request_id, "why")
    with pytest.raises(BadInput, match="response cache, not a template"):
        engine.report_wrong(cached.request_id, "why")
    with pytest.raises(BadInput, match="say why"):
        engine.report_wrong(served.request_id, "  \n ")
    with pytest.raises(BadInput, match="say why"):
        engine.report_wrong(served.request_id, "\x1b\x07\x00\t")
    assert engine.store.call(lambda: LedgerEntry.select().count()) == rows
    assert engine.store.call(lambda: WrongReport.select().count()) == 0

    done = engine.report_wrong(served.request_id, "\x1b[31mfirst\x1b[0m report " + "x" * 900)
    assert done.reason.startswith("[31mfirst [0m report x") and len(done.reason) == 500 and "\x1b" not in done.reason
    with pytest.raises(BadInput, match="already reported wrong"):
        engine.report_wrong(served.request_id, "second report")
    assert engine.store.call(lambda: LedgerEntry.select().where(LedgerEntry.source == "reversal").count()) == 1


async def test_a_wrong_builtin_answer_blocks_its_bindings_and_retires_the_builtin(make_engine, fake) -> None:
    engine = make_engine(order='["openai"]', extra="retire_after_wrong = 2\n")
    fake.responder = responder()
    served = await engine.generate(COLOR)
    assert served.source == "builtin" and served.saved_micros > 0
    done = engine.report_wrong(served.request_id, "members must be upper case")
    assert done.source == "builtin" and done.template_id is None and done.quality is None and not done.retired
    assert (await engine.generate(COLOR)).source == "llm"
    other = await engine.generate("enum Shape with members circle, square and triangle")
    assert other.source == "builtin", "other bindings of the built-in still match"
    assert engine.report_wrong(other.request_id, "still wrong").retired
    assert (await engine.generate("enum Size with members small, medium and large")).source == "llm"


async def test_a_report_from_another_process_reaches_a_running_engine(make_engine, fake, paths, sleeps) -> None:
    engine, _ = await learned_engine(make_engine, fake)
    served = await engine.generate("a constant DELTA set to 4")
    assert (await engine.generate("a constant DELTA set to 4")).source == "learned"  # the index is cached now
    other = Engine.from_settings(paths, sleep=sleeps)
    try:
        other.report_wrong(served.request_id, "reported elsewhere")
    finally:
        other.close()
    assert (await engine.generate("a constant DELTA set to 4")).source == "llm"


def test_negatives_are_per_template_version_and_exact_bindings() -> None:
    from engine.feedback import bindings_key

    bad = {"name": "Stack", "fields": [("a", "int")]}
    key = bindings_key(canonical_bindings(bad))
    negatives = Negatives(frozenset({("learned-1", 2, key)}), frozenset({("learned-1", 2)}), frozenset({"enum"}))
    assert negatives.refusal("learned-1", 2, {"fields": [["a", "int"]], "name": "Stack"})  # same bindings, any order
    assert negatives.refusal("learned-1", 3, bad) is None, "another version of the template is not refused"
    assert negatives.refusal("learned-1", 2, {"name": "Stack2", "fields": [("a", "int")]}) is None
    assert negatives.refusal("learned-2", 2, bad) is None
    assert negatives.refusal("enum", 1, {}) and negatives.refusal("enum", 7, {"x": 1})


RISKY_CODES = (  # each validates (low severity only) but has a security finding
    '"""Settings."""\n\nimport subprocess\n\nMAX_RETRIES: int = 5\n',
    '"""Settings."""\n\nimport pickle\n\nMAX_RETRIES: int = 5\n',
    '"""Settings."""\n\nMAX_RETRIES: int = 5\nassert MAX_RETRIES > 0\n',
    '"""Settings."""\n\ntry:\n    MAX_RETRIES: int = 5\nexcept Exception:\n    pass\n',
)


@pytest.mark.parametrize("code", RISKY_CODES)
async def test_auto_accept_never_takes_code_with_a_security_finding(make_engine, fake, code) -> None:
    fake.responder = responder(code=code)
    engine = make_engine(order='["openai"]', learning=True, extra="auto_accept_confidence = 0.5\n")
    _, sid = await learn(engine)
    s = engine.store.call(lambda: Suggestion.get_by_id(sid))
    assert s.status == "pending" and "security findings" in s.reason
    assert engine.store.call(lambda: Template.select().count()) == 0
    with pytest.raises(HeldForReview):
        engine.store.call(functools.partial(engine.library.accept, sid, unseen=True))
    view = engine.store.call(engine.library.accept, sid)  # a person who read the code may accept it
    assert view.status == "active"


async def test_auto_accept_still_takes_clean_code(make_engine, fake) -> None:
    fake.responder = responder()
    engine = make_engine(order='["openai"]', learning=True, extra="auto_accept_confidence = 0.5\n")
    _, sid = await learn(engine)
    assert engine.store.call(lambda: Suggestion.get_by_id(sid).status) == "accepted"
