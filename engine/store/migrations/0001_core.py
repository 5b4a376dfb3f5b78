"""Ledger, budgets, reservations, response cache and alert events (generated from a schema diff)."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class AlertEvent(Model):
        ts = DoubleField()
        scope = CharField(max_length=8)
        key = CharField(max_length=130)
        period = CharField(max_length=10)
        level = IntegerField()
        percent = DoubleField()

        class Meta:
            database = db
            table_name = "alert_event"
            indexes = ((("scope", "key", "period", "level"), True),)

    db.create_tables([AlertEvent])

    class BudgetCounter(Model):
        scope = CharField(max_length=8)
        key = CharField(max_length=130)
        period = CharField(max_length=10)
        limit_micros = BigIntegerField(null=True)
        spent_micros = BigIntegerField(default=0)
        reserved_micros = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = "budget_counter"
            indexes = ((("scope", "key", "period"), True),)

    db.create_tables([BudgetCounter])

    class CacheEntry(Model):
        key = CharField(unique=True, max_length=64)
        created = DoubleField()
        expires = DoubleField(index=True)
        last_used = DoubleField(index=True)
        hits = IntegerField(default=0)
        provider = CharField(max_length=64)
        model = CharField(max_length=128)
        text = TextField()
        code = TextField()
        tokens_in = IntegerField(default=0)
        tokens_out = IntegerField(default=0)
        cost_micros = BigIntegerField(default=0)

        class Meta:
            database = db
            table_name = "cache_entry"

    db.create_tables([CacheEntry])

    class LedgerEntry(Model):
        ts = DoubleField(index=True)
        day = CharField(max_length=10)
        request_id = CharField(index=True, max_length=36)
        project = CharField(max_length=64, default="")
        agent = CharField(max_length=64, default="")
        source = CharField(max_length=16)
        provider = CharField(max_length=64, default="")
        model = CharField(max_length=128, default="")
        attempt = IntegerField(default=0)
        tokens_in = IntegerField(default=0)
        tokens_out = IntegerField(default=0)
        cost_micros = BigIntegerField(default=0)
        saved_micros = BigIntegerField(default=0)
        latency_ms = IntegerField(default=0)
        outcome = CharField(max_length=16)
        error_class = CharField(null=True, max_length=32)
        estimated = BooleanField(default=False)
        reservation_id = CharField(null=True, max_length=36)
        owner = CharField(max_length=128, default="")

        class Meta:
            database = db
            table_name = "ledger_entry"

    db.create_tables([LedgerEntry])

    class Reservation(Model):
        id = CharField(primary_key=True, max_length=36)
        owner = CharField(index=True, max_length=128)
        host = CharField(max_length=64)
        pid = IntegerField()
        created = DoubleField()
        amount_micros = BigIntegerField()
        counter_ids = CharField(max_length=64)
        ledger_id = IntegerField(null=True)
        state = CharField(index=True, max_length=12)

        class Meta:
            database = db
            table_name = "reservation"

    db.create_tables([Reservation])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("reservation"))
    migrator.migrate(migrator.drop_table("ledger_entry"))
    migrator.migrate(migrator.drop_table("cache_entry"))
    migrator.migrate(migrator.drop_table("budget_counter"))
    migrator.migrate(migrator.drop_table("alert_event"))
