"""The store on a real PostgreSQL server: migrations from empty and from the previous version,
one migration when two processes open a fresh database at once, and budget bookkeeping that stays
exact when several connections reconcile or settle the same reservations at the same moment."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from playhouse.schema_diff import diff_models

from engine.budget.book import BudgetBook, LedgerFields, budget_refs
from engine.config.schema import Settings
from engine.errors import StoreError
from engine.store.db import MIGRATIONS_DIR, Store
from engine.store.models import ALL_MODELS, BudgetCounter, LedgerEntry, Reservation
from tests.team.conftest import wait_until

pytestmark = pytest.mark.postgres

MIGRATIONS = tuple(sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")))


def test_fresh_database_is_migrated_to_the_models(pg_db) -> None:
    store = Store.open(pg_db.url)
    try:
        status = store.schema_status()
        assert status.backend == "postgresql"
        assert re.match(r"\d+(\.\d+)?", status.server_version), status.server_version
        assert status.applied == MIGRATIONS and status.pending == ()
        assert status.version == status.latest == len(MIGRATIONS)
        assert not store.call(diff_models, store.db, list(ALL_MODELS)), "models and migrations disagree"
        assert store.migrate() == []  # idempotent
        assert store.integrity_check() == "ok"
    finally:
        store.close()
    assert pg_db.query("select count(*) from schema_migration") == [(len(MIGRATIONS),)]


def test_database_at_previous_version_is_upgraded_without_losing_rows(pg_db) -> None:
    old = Store.open(pg_db.url, migrate=False)
    assert old.migrate("0001_core") == ["0001_core"]
    assert old.schema_status().pending == MIGRATIONS[1:]
    old.call(LedgerEntry.create, ts=1.0, day="1970-01-01", request_id="r1", source="llm", outcome="ok", cost_micros=42)
    old.close()
    assert "template" not in {r[0] for r in pg_db.query("select tablename from pg_tables where schemaname = 'public'")}

    store = Store.open(pg_db.url)
    try:
        assert store.schema_status().applied == MIGRATIONS
        assert store.call(lambda: LedgerEntry.get(LedgerEntry.request_id == "r1").cost_micros) == 42
        assert not store.call(diff_models, store.db, list(ALL_MODELS))
    finally:
        store.close()


def test_url_parameters_reach_the_driver_and_store_closes_every_connection(pg_db) -> None:
    store = Store.open(pg_db.url + "?application_name=templar-team-probe")
    try:

        async def names() -> list[str]:
            # more concurrent jobs than worker threads: every worker thread opens its connection
            return await asyncio.gather(
                *[
                    store.run(lambda: store.db.execute_sql("select current_setting('application_name')").fetchone()[0])
                    for _ in range(16)
                ]
            )

        assert set(asyncio.run(names())) == {"templar-team-probe"}
        assert (
            pg_db.query(
                "select count(*) from pg_stat_activity where datname = %s and application_name = %s",
                (pg_db.name, "templar-team-probe"),
            )[0][0]
            >= 1
        )
    finally:
        store.close()

    # a backend leaves pg_stat_activity a moment after its client hung up: asked again, bounded
    def gone() -> bool:
        left = pg_db.query(
            "select count(*) from pg_stat_activity where datname = %s and application_name = %s",
            (pg_db.name, "templar-team-probe"),
        )[0][0]
        return left == 0

    wait_until("Store.close() to close every connection on the server", gone, 10, interval=0.05)


def test_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot open database postgresql://nobody:\\*\\*\\*@127.0.0.1:1/x"):
        Store.open("postgresql://nobody:secret@127.0.0.1:1/x")


@pytest.mark.slow
def test_two_processes_opening_a_fresh_database_migrate_it_once(pg_db, spawn) -> None:
    children = [spawn(pg_db.url, "migrate") for _ in range(2)]
    for child in children:
        child.wait_ready(timeout=60)
    for child in children:
        child.go()
    results = [child.result(timeout=60) for child in children]
    applied = sorted((r["applied"] for r in results), key=len)
    assert applied == [[], list(MIGRATIONS)], results
    assert all(r["version"] == len(MIGRATIONS) and r["pending"] == [] for r in results)
    assert pg_db.query("select name from schema_migration order by name") == [(m,) for m in MIGRATIONS]


# -- several connections finishing the same reservations -----------------------------------------

AMOUNT = 1_000


def _hold(store: Store, count: int, pid: int) -> tuple[list[str], BudgetBook]:
    """``count`` reservations held by a book that claims to be process ``pid``."""
    owner = BudgetBook(store)
    owner.owner, owner.pid = f"{owner.host}:{pid}:probe", pid
    refs = budget_refs(Settings(), "p", "a", owner.clock())
    held = [
        store.call(owner.reserve, refs, AMOUNT, LedgerFields(f"r{i}", "p", "a", "llm", "openai", "m", 1))
        for i in range(count)
    ]
    return held, owner


def _counters(store: Store) -> set[tuple[int, int]]:
    return store.call(lambda: {(c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()})


def _on_threads(store: Store, jobs: list) -> list:
    """Run ``jobs`` at the same moment, each on its own database thread (its own connection)."""
    gate = threading.Barrier(len(jobs))

    def gated(job):
        gate.wait(timeout=10)
        return job()

    async def main() -> list:
        return await asyncio.gather(*[store.run(gated, job) for job in jobs])

    return asyncio.run(main())


def test_concurrent_reconcilers_charge_each_orphan_exactly_once(pg_db) -> None:
    store = Store.open(pg_db.url)
    try:
        held, _ = _hold(store, 60, pid=999_999_999)
        books = []
        for i in range(4):
            book = BudgetBook(store)
            book.owner = f"{book.owner}:reconciler{i}"
            books.append(book)
        done = _on_threads(store, [lambda b=b: b.reconcile(is_alive=lambda pid: False) for b in books])
        ids = [rid for part in done for rid in part]
        assert sorted(ids) == sorted(h.reservation_id for h in held), "every orphan reconciled exactly once"
        assert _counters(store) == {(60 * AMOUNT, 0)}
        rows = store.call(lambda: LedgerEntry.select().where(LedgerEntry.source == "reconcile").count())
        assert rows == 60
    finally:
        store.close()


def test_settle_racing_a_stale_reconcile_never_double_counts(pg_db) -> None:
    store = Store.open(pg_db.url)
    try:
        held, owner = _hold(store, 60, pid=999_999_998)
        reconciler = BudgetBook(store)
        reconciler.owner = f"{reconciler.owner}:stale"

        def settle_all() -> None:
            for h in held:
                owner.settle(h, 400)

        _on_threads(store, [settle_all, lambda: reconciler.reconcile(stale_after_s=-1, is_alive=lambda pid: True)])
        states = store.call(lambda: [r.state for r in Reservation.select()])
        settled, reconciled = states.count("settled"), states.count("reconciled")
        assert settled + reconciled == 60
        assert _counters(store) == {(settled * 400 + reconciled * AMOUNT, 0)}, (settled, reconciled)
    finally:
        store.close()


def test_a_lost_connection_is_replaced_on_the_next_call(pg_db) -> None:
    store = Store.open(pg_db.url + "?application_name=templar-team-lost")

    def one() -> int:
        return store.db.execute_sql("select 1").fetchone()[0]

    try:
        assert store.call(one) == 1
        killed = pg_db.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and application_name = %s",
            (pg_db.name, "templar-team-lost"),
        )
        assert killed and all(ok for (ok,) in killed)
        try:
            store.call(one)  # the loss is discovered by the first statement on that connection ...
        except Exception:  # noqa: BLE001
            pass
        assert store.call(one) == 1  # ... and the next call runs on a new one
    finally:
        store.close()


def test_a_crash_on_another_machine_is_reconciled_at_once_and_a_live_process_is_not(pg_db) -> None:
    """Liveness locks: a process elsewhere whose connection died has its reservations settled by
    the next process to start, without waiting for the stale timeout; a live one keeps them."""
    from engine.store.db import _PG_LIVENESS_NS, connect, liveness_key

    store = Store.open(pg_db.url)
    holder = connect(pg_db.url)
    try:
        me = BudgetBook(store)
        store.hold_liveness(me.owner)  # this process's own lock, so the fakes below take none
        refs = budget_refs(Settings(), "p", "a", time.time())
        live, dead = "other-machine:11:live", "other-machine:12:dead"
        holder.connect()  # "the live process": it holds its liveness lock on its own session
        holder.execute_sql("SELECT pg_advisory_lock(%s, %s)", (_PG_LIVENESS_NS, liveness_key(live)))
        for owner, pid in ((live, 11), (dead, 12)):
            other = BudgetBook(store)
            other.owner, other.host, other.pid = owner, "other-machine", pid
            store.call(other.reserve, refs, 1_000, LedgerFields(owner, "p", "a", "llm", "openai", "m", 1))

        reconciled = store.call(me.reconcile)  # fresh reservations: the stale timeout does not apply
        states = store.call(lambda: {r.owner: r.state for r in Reservation.select()})
        assert states == {live: "held", dead: "reconciled"} and len(reconciled) == 1
    finally:
        holder.close()
        store.close()


def test_cooldown_records_per_endpoint_and_credential_on_postgresql(pg_db) -> None:
    """The cooldown board's SQL (upsert, cool, clear) on a real server, rows from before 0008 kept."""
    from engine.config.schema import ProviderSettings
    from engine.llm.cooldown import CooldownBoard, credential_key, health_key

    old = Store.open(pg_db.url, migrate=False)
    old.migrate("0004_provider_health")
    pg_db.query("insert into provider_health (key, failures, until) values ('m@old', 2, 0) returning key")
    old.close()
    store = Store.open(pg_db.url)
    try:
        assert pg_db.query("select endpoint, credential from provider_health where key = 'm@old'") == [("m@old", "")]
        board = CooldownBoard(store)
        provider = ProviderSettings(model="openai/gpt-4o-mini", api_key_env="OPENAI_API_KEY", api_base="http://x/v1")
        endpoint, cred = health_key(provider), credential_key(provider, "Pg1Key2Value3Here4")
        assert store.call(board.failed, cred, 100.0, 2, 60.0) is False
        assert store.call(board.failed, cred, 101.0, 2, 60.0) is True
        store.call(board.cool, endpoint, 500.0)
        state = store.call(board.state, [endpoint, cred])
        assert state == {cred: (0, 161.0), endpoint: (0, 500.0)}
        store.call(board.succeeded, endpoint, cred)
        assert store.call(board.state, [endpoint, cred]) == {cred: (0, 0.0), endpoint: (0, 0.0)}
        assert "Pg1Key" not in repr(pg_db.query("select * from provider_health"))
    finally:
        store.close()
