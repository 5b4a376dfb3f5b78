"""Cooldown is keyed by endpoint and credential: provider_health says which record is which.

``key`` stays the primary key (``model@api_base`` for an endpoint, ``model@api_base#<fp>`` for
one credential at it; the fingerprint is a salted hash, never the key). Rows written before this
migration were endpoint records: ``endpoint`` is filled from ``key``.
"""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    migrator.migrate(
        migrator.add_column("provider_health", "endpoint", CharField(max_length=400, default="")),
        migrator.add_column("provider_health", "credential", CharField(max_length=64, default="")),
    )
    db.execute_sql("UPDATE provider_health SET endpoint = key WHERE endpoint = ''")


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(
        migrator.drop_column("provider_health", "credential"),
        migrator.drop_column("provider_health", "endpoint"),
    )
