"""Ledger rollups on PostgreSQL: the trigger (plpgsql) and the aggregate queries give the raw
figures, as on SQLite (tests/engine/test_rollups.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from engine.stats import GROUPS, compute_stats, compute_stats_raw
from engine.store.db import Store, write_transaction
from engine.store.models import LedgerEntry
from tests.engine.test_rollups import NOW, _edge_rows, _expected

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import growth_data as G


def _insert(rows: list[tuple[Any, ...]]) -> None:
    fields = [
        LedgerEntry.ts,
        LedgerEntry.day,
        LedgerEntry.request_id,
        LedgerEntry.project,
        LedgerEntry.agent,
        LedgerEntry.source,
        LedgerEntry.provider,
        LedgerEntry.model,
        LedgerEntry.attempt,
        LedgerEntry.tokens_in,
        LedgerEntry.tokens_out,
        LedgerEntry.cost_micros,
        LedgerEntry.saved_micros,
        LedgerEntry.latency_ms,
        LedgerEntry.outcome,
        LedgerEntry.error_class,
        LedgerEntry.estimated,
        LedgerEntry.reservation_id,
        LedgerEntry.owner,
    ]
    with write_transaction(LedgerEntry._meta.database):
        for i in range(0, len(rows), 500):
            LedgerEntry.insert_many(rows[i : i + 500], fields=fields).execute()


def test_rollups_on_postgresql(pg_db: Any) -> None:
    store = Store.open(pg_db.url)
    try:
        store.call(_insert, G.ledger_rows(1500, 4, NOW) + _edge_rows(NOW))
        for since in (None, NOW - 30 * 3600):
            for by in (None, *GROUPS):
                got = store.call(compute_stats, since, by)
                want = store.call(compute_stats_raw, since, by)
                assert got["total"] == _expected(want["total"]), (by, since)
                if by:
                    assert [g[by] for g in got["groups"]] == [g[by] for g in want["groups"]]
    finally:
        store.close()


def test_template_totals_on_postgresql(pg_db: Any) -> None:
    """Migration 0014's plpgsql trigger: inserts and an update keep the per-template totals equal
    to the raw rows, and the false-hit table (read from them) equals the raw one."""
    from tests.engine.test_rollups import _false_hits
    from tests.engine.test_template_totals import _raw, _table

    store = Store.open(pg_db.url)
    try:
        store.call(_insert, G.ledger_rows(1500, 4, NOW) + _edge_rows(NOW))

        def settle_one() -> None:
            row = LedgerEntry.select().where(LedgerEntry.source == "learned", LedgerEntry.outcome == "ok").first()
            with write_transaction(LedgerEntry._meta.database):
                LedgerEntry.update(outcome="error", source="builtin").where(LedgerEntry.id == row.id).execute()

        store.call(settle_one)
        table, raw = store.call(_table), store.call(_raw)
        assert len(raw) > 100 and table == raw
        assert _false_hits(store.call(compute_stats)) == _false_hits(store.call(compute_stats_raw))
    finally:
        store.close()
