"""The persisted anchor index on PostgreSQL: sync (its own SQL) and lookups give the full scan's
matches, as on SQLite (tests/engine/test_anchor_index.py)."""

from __future__ import annotations

from typing import Any

from engine.learning.library import TemplateLibrary
from engine.store.db import Store
from tests.engine.test_anchor_index import (
    _same,
    check_long_words,
    library_specs,
    tasks_for,
)


def test_anchor_index_on_postgresql(pg_db: Any) -> None:
    store = Store.open(pg_db.url)
    specs = library_specs(150, seed=21)
    tasks = tasks_for(specs[:60], seed=22)

    def run() -> None:
        lib = TemplateLibrary()
        ids = [lib.add_template(s).id for s in specs[:100]]
        full = lib.index()
        for task in tasks:
            _same(full, lib, task)
        writer = TemplateLibrary()
        for tid in ids[:20]:
            writer.retire(tid, "test")
        for s in specs[100:]:
            writer.add_template(s)
        full = writer.index()
        for task in tasks + tasks_for(specs[100:], seed=23)[:80]:
            _same(full, lib, task)

    try:
        store.call(run)
    finally:
        store.close()


def test_long_words_on_postgresql(pg_db: Any) -> None:
    store = Store.open(pg_db.url)
    try:
        store.call(check_long_words, TemplateLibrary())  # varchar(255) is enforced here
    finally:
        store.close()
