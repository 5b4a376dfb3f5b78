"""A critical request is answered only by code with an approving review on record, whatever tier
serves it: built-in and learned templates and the cache are reviewed before they are served (by a
provider other than the code's author), the verdict is recorded, and the next critical hit on
the same code uses it for free; a rejection means the next tier answers."""

from __future__ import annotations

import pytest

from engine.errors import ValidationFailed
from engine.store.models import ReviewVerdict
from tests.engine.test_learning import responder as learning_responder
from tests.fakes.trust import SAFE, answering, reviews

ORDER = '["openai", "gemini"]'
SQL_TASK = "sqlite3 repository for Invoice with fields number: int, customer: str, total: float"  # built-in, critical by the sql rule


def verdicts(engine):
    return engine.store.call(
        lambda: [
            (v.subject_kind, v.verdict, v.reviewer, v.author) for v in ReviewVerdict.select().order_by(ReviewVerdict.id)
        ]
    )


async def test_a_builtin_hit_for_a_critical_task_is_reviewed_once_then_served_from_the_record(
    make_engine, fake
) -> None:
    fake.responder = answering(SAFE)
    engine = make_engine(order=ORDER)
    first = await engine.generate(SQL_TASK)
    assert first.source == "builtin" and first.ok
    assert len(reviews(fake.requests)) == 1 and fake.count() == 1, "only the review was paid"
    assert first.cost_micros > 0 and first.to_dict()["validation"]["review"]["verdict"] == "approve"
    assert verdicts(engine) == [("builtin", "approve", "openai", "")]
    second = await engine.generate(SQL_TASK)
    assert second.source == "builtin" and second.cost_micros == 0 and fake.count() == 1
    assert second.to_dict()["validation"]["review"]["recorded"]["kind"] == "builtin"
    plain = await engine.generate("enum Color with members red, green and blue")
    assert plain.source == "builtin" and fake.count() == 1, "a non-critical template hit is never reviewed"


async def test_a_rejected_builtin_is_not_served_and_the_paid_answer_is_reviewed(make_engine, fake) -> None:
    fake.responder = answering(SAFE, verdict=lambda text: "reject" if "import sqlite3" in text else "approve")
    engine = make_engine(order=ORDER)
    result = await engine.generate(SQL_TASK)
    assert result.source == "llm" and result.code == SAFE and result.ok
    assert any(e.to_dict().get("detail", "").endswith("review reject: not served") for e in result.events)
    assert [v[:2] for v in verdicts(engine)] == [("builtin", "reject"), ("llm", "approve")]
    again = await engine.generate(SQL_TASK, use_cache=False)
    assert again.source == "llm", "the recorded rejection keeps the built-in out without paying for a review"
    assert len(reviews(fake.requests)) == 2, "the rejection and the fresh answer's approval are both on record"


async def test_an_unreviewed_cached_answer_is_reviewed_before_a_critical_request_gets_it(
    make_engine, fake, paths
) -> None:
    fake.responder = answering(SAFE)
    engine = make_engine(order=ORDER)
    task = "run a SQL query that lists orders"
    lax = paths.project_file("lax")
    lax.parent.mkdir(parents=True, exist_ok=True)
    lax.write_text("[critical]\ninfer = false\n", encoding="utf-8")
    cached = await engine.generate(task, project="lax")  # not critical there: cached unreviewed
    assert cached.source == "llm" and reviews(fake.requests) == []
    served = await engine.generate(task)  # critical in the default project
    assert served.source == "cache" and served.ok
    [review] = reviews(fake.requests)
    assert review.format == "gemini", "the reviewer is never the cached answer's author (openai)"
    assert verdicts(engine) == [("cache", "approve", "gemini", "openai")]
    count = fake.count()
    again = await engine.generate(task)
    assert again.source == "cache" and again.cost_micros == 0 and fake.count() == count


async def test_a_rejected_cache_entry_falls_through_to_a_paid_answer(make_engine, fake, paths) -> None:
    task = "run a SQL query that lists orders"
    fake.responder = answering(SAFE)
    engine = make_engine(order=ORDER)
    lax = paths.project_file("lax")
    lax.parent.mkdir(parents=True, exist_ok=True)
    lax.write_text("[critical]\ninfer = false\n", encoding="utf-8")
    await engine.generate(task, project="lax")
    fake.responder = answering(SAFE, verdict="reject")
    with pytest.raises(ValidationFailed) as info:
        await engine.generate(task)
    result = info.value.result
    assert result.source == "llm", "the rejected cache entry was not served; the paid answer was rejected too"
    assert [v[:2] for v in verdicts(engine)] == [("cache", "reject")], "the same code: its rejection is reused"


async def test_a_paid_approval_makes_the_next_critical_cache_hit_free(make_engine, fake) -> None:
    fake.responder = answering(SAFE)
    engine = make_engine(order=ORDER)
    first = await engine.generate("an adder", critical=True)
    assert first.source == "llm" and len(reviews(fake.requests)) == 1
    count = fake.count()
    second = await engine.generate("an adder", critical=True)
    assert second.source == "cache" and second.ok and fake.count() == count


async def test_a_learned_template_is_reviewed_by_a_provider_other_than_the_one_that_taught_it(
    make_engine, fake
) -> None:
    fake.responder = learning_responder()
    engine = make_engine(order=ORDER, learning=True)
    taught = await engine.generate("a constant MAX_RETRIES set to 5")
    assert taught.provider == "openai"
    await engine.settle_learning()
    engine.store.call(engine.library.accept, taught.to_dict()["suggestion_id"])
    before = len(reviews(fake.requests))
    served = await engine.generate("a constant API_TOKEN_TTL set to 30", critical=True)
    assert served.source == "learned" and served.ok
    new = reviews(fake.requests)[before:]
    assert [r.format for r in new] == ["gemini"]
    assert verdicts(engine)[-1] == ("learned", "approve", "gemini", "openai")
