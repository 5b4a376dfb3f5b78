"""The money fixes on a real PostgreSQL server: a refusal in a fresh period leaves no stale
counter id behind, absurd usage claims are charged at the worst case with an anomaly row (the
claim kept as text, token columns within INTEGER), and levels count spent + reserved."""

from __future__ import annotations

import pytest

from engine.budget.book import BudgetBook, LedgerFields, budget_refs
from engine.config.schema import Settings
from engine.errors import BudgetRefused
from engine.store.db import Store
from engine.store.models import BudgetCounter, LedgerEntry

pytestmark = pytest.mark.postgres

NOW = 1_790_000_000.0


def refs(project_limit: float | None) -> list:
    settings = Settings.model_validate({"budget": {"project": {"limit_usd": project_limit}}})
    return budget_refs(settings, "p", "a", NOW)


def fields(rid: str) -> LedgerFields:
    return LedgerFields(rid, "p", "a", "llm", "openai", "openai/gpt-4o-mini", 1, 10)


def test_refusal_in_a_fresh_period_then_calls_that_fit_succeed(pg_db) -> None:
    store = Store.open(pg_db.url)
    try:
        book = BudgetBook(store, clock=lambda: NOW)
        with pytest.raises(BudgetRefused, match="project p budget"):
            store.call(book.reserve, refs(0.001), 2_000, fields("big"))
        for i in range(5):
            held = store.call(book.reserve, refs(0.001), 100, fields(f"small{i}"))
            store.call(book.settle, held, 50)
        rows = store.call(lambda: {c.scope: (c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()})
        assert rows == {"system": (250, 0), "project": (250, 0), "agent": (250, 0)}
    finally:
        store.close()


def test_absurd_claims_are_charged_the_worst_case_and_recorded(pg_db) -> None:
    store = Store.open(pg_db.url)
    try:
        book = BudgetBook(store, clock=lambda: NOW)
        held = store.call(book.reserve, refs(None), 500, fields("r1"))
        store.call(lambda: book.settle(held, 10**30, tokens_in=10**30, tokens_out=10**30, latency_ms=1))
        held = store.call(book.reserve, refs(None), 500, fields("r2"))
        store.call(lambda: book.settle(held, -10, tokens_in=-5, tokens_out=3, latency_ms=1))
        ledger = store.call(
            lambda: sorted((r.request_id, r.cost_micros, r.estimated, r.tokens_in) for r in LedgerEntry.select())
        )
        assert ledger == [("r1", 500, True, 2**31 - 1), ("r2", 500, True, 0)]
        found = {a["request_id"]: a for a in store.call(book.anomalies)}
        assert found["r1"]["what"] == "above_worst_case" and found["r1"]["claimed_tokens_in"] == str(10**30)
        assert found["r2"]["what"] == "negative" and found["r2"]["provider"] == "openai"
    finally:
        store.close()


def test_levels_count_reservations_on_postgresql(pg_db) -> None:
    store = Store.open(pg_db.url)
    try:
        book = BudgetBook(store, clock=lambda: NOW)
        store.call(book.reserve, refs(0.001), 960, fields("held"))
        statuses = {s.scope: s for s in store.call(book.status, refs(0.001), [50, 70, 80, 90, 95, 100])}
        assert statuses["project"].level == 5 and statuses["project"].percent == pytest.approx(96.0)
        levels = sorted(a["level"] for a in store.call(book.alerts) if a["scope"] == "project")
        assert levels == [1, 2, 3, 4, 5]
    finally:
        store.close()
