"""Two stores in one process: every query, ORM or raw SQL, goes to the database of the store
that runs it; a query outside any store fails loudly instead of picking some database.

Issue #12: the models and ``engine/store/sql.py`` went through one process-wide peewee proxy
that each ``Store.open`` re-pointed, so engine A's cache entry landed in engine B's file and
A's lookup then "found" it there."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import cache
from engine.errors import StoreError
from engine.paths import Paths
from engine.service import Engine
from engine.store import sql
from engine.store.db import Store, sqlite_url, write_transaction
from engine.store.models import CacheEntry, LedgerEntry, Template, database_proxy
from tests.engine.conftest import user_settings
from tests.engine.test_learning import SUGGESTION, TASK, responder
from tests.fakes import FakeProviderServer


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    """Read a database file with the standard library, bypassing Templar entirely."""
    with sqlite3.connect(path) as con:
        return con.execute(query).fetchall()


def put(key: str, code: str) -> None:
    cache.put(
        key,
        provider="p",
        model="m",
        text=code,
        code=code,
        tokens_in=1,
        tokens_out=1,
        cost_micros=1,
        ttl_s=3600,
        max_entries=100,
    )


@pytest.fixture
def two_stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    a = Store.open(sqlite_url(tmp_path / "a.db"))
    b = Store.open(sqlite_url(tmp_path / "b.db"))
    try:
        yield a, b
    finally:
        a.close()
        b.close()


# -- the reproduction, at the store level -------------------------------------------------------


def test_a_cache_entry_lands_in_the_database_of_the_store_that_wrote_it(two_stores, tmp_path: Path) -> None:
    a, b = two_stores  # b was opened last: under the old proxy every query went to b.db
    a.call(put, "k-a", "A = 1\n")
    assert rows(tmp_path / "a.db", "SELECT key FROM cache_entry") == [("k-a",)]
    assert rows(tmp_path / "b.db", "SELECT key FROM cache_entry") == []
    assert a.call(cache.peek, "k-a") is not None
    assert b.call(cache.peek, "k-a") is None, "b found a's entry"


def test_orm_raw_sql_and_transactions_each_go_to_their_own_store(two_stores, tmp_path: Path) -> None:
    a, b = two_stores

    def write(tag: str) -> None:
        with write_transaction(database_proxy):
            sql.insert_free_answer(1.0, "cache", f"req-{tag}", tag, "agent", "p", "m", 5, 1, "owner")
            LedgerEntry.create(ts=2.0, day="1970-01-01", request_id=f"orm-{tag}", source="llm", outcome="ok")
        with CacheEntry._meta.database.atomic():
            put(f"key-{tag}", f"{tag.upper()} = 1\n")

    a.call(write, "a")
    b.call(write, "b")
    a.call(write, "a2")
    for store, path, tags in ((a, tmp_path / "a.db", ("a", "a2")), (b, tmp_path / "b.db", ("b",))):
        want = sorted([f"req-{t}" for t in tags] + [f"orm-{t}" for t in tags])
        assert sorted(r[0] for r in rows(path, "SELECT request_id FROM ledger_entry")) == want
        assert store.call(lambda: sorted(e.request_id for e in LedgerEntry.select())) == want
        assert sorted(r[0] for r in rows(path, "SELECT key FROM cache_entry")) == sorted(f"key-{t}" for t in tags)
        assert store.call(lambda: CacheEntry.select().count()) == len(tags)
        assert store.call(lambda: sql.execute("SELECT COUNT(*) FROM ledger_entry").fetchone()[0]) == 2 * len(tags)


def test_stores_on_many_threads_at_once_never_cross(tmp_path: Path) -> None:
    """Four stores written from eight threads at once, interleaved on each store's own DB thread."""
    stores = [Store.open(sqlite_url(tmp_path / f"s{i}.db")) for i in range(4)]
    try:
        start = threading.Barrier(8)

        def hammer(n: int) -> None:
            store = stores[n % 4]
            start.wait()
            for i in range(40):
                store.call(put, f"s{n % 4}-t{n}-{i}", "X = 1\n")
                assert store.call(cache.peek, f"s{n % 4}-t{n}-{i}") is not None

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, store in enumerate(stores):
            keys = [r[0] for r in rows(tmp_path / f"s{i}.db", "SELECT key FROM cache_entry")]
            assert len(keys) == 80 and all(k.startswith(f"s{i}-") for k in keys)
            assert store.call(cache.stats) == {"entries": 80}
    finally:
        for store in stores:
            store.close()


# -- outside any store: a clear error, never another store's database ------------------------------


def test_a_query_outside_any_store_fails_loudly_even_with_stores_open(two_stores) -> None:
    for query in (
        lambda: CacheEntry.select().count(),
        lambda: LedgerEntry.create(ts=1.0, day="d", request_id="r", source="llm", outcome="ok"),
        lambda: sql.execute("SELECT 1"),
        lambda: cache.peek("k"),
        lambda: database_proxy.atomic().__enter__(),
        lambda: write_transaction(database_proxy).__enter__(),
        lambda: Template._meta.database.execute_sql("SELECT 1"),
    ):
        with pytest.raises(StoreError, match="outside a store") as info:
            query()
        assert "store.run" in str(info.value)


