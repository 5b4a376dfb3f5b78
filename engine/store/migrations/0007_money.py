"""Money: usage anomalies (a provider's usage claim that was not believed: negative, zero for
an answer, or above the reservation's worst case, with the claim and the charge), and the
project limits the allocator wrote (a limit that differs from its record was set by a person)."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class Anomaly(Model):
        id = AutoField()
        ts = DoubleField(index=True)
        day = CharField(max_length=10)
        what = CharField(max_length=32)
        request_id = CharField(max_length=36, index=True)
        ledger_id = IntegerField(null=True)
        project = CharField(max_length=64, default="")
        agent = CharField(max_length=64, default="")
        provider = CharField(max_length=64, default="")
        model = CharField(max_length=128, default="")
        claimed_tokens_in = CharField(max_length=64, default="")
        claimed_tokens_out = CharField(max_length=64, default="")
        claimed_micros = CharField(max_length=80, default="")
        charged_micros = BigIntegerField(default=0)
        worst_micros = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = "anomaly"

    class AllocatedLimit(Model):
        project = CharField(primary_key=True, max_length=64)
        limit_micros = BigIntegerField()
        ts = DoubleField()

        class Meta:
            database = db
            table_name = "allocated_limit"

    db.create_tables([Anomaly, AllocatedLimit])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("allocated_limit"))
    migrator.migrate(migrator.drop_table("anomaly"))
