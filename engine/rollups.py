"""Per-day ledger aggregates kept by the database itself (issue 14, migration 0009).

``ledger_rollup`` holds, per day and per dimension value (``all``, ``project``, ``agent``,
``provider``, ``model``), and per (source, outcome, error class, estimated), the row count and
the sums of tokens, cost and savings. ``ledger_latency`` holds the latencies of successful paid
attempts as a histogram per day and dimension value (exact below 100 ms, two significant digits
above: :func:`bucket`).

Triggers on ``ledger_entry`` keep both current: an INSERT adds the row; an UPDATE (a settlement
turning a pending row into its outcome, a reconciliation) takes the old row out and puts the new
one in. They run inside the writer's own transaction, so settling a call and its aggregates
commit together or not at all, whoever writes the ledger. There is no DELETE trigger: pruning raw
rows (``templar store prune``) keeps the aggregates. The migration backfills both tables from the
rows already there (:func:`backfill`). All-time totals per template, for the false-hit table, are
kept the same way in ``ledger_template`` (``engine.template_totals``, migration 0014).
"""

from __future__ import annotations

from typing import Any

DIMS = ("all", "project", "agent", "provider", "model")
PAID = ("llm", "review", "suggest", "repair", "route")  # route: the paraphrase router
KEY = ("day", "dim", "value", "source", "outcome", "error_class", "estimated")
SUMS = ("rows", "tokens_in", "tokens_out", "cost_micros", "saved_micros")
LAT_KEY = ("day", "dim", "value", "source", "bucket")


def bucket(latency_ms: int) -> int:
    """The histogram bucket of a latency: its lower bound (exact below 100 ms, else two
    significant digits). Mirrors :func:`bucket_sql`."""
    step = 1
    while latency_ms >= 100 * step:
        step *= 10
    return latency_ms // step * step


def bucket_sql(col: str) -> str:
    """:func:`bucket` in SQL (integer division on integers: SQLite and PostgreSQL)."""
    return (
        f"CASE WHEN {col} < 100 THEN {col} WHEN {col} < 1000 THEN ({col} / 10) * 10 "
        f"WHEN {col} < 10000 THEN ({col} / 100) * 100 WHEN {col} < 100000 THEN ({col} / 1000) * 1000 "
        f"WHEN {col} < 1000000 THEN ({col} / 10000) * 10000 ELSE ({col} / 100000) * 100000 END"
    )


def _value(row: str, dim: str) -> str:
    return "''" if dim == "all" else f"COALESCE({row}.{dim}, '')"


def _apply(row: str, sign: int) -> list[str]:
    """Statements adding (``sign`` 1) or removing (-1) the row named ``row`` (NEW or OLD)."""
    s = "" if sign > 0 else "-"
    out = []
    for dim in DIMS:
        out.append(
            f"INSERT INTO ledger_rollup ({', '.join(KEY + SUMS)}) SELECT {row}.day, '{dim}', {_value(row, dim)}, "
            f"{row}.source, {row}.outcome, COALESCE({row}.error_class, ''), "
            f"CASE WHEN {row}.estimated THEN 1 ELSE 0 END, {s}1, {s}{row}.tokens_in, {s}{row}.tokens_out, "
            f"{s}{row}.cost_micros, {s}{row}.saved_micros WHERE 1 = 1 "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
            + ", ".join(f"{c} = ledger_rollup.{c} + excluded.{c}" for c in SUMS)
        )
        paid = ", ".join(f"'{p}'" for p in PAID)
        out.append(
            f"INSERT INTO ledger_latency ({', '.join(LAT_KEY)}, n) SELECT {row}.day, '{dim}', {_value(row, dim)}, "
            f"{row}.source, {bucket_sql(f'{row}.latency_ms')}, {s}1 "
            f"WHERE {row}.source IN ({paid}) AND {row}.outcome = 'ok' "
            f"ON CONFLICT ({', '.join(LAT_KEY)}) DO UPDATE SET n = ledger_latency.n + excluded.n"
        )
    return out


