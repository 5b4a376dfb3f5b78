"""Per-day ledger aggregates (issue 14): ``ledger_rollup`` and ``ledger_latency``, backfilled from
the rows already in ``ledger_entry`` and kept current by triggers (``engine.rollups``), so
``stats`` and the budget screen read aggregates and raw rows can be pruned.
"""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    from engine import rollups

    class LedgerRollup(Model):
        day = CharField(max_length=10)
        dim = CharField(max_length=8)
        value = CharField(max_length=130, default="")
        source = CharField(max_length=16)
        outcome = CharField(max_length=16)
        error_class = CharField(max_length=32, default="")
        estimated = IntegerField(default=0)
        rows = BigIntegerField(default=0)
        tokens_in = BigIntegerField(default=0)
        tokens_out = BigIntegerField(default=0)
        cost_micros = BigIntegerField(default=0)
        saved_micros = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = "ledger_rollup"
            indexes = (
                (("day", "dim", "value", "source", "outcome", "error_class", "estimated"), True),
                (("dim", "day"), False),
            )

    class LedgerLatency(Model):
        day = CharField(max_length=10)
        dim = CharField(max_length=8)
        value = CharField(max_length=130, default="")
        source = CharField(max_length=16)
        bucket = IntegerField()
        n = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = "ledger_latency"
            indexes = ((("day", "dim", "value", "source", "bucket"), True), (("dim", "day"), False))

    db.create_tables([LedgerRollup, LedgerLatency])
    rollups.install(db, not isinstance(db, SqliteDatabase))


def down(migrator: Any, db: Any) -> None:
    from engine import rollups

    for statement in rollups.drop_sql(not isinstance(db, SqliteDatabase)):
        db.execute_sql(statement)
    migrator.migrate(migrator.drop_table("ledger_latency"), migrator.drop_table("ledger_rollup"))
