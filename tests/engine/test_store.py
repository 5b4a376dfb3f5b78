"""The store: migrations from empty and from the previous version, pragmas, no lost rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from playhouse.schema_diff import diff_models

from engine.errors import StoreError
from engine.store.db import MIGRATIONS_DIR, Store, redact_url, sqlite_url
from engine.store.models import ALL_MODELS, LedgerEntry

MIGRATIONS = tuple(sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")))


def test_fresh_database_is_migrated_to_the_models(tmp_path: Path) -> None:
    store = Store.open(sqlite_url(tmp_path / "t.db"))
    try:
        status = store.schema_status()
        assert status.applied == MIGRATIONS and len(MIGRATIONS) >= 3
        assert status.pending == ()
        assert status.version == status.latest == len(MIGRATIONS)
        assert not store.call(diff_models, store.db, list(ALL_MODELS)), "models and migrations disagree"
        assert store.call(lambda: store.db.execute_sql("PRAGMA journal_mode").fetchone()[0]) == "wal"
        assert store.call(lambda: store.db.execute_sql("PRAGMA busy_timeout").fetchone()[0]) >= 5000
        assert store.integrity_check() == "ok"
    finally:
        store.close()


def test_database_at_previous_version_is_upgraded_without_losing_rows(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    old = Store.open(url, migrate=False)
    previous = MIGRATIONS[-2]
    assert old.migrate(previous) == list(MIGRATIONS[:-1])
    assert old.schema_status().pending == MIGRATIONS[-1:]
    old.call(LedgerEntry.create, ts=1.0, day="1970-01-01", request_id="r1", source="llm", outcome="ok", cost_micros=42)
    assert old.call(diff_models, old.db, list(ALL_MODELS)), "the previous version lacks the last migration"
    old.close()

    store = Store.open(url)
    try:
        assert store.schema_status().applied == MIGRATIONS
        assert store.call(lambda: LedgerEntry.get(LedgerEntry.request_id == "r1").cost_micros) == 42
        assert not store.call(diff_models, store.db, list(ALL_MODELS))
        assert store.migrate() == []  # idempotent
    finally:
        store.close()


async def test_work_runs_off_the_event_loop_thread(tmp_path: Path) -> None:
    import threading

    store = Store.open(sqlite_url(tmp_path / "t.db"))
    try:
        loop_thread = threading.get_ident()
        db_thread = await store.run(threading.get_ident)
        assert db_thread != loop_thread
    finally:
        store.close()


def test_bad_urls_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported database URL"):
        Store.open("mysql://x/y")
    with pytest.raises(StoreError, match="bad SQLite URL"):
        Store.open("sqlite://")
    assert redact_url("postgresql://bob:hunter2@db/x") == "postgresql://bob:***@db/x"
