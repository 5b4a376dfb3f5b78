"""Review verdicts on record, per (task, exact code), for every tier (critical work)."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class ReviewVerdict(Model):
        key = CharField(index=True, max_length=64)
        created = DoubleField()
        subject_kind = CharField(max_length=16)
        subject = CharField(max_length=200, default="")
        subject_version = IntegerField(default=0)
        author = CharField(max_length=64, default="")
        verdict = CharField(max_length=12)
        reviewer = CharField(max_length=64)
        model = CharField(max_length=128, default="")
        issues = TextField(default="[]")
        cost_micros = BigIntegerField(default=0)
        request_id = CharField(max_length=36, default="")

        class Meta:
            database = db
            table_name = "review_verdict"

    db.create_tables([ReviewVerdict])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("review_verdict"))
