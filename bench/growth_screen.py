"""The app's budget screen reads at 1M ledger rows (issue 14), part by part, in process.

    .venv/bin/python bench/growth_screen.py                     # builds a 1M-row store, then times
    .venv/bin/python bench/growth_screen.py --home /tmp/x       # reuse (or build once into) /tmp/x

Prints CPU s (``process_time``), min / median / max of ``--repeat`` runs, for what
``tui/screens/budget.py`` ``load_budget`` reads (status, three 30-day stats without the false-hit
table, alerts, anomalies), each part alone, and ``compute_stats`` with everything (what
``templar stats --json`` reads), on the store and on an empty one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import growth as GB  # noqa: E402  (isolates the environment first)

from engine.paths import Paths  # noqa: E402
from engine.service import Engine  # noqa: E402
from engine.stats import compute_stats  # noqa: E402

DAYS = 30


def build(paths: Paths, rows: int) -> None:
    engine = Engine.from_settings(paths)
    try:
        from engine import rollups, template_totals

        postgres = not engine.store.url.startswith("sqlite")
        for statement in rollups.drop_sql(postgres) + template_totals.drop_sql(postgres):
            engine.store.call(engine.store.db.execute_sql, statement)
        for start in range(0, rows, 200_000):
            engine.store.call(
                GB.G.bulk_ledger, engine.store.db, GB._ledger_slice(start, min(rows, start + 200_000), rows)
            )
        engine.store.call(GB._backfill, engine.store.db, postgres)
    finally:
        engine.close()


def timed(repeat: int, fn: Callable[[], Awaitable[Any]]) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.process_time()
        asyncio.run(fn())
        out.append(time.process_time() - t0)
    return out


def figures(paths: Paths, repeat: int, label: str) -> None:
    engine = Engine.from_settings(paths)
    since = GB.NOW - DAYS * 86400
    try:

        async def screen() -> None:
            await engine.budget_status("default", "default")
            for by in ("day", "provider", "model"):
                await engine.stats(since, by, false_hits=False, fold_templates=by == "model")
            await engine.budget_alerts(observe=False)

        def stats_by(by: str | None, fh: bool, fold: bool = False) -> Callable[[], Awaitable[Any]]:
            return lambda: engine.stats(since, by, false_hits=fh, fold_templates=fold)

        async def before() -> None:  # what load_budget read before (false hits, a group per template)
            await engine.budget_status("default", "default")
            for by in ("day", "provider", "model"):
                await engine.stats(since, by)
            await engine.budget_alerts(observe=False)

        async def status() -> None:
            await engine.budget_status("default", "default")

        async def alerts() -> None:
            await engine.budget_alerts(observe=False)

        async def all_time() -> None:
            await engine.store.run(compute_stats, None, None)

        timed(1, screen)  # warm: first config load, statement caches
        rows = [
            ("budget screen reads, before", before),
            ("budget screen reads (load_budget)", screen),
            ("  status", status),
            ("  stats 30d by day", stats_by("day", False)),
            ("  stats 30d by provider", stats_by("provider", False)),
            ("  stats 30d by model, folded", stats_by("model", False, True)),
            ("stats 30d by model, a group per template", stats_by("model", False)),
            ("  alerts + anomalies", alerts),
            ("stats 30d by model with false hits", stats_by("model", True)),
            ("compute_stats all time (stats --json)", all_time),
        ]
        for name, fn in rows:
            print(f"  {label:>9} {name:<40} CPU {GB.mmm(timed(repeat, fn))} s")
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--home", default="", help="a TEMPLAR_HOME to build the store into once and reuse")
    args = parser.parse_args()
    print(f"load average at start: {GB.C.load_average()}")
    empty = GB.new_home("empty")
    if args.home:
        os.environ["TEMPLAR_HOME"] = args.home
        paths = Paths.from_env().ensure()
        marker = Path(args.home) / f".built-{args.rows}"
        if not marker.exists():
            build(paths, args.rows)
            marker.write_text("")
    else:
        paths = GB.new_home("screen")
        build(paths, args.rows)
    figures(empty, args.repeat, "empty")
    figures(paths, args.repeat, f"{args.rows}")
    print(f"load average at end: {GB.C.load_average()}")


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main()
