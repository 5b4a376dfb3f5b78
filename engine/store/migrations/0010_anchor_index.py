"""The persisted match index of learned templates (issue 14): anchor keys per pattern, word
frequencies, and a meta row saying which template_version the index reflects; and validation
reports remembered by code hash (``engine.validation_memo``).

Derived data only: the tables start empty and the first learned lookup fills them from the
template tables (``engine.learning.anchors.sync``), then keeps them current incrementally.
"""

from typing import Any

from peewee import *


def up(migrator: Any, db: Any) -> None:
    class TemplateAnchor(Model):
        key = CharField(max_length=255, index=True)
        template = IntegerField(index=True)
        version = IntegerField()
        groups = TextField()

        class Meta:
            database = db
            table_name = "template_anchor"

    class AnchorWord(Model):
        word = CharField(max_length=255, primary_key=True)
        df = IntegerField(default=0)

        class Meta:
            database = db
            table_name = "anchor_word"

    class IndexMeta(Model):
        name = CharField(max_length=32, primary_key=True)
        value = TextField(default="")

        class Meta:
            database = db
            table_name = "index_meta"

    class ValidationMemo(Model):
        key = CharField(max_length=64, primary_key=True)
        report = TextField()
        created = DoubleField(index=True)

        class Meta:
            database = db
            table_name = "validation_memo"

    db.create_tables([TemplateAnchor, AnchorWord, IndexMeta, ValidationMemo])


def down(migrator: Any, db: Any) -> None:
    migrator.migrate(
        migrator.drop_table("validation_memo"),
        migrator.drop_table("index_meta"),
        migrator.drop_table("anchor_word"),
        migrator.drop_table("template_anchor"),
    )
