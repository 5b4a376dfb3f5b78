"""A SQLite store and a PostgreSQL store in one process (issue #12): used at the same time, from
the PostgreSQL store's four DB threads and the SQLite store's one, through the ORM, raw SQL,
write transactions and budget reservations, neither ever sees the other's rows."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from engine import cache
from engine.budget.book import BudgetBook, LedgerFields, budget_refs
from engine.config.schema import Settings
from engine.errors import StoreError
from engine.store import sql
from engine.store.db import Store, sqlite_url
from engine.store.models import BudgetCounter, CacheEntry, LedgerEntry

pytestmark = pytest.mark.postgres

ROUNDS = 24
AMOUNT = 1_000


def work(book: BudgetBook, tag: str, i: int) -> str:
    """One reservation settled, one cache entry, one raw ledger row: everything a request writes."""
    refs = budget_refs(Settings(), f"proj-{tag}", "agent", book.clock())
    held = book.reserve(refs, AMOUNT, LedgerFields(f"req-{tag}-{i}", f"proj-{tag}", "agent", "llm", "p", "m", 1))
    book.settle(held, AMOUNT)
    cache.put(
        f"{tag}-{i}",
        provider="p",
        model="m",
        text="X = 1\n",
        code="X = 1\n",
        tokens_in=1,
        tokens_out=1,
        cost_micros=AMOUNT,
        ttl_s=3600,
        max_entries=1000,
    )
    sql.insert_free_answer(1.0, "cache", f"hit-{tag}-{i}", f"proj-{tag}", "agent", "p", "m", 1, 1, book.owner)
    return sql.execute("SELECT current_database()" if tag == "pg" else "SELECT 'sqlite'").fetchone()[0]


def test_sqlite_and_postgresql_stores_in_one_process_never_cross(pg_db, tmp_path: Path) -> None:
    lite = Store.open(sqlite_url(tmp_path / "lite.db"))
    pg = Store.open(pg_db.url)
    try:
        books = {"lite": BudgetBook(lite), "pg": BudgetBook(pg)}

        async def main() -> list[str]:
            return await asyncio.gather(
                *(
                    store.run(work, books[tag], tag, i)
                    for i in range(ROUNDS)
                    for tag, store in (("lite", lite), ("pg", pg))
                )
            )

        where = asyncio.run(main())
        assert set(where[1::2]) == {pg_db.name} and set(where[0::2]) == {"sqlite"}

        for tag, store in (("lite", lite), ("pg", pg)):
            requests = store.call(lambda: {e.request_id for e in LedgerEntry.select()})
            assert requests == {f"{kind}-{tag}-{i}" for kind in ("req", "hit") for i in range(ROUNDS)}
            assert store.call(lambda: {e.key for e in CacheEntry.select()}) == {f"{tag}-{i}" for i in range(ROUNDS)}
            counters = store.call(lambda: {(c.key, c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()})
            assert {c[1:] for c in counters} == {(ROUNDS * AMOUNT, 0)}
            assert {c[0] for c in counters} <= {"", f"proj-{tag}", f"proj-{tag}/agent"}

        like = "SELECT COUNT(*) FROM ledger_entry WHERE request_id LIKE {}"
        with sqlite3.connect(tmp_path / "lite.db") as con:  # and the files themselves agree
            assert [con.execute(like.format("?"), (f"%-{tag}-%",)).fetchone()[0] for tag in ("lite", "pg")] == [
                2 * ROUNDS,
                0,
            ]
        assert [pg_db.query(like.format("%s"), (f"%-{tag}-%",))[0][0] for tag in ("lite", "pg")] == [0, 2 * ROUNDS]
        with pytest.raises(StoreError, match="outside a store"):
            CacheEntry.select().count()
    finally:
        lite.close()
        pg.close()
