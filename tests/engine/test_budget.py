"""Budgets: atomic reservations under concurrency, seven levels and their actions, reconciliation."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from engine.budget.book import BudgetBook, LedgerFields, budget_refs
from engine.budget.levels import level_for
from engine.errors import BudgetRefused, ConfirmationRequired, TemplarError
from engine.events import BudgetLevelCrossed, ChainReordered
from engine.llm import adapter
from engine.llm.price_map import bundled_price
from engine.service import Engine, build_messages
from engine.store.models import AlertEvent, BudgetCounter, LedgerEntry, Reservation
from tests.fakes import FakeProviderServer, Reply

TASK = "function that adds two integers"


def spend(engine: Engine, micros: int, project: str = "default", agent: str = "default") -> None:
    """Record real spend through the book's own reserve/settle path."""
    settings = engine.config(project, agent).settings
    refs = budget_refs(settings, project, agent, engine.clock())
    fields = LedgerFields("seed", project, agent, "llm", "seed", "seed", 1)
    held = engine.store.call(engine.book.reserve, refs, micros, fields)
    engine.store.call(engine.book.settle, held, micros)


def counters(engine: Engine) -> dict[str, tuple[int, int]]:
    return engine.store.call(
        lambda: {f"{c.scope}:{c.key}": (c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()}
    )


def test_levels_follow_thresholds() -> None:
    thresholds = [50, 70, 80, 90, 95, 100]
    assert [level_for(p, thresholds) for p in (0, 49.9, 50, 70, 80, 90, 95, 99.9, 100, 130)] == [
        0,
        0,
        1,
        2,
        3,
        4,
        5,
        5,
        6,
        6,
    ]


async def test_200_concurrent_callers_never_overrun_a_budget_for_50(make_engine, fake: FakeProviderServer) -> None:
    engine = make_engine(order='["openai"]')
    settings = engine.config("default", "default").settings
    model = settings.providers["openai"].model
    max_tokens = 100
    prompt_tokens = adapter.count_tokens(model, build_messages(settings, TASK))
    price_in, price_out = bundled_price(model) or (0.0, 0.0)
    from engine.money import cost_micros

    worst = cost_micros(prompt_tokens, max_tokens, price_in, price_out)
    limit_micros = 50 * worst
    from engine.config import set_value

    # the budget is on the project (a system budget cannot be set in a project file)
    set_value(engine.paths, "budget.project.limit_usd", repr(limit_micros / 1e6), "default")
    assert engine.config("default").settings.budget.project.limit_usd * 1e6 == pytest.approx(limit_micros)
    # every call really costs its worst case, so exactly 50 fit
    fake.responder = lambda request: Reply(text="X = 1", tokens_in=prompt_tokens, tokens_out=max_tokens)

    results = await asyncio.gather(
        *[engine.generate(TASK, max_tokens=max_tokens, use_cache=False, confirmed=True) for _ in range(200)],
        return_exceptions=True,
    )
    paid = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetRefused)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, BudgetRefused)]
    assert others == []
    assert len(paid) == 50 and len(refused) == 150
    assert fake.count() == 50, "every paid call reached the server once, no refused call did"
    spent, reserved = counters(engine)["project:default"]
    assert spent == 50 * worst <= limit_micros and reserved == 0
    assert engine.store.call(engine.book.held_count) == 0
    ledger = engine.store.call(lambda: list(LedgerEntry.select().where(LedgerEntry.source == "llm")))
    assert len(ledger) == 50 and sum(r.cost_micros for r in ledger) == spent
    assert all(r.outcome == "ok" for r in ledger)


async def test_reservation_is_released_when_the_call_fails(make_engine, fake) -> None:
    from engine.config import set_value
    from tests.fakes import Fault

    engine = make_engine(order='["openai"]')
    set_value(engine.paths, "chain.attempts", "1", "default")
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    fake.enqueue("openai", Fault.server_error())
    with pytest.raises(TemplarError):
        await engine.generate(TASK)
    assert counters(engine)["project:default"] == (0, 0)
    assert engine.store.call(lambda: [r.state for r in Reservation.select()]) == ["released"]


