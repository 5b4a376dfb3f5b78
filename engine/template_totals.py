"""All-time ledger totals per template (issue 14, round 4; migration 0014).

``templar stats`` prints a false-hit table: per template name (a template answer's ``model``
column), its answers served and the tier that served it. Summing the per-day ``model``
aggregates for it reads a row per template per day (215k rows at 1M ledger rows). This table
holds one row per (template name, source), for the sources ``learned`` and ``builtin``:

- ``ok``: rows with outcome ``ok``; ``rows``: all rows; ``last_day``: the latest day a row of
  that (name, source) was written, the tie-break between two tiers serving one name.

Triggers on ``ledger_entry`` keep it current, like the per-day aggregates (``engine.rollups``):
an INSERT adds the row, an UPDATE takes the old row out and puts the new one in, inside the
writer's transaction. ``last_day`` only grows (as the latest day of the ``model`` aggregates
does: an aggregate row whose rows went back to 0 still has its day). No DELETE trigger: pruning
raw rows (``templar store prune``) keeps the totals. The migration fills the table from the
``model`` aggregates (:func:`backfill_sql`), so rows pruned before it are counted.
"""

from __future__ import annotations

from typing import Any

SOURCES = ("learned", "builtin")
_IN = ", ".join(f"'{s}'" for s in SOURCES)


def _apply(row: str, sign: int) -> str:
    """The statement adding (``sign`` 1) or removing (-1) the row ``row`` (NEW or OLD)."""
    s = "" if sign > 0 else "-"
    return (
        f"INSERT INTO ledger_template (template, source, ok, rows, last_day) SELECT COALESCE({row}.model, ''), "
        f"{row}.source, {s}(CASE WHEN {row}.outcome = 'ok' THEN 1 ELSE 0 END), {s}1, {row}.day "
        f"WHERE {row}.source IN ({_IN}) "
        "ON CONFLICT (template, source) DO UPDATE SET ok = ledger_template.ok + excluded.ok, "
        "rows = ledger_template.rows + excluded.rows, last_day = CASE WHEN excluded.last_day > "
        "ledger_template.last_day THEN excluded.last_day ELSE ledger_template.last_day END"
    )


def trigger_sql(postgres: bool) -> list[str]:
    """Statements creating the triggers (idempotent). On SQLite, a ``WHEN`` clause keeps them from
    running for rows that are not template answers."""
    if not postgres:
        return [
            *drop_sql(False),
            f"CREATE TRIGGER ledger_template_insert AFTER INSERT ON ledger_entry WHEN NEW.source IN ({_IN}) "
            f"BEGIN {_apply('NEW', 1)}; END",
            "CREATE TRIGGER ledger_template_update AFTER UPDATE ON ledger_entry "
            f"WHEN OLD.source IN ({_IN}) OR NEW.source IN ({_IN}) "
            f"BEGIN {_apply('OLD', -1)}; {_apply('NEW', 1)}; END",
        ]
    body = f"BEGIN IF TG_OP = 'UPDATE' THEN {_apply('OLD', -1)}; END IF; {_apply('NEW', 1)}; RETURN NULL; END"
    return [
        f"CREATE OR REPLACE FUNCTION ledger_template_fn() RETURNS trigger AS $$ {body} $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS ledger_template_trigger ON ledger_entry",
        (
            "CREATE TRIGGER ledger_template_trigger AFTER INSERT OR UPDATE ON ledger_entry "
            "FOR EACH ROW EXECUTE FUNCTION ledger_template_fn()"
        ),
    ]


def drop_sql(postgres: bool) -> list[str]:
    if postgres:
        return [
            "DROP TRIGGER IF EXISTS ledger_template_trigger ON ledger_entry",
            "DROP FUNCTION IF EXISTS ledger_template_fn()",
        ]
    return ["DROP TRIGGER IF EXISTS ledger_template_insert", "DROP TRIGGER IF EXISTS ledger_template_update"]


def backfill_sql() -> list[str]:
    """Statements rebuilding the table from the ``model`` aggregates (which outlive pruned rows)."""
    return [
        "DELETE FROM ledger_template",
        "INSERT INTO ledger_template (template, source, ok, rows, last_day) SELECT value, source, "
        "SUM(CASE WHEN outcome = 'ok' THEN rows ELSE 0 END), SUM(rows), MAX(day) FROM ledger_rollup "
        f"WHERE dim = 'model' AND source IN ({_IN}) GROUP BY value, source",
    ]


def install(db: Any, postgres: bool) -> None:
    """Backfill and create the triggers (the migration runs this in one transaction)."""
    for statement in backfill_sql() + trigger_sql(postgres):
        db.execute_sql(statement)


def read_sql() -> str:
    """(template, source, last day, ok rows, rows) of every pair with rows."""
    return "SELECT template, source, last_day, ok, rows FROM ledger_template WHERE rows <> 0"
