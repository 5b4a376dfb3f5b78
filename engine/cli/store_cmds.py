"""``templar store prune``: delete raw ledger rows before a date; the per-day aggregates that
``stats`` and the budget screen read are kept (``engine.rollups``)."""

from __future__ import annotations

import argparse

from engine.api.store import prune_day
from engine.cli.aio import run_sync
from engine.cli.commands import open_engine
from engine.cli.output import print_json

__all__ = ["cmd_prune", "prune_day"]


def cmd_prune(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        done = run_sync(engine.prune_ledger(args.before, dry_run=bool(args.dry_run)))
    finally:
        engine.close()
    if args.json:
        print_json(
            {
                "url": done.url,
                "before": done.before,
                "rows": done.rows,
                "dry_run": done.dry_run,
                "aggregates_kept": True,
            }
        )
    elif done.dry_run:
        print(
            f"would delete {done.rows:,} ledger rows dated before {done.before} (dry run: nothing deleted); "
            "stats and budgets read per-day aggregates, which are kept"
        )
    else:
        print(
            f"deleted {done.rows:,} ledger rows dated before {done.before}; per-day aggregates kept, so stats "
            "and budgets are unchanged (only --since windows that start inside a pruned day lose that day's part)"
        )
    return 0
