"""Wrong-answer feedback: which template version and bindings answered each request, and the
reports that such an answer was wrong (one per request)."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class TemplateAnswer(Model):
        request_id = CharField(primary_key=True, max_length=36)
        ts = DoubleField()
        source = CharField(max_length=16)
        template = CharField(max_length=128)
        version = IntegerField()
        bindings = TextField()

        class Meta:
            database = db
            table_name = "template_answer"

    db.create_tables([TemplateAnswer])

    class WrongReport(Model):
        ts = DoubleField()
        request_id = CharField(unique=True, max_length=36)
        answered = DoubleField()
        source = CharField(max_length=16)
        template = CharField(max_length=128)
        version = IntegerField()
        bindings_key = CharField(max_length=64)
        bindings = TextField()
        reason = TextField()
        project = CharField(max_length=64, default="")
        agent = CharField(max_length=64, default="")
        reversed_micros = BigIntegerField(default=0)
        retires = BooleanField(default=False)

        class Meta:
            database = db
            table_name = "wrong_report"
            indexes = ((("template", "version"), False),)

    db.create_tables([WrongReport])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("wrong_report"))
    migrator.migrate(migrator.drop_table("template_answer"))
