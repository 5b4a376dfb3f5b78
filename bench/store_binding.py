"""Per-query cost of reaching the database through the models' proxy (engine/store/models.py).

    .venv/bin/python bench/store_binding.py            # ~10 s; --n 20000 --repeats 7 by default

Opens a SQLite store on a temporary file and, on its DB thread, times statements the hit path
runs, each through the models' shared proxy (resolved to the running store's database) and,
where it can, straight on ``store.db``. The difference is what the binding costs per query.
Figures are CPU microseconds of the DB thread per operation (``time.thread_time``: steadier
than wall time on a shared machine), the best of ``--repeats`` runs of ``--n`` each (the
best run is the one least disturbed by other processes); the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's engine, not an installed one

from engine import cache
from engine.store import sql
from engine.store.db import Store, sqlite_url
from engine.store.models import CacheEntry, database_proxy


def best_us(fn: Callable[[], object], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        for _ in range(n):
            fn()
        best = min(best, time.thread_time() - start)
    return best / n * 1e6


def measure(store: Store, n: int, repeats: int) -> list[tuple[str, float, float | None]]:
    db = store.db
    cache.put(
        "k",
        provider="p",
        model="m",
        text="t",
        code="c",
        tokens_in=1,
        tokens_out=1,
        cost_micros=1,
        ttl_s=3600,
        max_entries=10,
    )

    def atomic_proxy() -> None:
        with database_proxy.atomic():
            pass

    def atomic_direct() -> None:
        with db.atomic():
            pass

    query = CacheEntry.select(CacheEntry.hits).where(CacheEntry.key == "k")

    return [
        (
            "raw SELECT 1 (sql.execute)",
            best_us(lambda: sql.execute("SELECT 1"), n, repeats),
            best_us(lambda: sql.execute("SELECT 1", db=db), n, repeats),
        ),
        ("empty transaction (atomic)", best_us(atomic_proxy, n, repeats), best_us(atomic_direct, n, repeats)),
        (
            "ORM select scalar (CacheEntry)",
            best_us(query.scalar, n, repeats),
            best_us(lambda: query.scalar(db), n, repeats),
        ),
        ("cache.peek (hit path)", best_us(lambda: cache.peek("k"), n, repeats), None),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print("Templar store binding: per-query cost of the models' proxy")
    print(f"  load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="templar-bench-binding-") as tmp:
        store = Store.open(sqlite_url(Path(tmp) / "b.db"))
        try:
            results = store.call(measure, store, args.n, args.repeats)
        finally:
            store.close()
    print(f"  {'operation':32} {'proxy':>9} {'direct':>9} {'binding':>9}  (us per op)")
    for name, proxy, direct in results:
        if direct is None:
            print(f"  {name:32} {proxy:9.2f} {'':>9} {'':>9}")
        else:
            print(f"  {name:32} {proxy:9.2f} {direct:9.2f} {proxy - direct:+9.2f}")
    print(f"  load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