def trigger_sql(postgres: bool) -> list[str]:
    """Statements creating the triggers (idempotent: existing ones are replaced)."""
    if not postgres:
        return [
            "DROP TRIGGER IF EXISTS ledger_rollup_insert",
            "DROP TRIGGER IF EXISTS ledger_rollup_update",
            "CREATE TRIGGER ledger_rollup_insert AFTER INSERT ON ledger_entry BEGIN "
            + "; ".join(_apply("NEW", 1))
            + "; END",
            "CREATE TRIGGER ledger_rollup_update AFTER UPDATE ON ledger_entry BEGIN "
            + "; ".join(_apply("OLD", -1) + _apply("NEW", 1))
            + "; END",
        ]
    body = (
        "BEGIN IF TG_OP = 'UPDATE' THEN "
        + "; ".join(_apply("OLD", -1))
        + "; END IF; "
        + "; ".join(_apply("NEW", 1))
        + "; RETURN NULL; END"
    )
    return [
        f"CREATE OR REPLACE FUNCTION ledger_rollup_fn() RETURNS trigger AS $$ {body} $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS ledger_rollup_trigger ON ledger_entry",
        (
            "CREATE TRIGGER ledger_rollup_trigger AFTER INSERT OR UPDATE ON ledger_entry "
            "FOR EACH ROW EXECUTE FUNCTION ledger_rollup_fn()"
        ),
    ]


def drop_sql(postgres: bool) -> list[str]:
    if postgres:
        return [
            "DROP TRIGGER IF EXISTS ledger_rollup_trigger ON ledger_entry",
            "DROP FUNCTION IF EXISTS ledger_rollup_fn()",
        ]
    return ["DROP TRIGGER IF EXISTS ledger_rollup_insert", "DROP TRIGGER IF EXISTS ledger_rollup_update"]


def backfill_sql() -> list[str]:
    """Statements rebuilding both tables from the raw rows (the migration runs them once)."""
    out = ["DELETE FROM ledger_rollup", "DELETE FROM ledger_latency"]
    paid = ", ".join(f"'{p}'" for p in PAID)
    for dim in DIMS:
        value = "''" if dim == "all" else f"COALESCE({dim}, '')"
        by = "" if dim == "all" else f"{value}, "  # PostgreSQL refuses GROUP BY a constant
        out.append(
            f"INSERT INTO ledger_rollup ({', '.join(KEY + SUMS)}) SELECT day, '{dim}', {value}, source, outcome, "
            "COALESCE(error_class, ''), CASE WHEN estimated THEN 1 ELSE 0 END, COUNT(*), SUM(tokens_in), "
            "SUM(tokens_out), SUM(cost_micros), SUM(saved_micros) FROM ledger_entry "
            f"GROUP BY day, {by}source, outcome, COALESCE(error_class, ''), CASE WHEN estimated THEN 1 ELSE 0 END"
        )
        out.append(
            f"INSERT INTO ledger_latency ({', '.join(LAT_KEY)}, n) SELECT day, '{dim}', {value}, source, "
            f"{bucket_sql('latency_ms')}, COUNT(*) FROM ledger_entry WHERE source IN ({paid}) AND outcome = 'ok' "
            f"GROUP BY day, {by}source, {bucket_sql('latency_ms')}"
        )
    return out


def install(db: Any, postgres: bool) -> None:
    """Create the triggers and backfill (one transaction in the migration)."""
    for statement in backfill_sql() + trigger_sql(postgres):
        db.execute_sql(statement)


def prune(before: str, dry_run: bool = False) -> int:
    """Delete raw ledger rows of days before ``before`` (``YYYY-MM-DD``), keeping the aggregates
    (no DELETE trigger). Rows still ``pending`` (a paid call in flight, a reservation pointing at
    them) are kept. Returns how many rows were (or, with ``dry_run``, would be) deleted. Runs on
    the database thread, in one write transaction."""
    from engine.store.db import write_transaction
    from engine.store.models import LedgerEntry

    where = (LedgerEntry.day < before) & (LedgerEntry.outcome != "pending")
    if dry_run:
        return int(LedgerEntry.select().where(where).count())
    with write_transaction(LedgerEntry._meta.database):
        return int(LedgerEntry.delete().where(where).execute())
