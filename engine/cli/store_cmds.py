"""``templar store prune``: delete raw ledger rows before a date; the per-day aggregates that
``stats`` and the budget screen read are kept (``engine.rollups``)."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

from engine.cli.output import print_json
from engine.config import load_config
from engine.errors import BadInput
from engine.paths import Paths
from engine.store.db import redact_url


def prune_day(before: str | None, retention_days: int, today: date | None = None) -> str:
    """The first day to keep: ``--before`` (an ISO date), else today minus the retention setting."""
    if before:
        try:
            return date.fromisoformat(before.strip()).isoformat()
        except ValueError:
            raise BadInput(f"--before {before!r}: use a date like 2026-09-01") from None
    if retention_days <= 0:
        raise BadInput("give --before DATE, or set store.ledger_retention_days (0 keeps every row)")
    today = today or datetime.now(UTC).date()
    return (today - timedelta(days=retention_days)).isoformat()


def cmd_prune(args: argparse.Namespace) -> int:
    from engine import rollups
    from engine.store.db import Store, sqlite_url

    paths = Paths.from_env()
    settings = load_config(paths).settings
    before = prune_day(args.before, settings.store.ledger_retention_days)
    url = settings.store.url or sqlite_url(paths.ensure().default_db)
    store = Store.open(url)
    try:
        rows = store.call(rollups.prune, before, args.dry_run)
    finally:
        store.close()
    if args.json:
        print_json({"url": redact_url(url), "before": before, "rows": rows, "dry_run": bool(args.dry_run),
                    "aggregates_kept": True})
    elif args.dry_run:
        print(f"would delete {rows:,} ledger rows dated before {before} (dry run: nothing deleted); "
              "stats and budgets read per-day aggregates, which are kept")
    else:
        print(f"deleted {rows:,} ledger rows dated before {before}; per-day aggregates kept, so stats and "
              "budgets are unchanged (only --since windows that start inside a pruned day lose that day's part)")
    return 0

