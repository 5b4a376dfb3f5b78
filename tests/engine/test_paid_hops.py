"""A paid answer is two database hops (issue 14): reserve, then settle + ledger row + cache put.

Before them the request has its probe (cache, templates, and, when nothing can match, the near
misses) and one pre-flight read (budget level and provider health). The answer is validated
before it is settled, so the cache put joins the settle's hop; whatever happens in between
(a failing check, a cancellation) the reservation is settled, never left held.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.store.models import CacheEntry, LedgerEntry, Reservation

TASK_A = "write a function that adds two numbers, named add_two_a"
TASK_B = "write a function that adds two numbers, named add_two_b"


def count_hops(engine: Any, monkeypatch: Any) -> list[str]:
    hops: list[str] = []
    real_run = engine.store.run

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", repr(fn)))
        return await real_run(fn, *args, **kwargs)

    monkeypatch.setattr(engine.store, "run", counting)
    return hops


def books(engine: Any) -> tuple[list[tuple[str, str]], list[str], int]:
    def read() -> tuple[list[tuple[str, str]], list[str], int]:
        ledger = [(r.source, r.outcome) for r in LedgerEntry.select().order_by(LedgerEntry.id)]
        states = [r.state for r in Reservation.select()]
        return ledger, states, CacheEntry.select().count()

    return engine.store.call(read)


async def test_a_paid_answer_is_reserve_then_one_settle_hop_that_also_caches(make_engine, monkeypatch) -> None:
    engine = make_engine(order='["openai"]')
    await engine.generate(TASK_A)  # warm: the first call loads what it needs
    hops = count_hops(engine, monkeypatch)
    paid = await engine.generate(TASK_B)
    assert paid.source == "llm" and paid.validation is not None and paid.validation.ok
    assert hops == ["_probe", "_preflight", "reserve", "settle_with"], hops
    ledger, states, cached = books(engine)
    assert ledger == [("llm", "ok"), ("llm", "ok")] and states == ["settled", "settled"] and cached == 2
    hops.clear()
    again = await engine.generate(TASK_B)
    assert again.source == "cache" and again.code == paid.code and hops == ["_probe"]


async def test_a_critical_answer_is_cached_only_after_its_review(make_engine, fake, monkeypatch) -> None:
    from tests.fakes.trust import SAFE, answering

    fake.responder = answering(SAFE, verdict=lambda text: "reject")
    engine = make_engine(order='["openai", "gemini"]')
    result = await engine.generate(TASK_A, critical=True, raise_on_invalid=False)
    assert result.review is not None and result.review["verdict"] == "reject"
    _, states, cached = books(engine)
    assert cached == 0, "a rejected critical answer is never cached"
    assert "held" not in states


async def test_a_failing_cache_put_keeps_the_ledger_row(make_engine, monkeypatch) -> None:
    from engine import cache as response_cache

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(response_cache, "put", broken)
    engine = make_engine(order='["openai"]')
    paid = await engine.generate(TASK_A)
    assert paid.source == "llm"
    ledger, states, cached = books(engine)
    assert ledger == [("llm", "ok")] and states == ["settled"] and cached == 0


async def test_cancelled_while_the_answer_is_checked_the_call_is_still_settled(make_engine, monkeypatch) -> None:
    """The answer arrived and was paid for: cancelling during its validation settles it (the
    ledger row says what it cost) rather than leaving the worst case held."""
    from engine.tiers.paid import PaidTier

    engine = make_engine(order='["openai"]')
    checking = asyncio.Event()
    real_validate = PaidTier._validate

    async def slow_validate(self: Any, ctx: Any, plan: Any, answer: Any) -> Any:
        checking.set()
        await asyncio.Event().wait()  # never returns: the caller cancels
        return await real_validate(self, ctx, plan, answer)

    monkeypatch.setattr(PaidTier, "_validate", slow_validate)
    task = asyncio.ensure_future(engine.generate(TASK_A))
    await checking.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    ledger, states, cached = books(engine)
    assert states == ["settled"] and ledger == [("llm", "ok")] and cached == 0
