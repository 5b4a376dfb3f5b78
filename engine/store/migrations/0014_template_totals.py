"""All-time ledger totals per template (issue 14, round 4): ``ledger_template``, filled from the
``model`` aggregates and kept by triggers on ``ledger_entry`` (``engine.template_totals``), so
the false-hit table of ``templar stats`` reads a row per template instead of a row per template
per day (5k rows instead of 215k at 1M ledger rows).
"""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    from engine import template_totals

    class LedgerTemplate(Model):
        template = CharField(max_length=130)
        source = CharField(max_length=16)
        ok = BigIntegerField(default=0)
        rows = BigIntegerField(default=0)
        last_day = CharField(max_length=10)

        class Meta:
            database = db
            table_name = "ledger_template"
            indexes = ((("template", "source"), True),)

    db.create_tables([LedgerTemplate])
    template_totals.install(db, not isinstance(db, SqliteDatabase))


def down(migrator: Any, db: Any) -> None:
    from engine import template_totals

    for statement in template_totals.drop_sql(not isinstance(db, SqliteDatabase)):
        db.execute_sql(statement)
    migrator.migrate(migrator.drop_table("ledger_template"))
