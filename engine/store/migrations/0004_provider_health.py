"""Provider cooldown shared by every process: consecutive failures per endpoint."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class ProviderHealth(Model):
        key = CharField(primary_key=True, max_length=400)
        failures = IntegerField(default=0)
        until = DoubleField(default=0.0)

        class Meta:
            database = db
            table_name = "provider_health"

    db.create_tables([ProviderHealth])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("provider_health"))