async def test_l3_prefers_cheaper_and_l4_uses_only_the_cheapest(make_engine, fake) -> None:
    from engine.config import set_value

    engine = make_engine(order='["anthropic", "gemini", "openai"]')
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    spend(engine, 850_000)  # 85 %: L3
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    reorder = [e for e in events if isinstance(e, ChainReordered)][0]
    assert reorder.level == 3 and reorder.order == ("openai", "gemini", "anthropic")
    assert result.provider == "openai"

    spend(engine, 60_000)  # > 90 %: L4
    events.clear()
    fake.reset()
    from tests.fakes import Fault

    fake.enqueue("openai", Fault.unauthorized())
    with pytest.raises(TemplarError):
        await engine.generate(TASK + " 2", emit=events.append)
    reorder = [e for e in events if isinstance(e, ChainReordered)][0]
    assert reorder.level == 4 and reorder.order == ("openai",)
    assert fake.count("gemini") == fake.count("anthropic") == 0


async def test_l5_needs_confirmation_and_l6_refuses_while_cache_answers(make_engine, fake) -> None:
    from engine.config import set_value

    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text="```python\nX = 1\n```"))
    cached = await engine.generate(TASK)
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    spend(engine, 960_000 - counters(engine)["project:default"][0])  # 96 %: L5
    with pytest.raises(ConfirmationRequired):
        await engine.generate(TASK + " new")
    assert fake.count() == 1
    ok = await engine.generate(TASK + " new", confirmed=True)
    assert ok.source == "llm" and fake.count() == 2

    spend(engine, 1_000_000 - counters(engine)["project:default"][0])  # exactly 100 %: L6
    with pytest.raises(BudgetRefused, match="exhausted"):
        await engine.generate(TASK + " newer", confirmed=True)
    assert fake.count() == 2
    hit = await engine.generate(TASK)
    assert hit.source == "cache" and hit.code == cached.code


async def test_each_crossing_is_recorded_once_per_period(make_engine, fake) -> None:
    from engine.config import set_value

    engine = make_engine(order='["openai"]')
    settings = engine.config("default", "default").settings
    model = settings.providers["openai"].model
    prompt = adapter.count_tokens(model, build_messages(settings, f"{TASK} 0"))
    price_in, price_out = bundled_price(model) or (0.0, 0.0)
    from engine.money import cost_micros

    each = cost_micros(prompt, 500, price_in, price_out)  # the worst case, believed
    set_value(engine.paths, "budget.project.limit_usd", repr(int(2 * each / 0.9) / 1e6), "default")
    fake.responder = lambda request: Reply(text="X = 1", tokens_in=prompt, tokens_out=500)  # 45 % of the limit each
    crossed: list = []
    for i in range(2):
        await engine.generate(f"{TASK} {i}", emit=crossed.append, confirmed=True, max_tokens=500)
    levels = [e.level for e in crossed if isinstance(e, BudgetLevelCrossed) and e.scope == "project"]
    assert levels == [1, 2, 3, 4]  # 45 %: none; 90 %: L1..L4, each once
    rows = engine.store.call(
        lambda: [(a.scope, a.level) for a in AlertEvent.select().where(AlertEvent.scope == "project")]
    )
    assert sorted(rows) == [("project", lvl) for lvl in (1, 2, 3, 4)]
    assert (
        engine.store.call(
            engine.book.record_crossings,
            budget_refs(engine.config("default", "default").settings, "default", "default", engine.clock()),
            [50, 70, 80, 90, 95, 100],
        )
        == []
    )


def test_orphaned_reservations_are_reconciled_and_live_ones_kept(make_engine) -> None:
    engine = make_engine()
    settings = engine.config("default", "default").settings
    refs = budget_refs(settings, "default", "default", engine.clock())

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        for pid, name in ((dead_pid, "dead"), (live.pid, "live")):
            other = BudgetBook(engine.store)
            other.owner, other.pid = f"{other.host}:{pid}:x", pid
            engine.store.call(
                other.reserve, refs, 1000, LedgerFields(name, "default", "default", "llm", "openai", "m", 1)
            )
        engine.close()
        again = Engine.from_settings(engine.paths)
        try:
            states = again.store.call(lambda: {r.pid: r.state for r in Reservation.select()})
            assert states == {dead_pid: "reconciled", live.pid: "held"}
            spent, reserved = counters(again)["system:"]
            assert (spent, reserved) == (1000, 1000)
            ledger = again.store.call(
                lambda: {r.request_id: (r.outcome, r.cost_micros, r.estimated) for r in LedgerEntry.select()}
            )
            assert ledger["dead"] == ("interrupted", 1000, True)
            assert ledger["live"][0] == "pending"
        finally:
            again.close()
    finally:
        live.stdin.close()
        live.wait()
