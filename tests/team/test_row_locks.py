"""Row-level locking on PostgreSQL: the paid path (reserve, settle, release) never waits on the
store-wide write lock, concurrent callers on separate connections never overrun a budget,
and a transaction the server aborts to break a deadlock is classified and run again."""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest
from peewee import OperationalError

from engine.budget.book import BudgetBook, LedgerFields, _conflict, budget_refs
from engine.config.schema import Settings
from engine.errors import BudgetRefused
from engine.store.db import _PG_WRITE_LOCK_ID, Store
from engine.store.models import BudgetCounter, LedgerEntry, Reservation

pytestmark = pytest.mark.postgres

NOW = 1_790_000_000.0


def refs(project_limit: float | None, project: str = "p", agent: str = "a") -> list:
    settings = Settings.model_validate({"budget": {"project": {"limit_usd": project_limit}}})
    return budget_refs(settings, project, agent, NOW)


def fields(rid: str, project: str = "p") -> LedgerFields:
    return LedgerFields(rid, project, "a", "llm", "openai", "openai/gpt-4o-mini", 1, 10)


def test_the_paid_path_does_not_wait_for_the_store_wide_write_lock(pg_db) -> None:
    """Another session holds the advisory write lock (as a long template import would): a
    reservation, its settlement and a release still complete."""
    store = Store.open(pg_db.url)
    blocker = psycopg.connect(pg_db.url, autocommit=True)
    try:
        book = BudgetBook(store, clock=lambda: NOW)
        store.call(book.reserve, refs(None), 1, fields("warm"))  # counters exist; liveness lock taken
        blocker.execute("SELECT pg_advisory_lock(%s)", (_PG_WRITE_LOCK_ID,))
        finished = threading.Event()
        outcome: list[object] = []

        def paid_path() -> None:
            try:
                held = store.call(book.reserve, refs(None), 500, fields("r1"))
                store.call(book.settle, held, 300)
                held = store.call(book.reserve, refs(None), 500, fields("r2"))
                store.call(book.release, held)
                outcome.append("ok")
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome.append(exc)
            finally:
                finished.set()

        threading.Thread(target=paid_path, daemon=True).start()
        # with a store-wide lock on the paid path this would wait until the blocker lets go
        assert finished.wait(30), "the paid path waited on the store-wide write lock"
        assert outcome == ["ok"]
        spent = store.call(lambda: {c.scope: c.spent_micros for c in BudgetCounter.select()})
        assert spent == {"system": 300, "project": 300, "agent": 300}
    finally:
        blocker.close()
        store.close()


def test_callers_on_four_connections_never_overrun_a_budget(pg_db) -> None:
    """The store's 4 database threads (4 connections) x 50 reservations of 1,000 against a
    project cap of exactly 60: exactly 60 hold, the rest are refused, nothing is over."""
    store = Store.open(pg_db.url)
    try:
        book = BudgetBook(store, clock=lambda: NOW)
        limit = refs(0.06)  # cap = 60,000 micro-USD at exhausted = 100 %
        gate = threading.Barrier(4)

        def caller(n: int) -> tuple[int, int]:
            gate.wait(timeout=20)
            ok = refused = 0
            for i in range(50):
                try:
                    held = book.reserve(limit, 1_000, fields(f"c{n}-{i}"))
                except BudgetRefused:
                    refused += 1
                    continue
                book.settle(held, 1_000)
                ok += 1
            return ok, refused

        async def main() -> list[tuple[int, int]]:
            return await asyncio.gather(*[store.run(caller, n) for n in range(4)])

        results = asyncio.run(main())
        assert sum(ok for ok, _ in results) == 60 and sum(r for _, r in results) == 140
        counters = store.call(lambda: {c.scope: (c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()})
        assert counters["project"] == (60_000, 0), "0 overshoot"
        assert store.call(lambda: Reservation.select().where(Reservation.state == "held").count()) == 0
        paid = store.call(lambda: LedgerEntry.select().where(LedgerEntry.outcome == "ok").count())
        assert paid == 60
    finally:
        store.close()


def _real_deadlock(url: str) -> BaseException:
    """Two peewee connections update two rows in opposite orders: the server aborts one."""
    first, second = Store.open(url), Store.open(url)
    try:
        for key in ("x", "y"):
            first.call(
                lambda k=key: first.db.execute_sql(
                    "INSERT INTO budget_counter (scope, key, period, limit_micros, spent_micros, reserved_micros) "
                    "VALUES ('project', %s, 'total', NULL, 0, 0)",
                    (k,),
                )
            )
        both = threading.Barrier(2)
        errors: list[BaseException] = []

        def update(store: Store, order: tuple[str, str]) -> None:
            try:
                with store.db.atomic():
                    for n, key in enumerate(order):
                        store.db.execute_sql(
                            "UPDATE budget_counter SET spent_micros = spent_micros + 1 WHERE key = %s", (key,)
                        )
                        if n == 0:
                            both.wait(timeout=20)
            except OperationalError as exc:
                errors.append(exc)

        async def main() -> None:
            await asyncio.gather(first.run(update, first, ("x", "y")), second.run(update, second, ("y", "x")))

        asyncio.run(main())
        assert len(errors) == 1, "the server breaks the cycle by aborting exactly one transaction"
        return errors[0]
    finally:
        first.close()
        second.close()


def test_a_server_aborted_transaction_is_recognised_and_run_again(pg_db) -> None:
    error = _real_deadlock(pg_db.url)
    assert _conflict(error) == "deadlock"
    assert _conflict(OperationalError("connection refused")) == ""

    store = Store.open(pg_db.url)
    try:
        book = BudgetBook(store, clock=lambda: NOW)
        calls: list[int] = []

        def flaky() -> str:
            calls.append(1)
            if len(calls) < 3:
                raise error
            return "done"

        assert book._retrying(flaky) == "done" and len(calls) == 3
        with pytest.raises(OperationalError):
            book._retrying(lambda: (_ for _ in ()).throw(OperationalError("disk full")))
    finally:
        store.close()
