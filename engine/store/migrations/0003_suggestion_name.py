"""Suggestions keep the template name the model proposed."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.add_column("suggestion", "name", CharField(max_length=64, default="")))


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_column("suggestion", "name"))