def test_a_query_on_a_thread_of_its_own_fails_loudly(two_stores) -> None:
    seen: list[BaseException] = []

    def other() -> None:
        try:
            CacheEntry.select().count()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            seen.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(seen) == 1 and isinstance(seen[0], StoreError)


def test_a_closed_store_does_not_leave_its_database_bound(tmp_path: Path) -> None:
    store = Store.open(sqlite_url(tmp_path / "gone.db"))
    store.close()
    with pytest.raises(StoreError, match="outside a store"):
        CacheEntry.select().count()


def test_the_shared_proxy_cannot_be_pointed_at_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="Store.open"):
        database_proxy.initialize(object())


# -- two engines, used concurrently ----------------------------------------------------------------


def engine_at(root: Path, fake: FakeProviderServer, *, learning: bool = False) -> Engine:
    paths = Paths(config_dir=root / "config", data_dir=root / "data").ensure()
    # (the model's suggestion path: deterministic parameterisation has its own tests)
    extra = ("deterministic = false\n" if learning else "") + "[budget.system]\nlimit_usd = 100.0\n"
    paths.user_settings.write_text(
        user_settings(fake, extra=extra, order='["openai"]', learning=learning), encoding="utf-8"
    )
    return Engine.from_settings(paths)


@pytest.fixture
def two_engines(tmp_path: Path, fake: FakeProviderServer, keys: str) -> Iterator[tuple[Engine, Engine]]:
    fake.responder = responder()  # SUGGESTION's constant for generation, its JSON for learning
    a = engine_at(tmp_path / "a", fake, learning=True)
    b = engine_at(tmp_path / "b", fake)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def ledger(engine: Engine) -> list[tuple[str, str, str]]:
    return engine.store.call(lambda: sorted((e.request_id, e.source, e.project) for e in LedgerEntry.select()))


async def test_two_engines_used_concurrently_keep_cache_ledger_budget_and_templates_apart(two_engines) -> None:
    a, b = two_engines
    tasks_a = [TASK] + [f"a constant ALPHA_{i} set to {i}" for i in range(7)]
    tasks_b = [f"a constant BETA_{i} set to {i}" for i in range(8)]

    # round 1: every task is new to its engine: paid, then cached in that engine's store only
    first = await asyncio.gather(
        *(a.generate(t, project="pa") for t in tasks_a), *(b.generate(t, project="pb") for t in tasks_b)
    )
    assert [r.source for r in first] == ["llm"] * 16
    ids_a = {r.request_id for r in first[:8]}
    ids_b = {r.request_id for r in first[8:]}

    # round 2: repeats hit each engine's own cache; each engine's tasks are a miss on the other
    second = await asyncio.gather(
        *(a.generate(t, project="pa") for t in tasks_a),
        *(b.generate(t, project="pb") for t in tasks_b),
        *(b.generate(t, project="pb") for t in tasks_a[:2]),
    )
    assert [r.source for r in second[:16]] == ["cache"] * 16
    assert [r.source for r in second[16:]] == ["llm"] * 2, "b answered a's task from a's cache"
    ids_a |= {r.request_id for r in second[:8]}
    ids_b |= {r.request_id for r in second[8:]}

    await a.settle_learning()  # a's learning runs after each answer
    ledger_a, ledger_b = ledger(a), ledger(b)
    assert {r[0] for r in ledger_a} == ids_a and {r[2] for r in ledger_a} == {"pa"}
    assert {r[0] for r in ledger_b} == ids_b and {r[2] for r in ledger_b} == {"pb"}
    assert a.store.call(cache.stats) == {"entries": 8}
    assert b.store.call(cache.stats) == {"entries": 10}

    # budgets: each engine's system counter holds exactly its own ledger's spend
    for engine in (a, b):
        spent = engine.store.call(lambda: sum(e.cost_micros for e in LedgerEntry.select()))
        (system,) = [s for s in await engine.budget_status() if s.scope == "system"]
        assert system.spent_micros == spent > 0 and system.reserved_micros == 0

    # templates: a learned one (a's learning is on) serves a, never b
    suggestions = a.store.call(a.library.suggestions)
    assert len(suggestions) == 8 and b.store.call(b.library.suggestions) == []
    (learnable,) = [s for s in suggestions if s.task == TASK]  # the fake's suggestion fits TASK only
    view = a.store.call(a.library.accept, learnable.id)
    assert view.pattern == SUGGESTION["pattern"]
    served = await asyncio.gather(a.generate("a constant GAMMA set to 3"), b.generate("a constant GAMMA set to 3"))
    assert [r.source for r in served] == ["learned", "llm"]
    assert [t.id for t in await a.templates()] == [view.id] and await b.templates() == []
