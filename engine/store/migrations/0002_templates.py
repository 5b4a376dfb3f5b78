"""Learned templates, their versions, and parameterization suggestions (generated from a schema diff)."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class Template(Model):
        name = CharField(max_length=128)
        language = CharField(max_length=32, default="python")
        pattern = TextField()
        body = TextField()
        params = TextField()
        status = CharField(index=True, max_length=12)
        version = IntegerField(default=1)
        uses = IntegerField(default=0)
        failures = IntegerField(default=0)
        saved_micros = BigIntegerField(default=0)
        quality = IntegerField(default=0)
        counterfactual_micros = BigIntegerField(default=0)
        created = DoubleField()
        updated = DoubleField()
        retired_reason = TextField(null=True)

        class Meta:
            database = db
            table_name = "template"

    db.create_tables([Template])

    class Suggestion(Model):
        created = DoubleField()
        status = CharField(index=True, max_length=12)
        project = CharField(max_length=64, default="")
        agent = CharField(max_length=64, default="")
        task = TextField()
        code = TextField()
        pattern = TextField()
        params = TextField()
        confidence = DoubleField(default=0.0)
        reason = TextField(default="")
        provider = CharField(max_length=64, default="")
        model = CharField(max_length=128, default="")
        cost_micros = BigIntegerField(default=0)
        request_id = CharField(max_length=36, default="")
        template = ForeignKeyField(Template, null=True, on_delete="SET NULL")

        class Meta:
            database = db
            table_name = "suggestion"

    db.create_tables([Suggestion])

    class TemplateVersion(Model):
        template = ForeignKeyField(Template, on_delete="CASCADE")
        version = IntegerField()
        pattern = TextField()
        body = TextField()
        params = TextField()
        quality = IntegerField(default=0)
        created = DoubleField()
        reason = TextField(default="")

        class Meta:
            database = db
            table_name = "template_version"

    db.create_tables([TemplateVersion])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("template_version"))
    migrator.migrate(migrator.drop_table("suggestion"))
    migrator.migrate(migrator.drop_table("template"))
