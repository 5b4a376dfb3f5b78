"""Template aliases (issue 13 item 3): another wording whose paid answer was, byte for byte, what
an existing template renders. The alias pattern serves that template; ``fixed`` holds the JSON
bindings the wording implies (a wording with no name still means ``is_prime``)."""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class TemplateAlias(Model):
        template = IntegerField(index=True)
        pattern = TextField()
        fixed = TextField(default="{}")
        status = CharField(max_length=12, default="active")
        hits = IntegerField(default=0)
        suggestion = IntegerField(null=True)
        created = DoubleField()

        class Meta:
            database = db
            table_name = "template_alias"

    db.create_tables([TemplateAlias])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(migrator.drop_table("template_alias"))
