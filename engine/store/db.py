"""Opening the database by URL, migrating it, and running work off the event loop.

``Store`` owns one peewee database. All database work runs on a dedicated worker thread
(one for SQLite, so writes never contend inside a process; a few for PostgreSQL), reached with
``await store.run(fn, ...)``: the event loop — and so the TUI — never blocks on the database.
Each store binds its own worker threads to its own database when they start, and the models
and ``engine.store.sql`` use the database of the thread they run on, so any number of stores
(SQLite and PostgreSQL alike) live in one process without sharing one (see
``engine/store/models.py``).

SQLite runs in WAL mode with a busy timeout; transactions that read-then-write use
``BEGIN IMMEDIATE`` (see ``Store.write``). On PostgreSQL (psycopg 3) ``Store.write`` takes a
transaction-scoped advisory lock instead, so write transactions are serialized across every
process and machine sharing the database, exactly as SQLite's write lock serializes them.
Migrations are peewee's migration runner over the numbered files in ``engine/store/migrations``,
applied under a lock so that two processes starting at once cannot both migrate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlparse

from peewee import Database, PostgresqlDatabase, SqliteDatabase

from engine.errors import BadInput, BudgetRefused, StoreError
from engine.logs import get_logger
from engine.store import pg_driver
from engine.store.liveness import (
    LIVENESS_NS,
    LivenessLock,
    LivenessLost,
    liveness_key,
    owner_verdict,
)
from engine.store.models import (
    ALL_MODELS,
    StoreBoundDatabase,
    bind_thread,
    current_database,
)
from engine.store.sql import execute

T = TypeVar("T")
_log = get_logger("store")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "foreign_keys": 1,
}
_PG_LOCK_ID = 0x7E3A1A5  # advisory lock key for migrations
_PG_WRITE_LOCK_ID = 0x7E3A1A6  # advisory lock key for Store.write() transactions
_PG_LIVENESS_NS = LIVENESS_NS  # per-process liveness locks (engine/store/liveness.py)
PG_CONNECT_TIMEOUT_S = 10  # unless the URL says otherwise (?connect_timeout=N)
RECONNECT_WINDOW_S = 60.0  # how long a store operation keeps retrying across a lost connection


class _PostgresqlDatabase(PostgresqlDatabase):
    """A peewee PostgresqlDatabase that remembers the connections it opened (one per thread),
    so that ``Store.close`` can close all of them, not only the calling thread's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._opened: list[Any] = []
        self._opened_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def _connect(self) -> Any:
        conn = super()._connect()  # type: ignore[misc]  # peewee's private hook, untyped
        with self._opened_lock:
            self._opened = [c for c in self._opened if not c.closed] + [conn]
        return conn

    def close_all(self) -> None:
        with self._opened_lock:
            conns, self._opened = self._opened, []
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def redact_url(url: str) -> str:
    """The URL with any password removed, safe to print."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return parsed._replace(netloc=netloc).geturl()
    return url


def connect(url: str) -> Database:
    """A peewee database for ``sqlite:///path`` or ``postgresql://user[:pw]@host[:port]/db[?param=value]``.

    PostgreSQL URL parameters are libpq connection parameters (``sslmode``, ``application_name``,
    ``connect_timeout``, ``options`` ...), passed to psycopg 3 as they are.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        raw = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not raw:
            raise StoreError(f"bad SQLite URL {url!r}: use sqlite:///path/to/file.db")
        if raw != ":memory:":
            raw = str(_checked_sqlite_file(Path(raw).expanduser(), url))
        return SqliteDatabase(raw, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if parsed.scheme in ("postgresql", "postgres"):
        pg_driver.arm()
        params: dict[str, Any] = dict(parse_qsl(parsed.query, keep_blank_values=True))
        params.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        return _PostgresqlDatabase(
            unquote((parsed.path or "/").lstrip("/")) or "postgres",
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
            prefer_psycopg3=True,
            **params,
        )
    raise StoreError(f"unsupported database URL scheme {parsed.scheme!r}: use sqlite:/// or postgresql://")


def _checked_sqlite_file(path: Path, url: str) -> Path:
    """The SQLite file of a ``store.url``: an absolute path in a directory that exists.

    A missing directory is never created (a typo would otherwise make directories from the
    filesystem root), and a relative path is refused (it would depend on the working directory)."""
    if not path.is_absolute():
        raise BadInput(
            f"store.url {url!r}: the SQLite path must be absolute (sqlite:////abs/path.db or sqlite:///~/x.db)"
        )
    if not path.parent.is_dir():
        raise BadInput(f"store.url {url!r}: directory {path.parent} does not exist; create it first or fix store.url")
    if path.exists() and not path.is_file():
        raise BadInput(f"store.url {url!r}: {path} is not a regular file")
    return path


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    raw = unquote(url[len("sqlite:///") :])
    return None if raw in ("", ":memory:") else Path(raw).expanduser()


def _unwritable_sqlite(url: str) -> str | None:
    """Why the SQLite file at ``url`` cannot be written (read-only directory, file or disk), or None."""
    path = _sqlite_path(url)
    if path is None or not path.parent.is_dir():
        return None
    if path.exists() and not os.access(path, os.W_OK):
        return f"the database {path} is read-only"
    if not os.access(path.parent, os.W_OK):  # WAL needs its -wal and -shm files beside the database
        return f"the data directory {path.parent} is read-only"
    return None


def _copy_sqlite(source: Path | None, db: Any) -> None:
    """Copy a read-only SQLite file into the in-memory database ``db`` (nothing if it is absent)."""
    import sqlite3

    if source is None or not source.is_file():
        return
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro&immutable=1", uri=True)) as src:
        src.backup(db.connection())


def _refuse_newer(unknown: set[str], url: str) -> None:
    """StoreError when the database records migrations this Templar does not have: its schema
    is from the future, and reading or writing it could lose data."""
    if unknown:
        raise StoreError(
            f"this database was written by a newer Templar (schema {max(unknown)}; this one knows up to "
            f"{max(p.stem for p in MIGRATIONS_DIR.glob('[0-9]*.py'))}): upgrade Templar to use "
            f"{redact_url(url)}; nothing was changed"
        )


def write_transaction(db: Any) -> contextlib.AbstractContextManager[Any]:
    """A transaction that takes the database's write lock up front.

    SQLite: ``BEGIN IMMEDIATE``. PostgreSQL: ``BEGIN`` then ``pg_advisory_xact_lock``, one lock
    per database, released at commit or rollback. Either way at most one write transaction runs
    at a time across all processes and machines, so read-check-write code (reservations,
    settling, reconciliation) sees no other writer between its read and its write. ``db`` is a
    peewee database or the models' ``database_proxy`` (for code that has no ``Store`` at hand:
    the calling store thread's database; StoreError on any other thread).
    """
    if isinstance(db, StoreBoundDatabase):
        db = current_database()
    if isinstance(db, SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return _pg_write(db)


@contextlib.contextmanager
def _pg_write(db: Database) -> Any:
    with db.atomic() as txn:
        execute("SELECT pg_advisory_xact_lock(?)", (_PG_WRITE_LOCK_ID,), db)
        yield txn


@dataclass(frozen=True)
class SchemaStatus:
    backend: str
    server_version: str
    applied: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.applied)

    @property
    def latest(self) -> int:
        return len(self.applied) + len(self.pending)


class Store:
    """The database of one engine: migrated on open, used through a worker thread."""

    def __init__(self, db: Database, url: str) -> None:
        self.db = db
        self.url = url
        self.is_sqlite = isinstance(db, SqliteDatabase)
        workers = 1 if self.is_sqlite else 4
        # every worker thread serves this store alone: bind it to this database for its life
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="templar-db", initializer=bind_thread, initargs=(db,)
        )
        self._closed = False
        self._liveness: LivenessLock | None = None
        self.unrecorded: str | None = None  # why nothing is kept (an in-memory stand-in), else None
        self._liveness_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, unrecorded_ok: bool = False) -> Store:
        """Open (and migrate) the database at ``url``.

        A SQLite file that cannot be written (read-only data directory or file) is bad input,
        unless ``unrecorded_ok``: then the store is an in-memory copy of it (templates and cache
        still answer) whose ``unrecorded`` says why nothing will be kept, and which refuses every
        reservation, so no paid call ever runs without a ledger."""
        unwritable = _unwritable_sqlite(url)
        if unwritable is not None:
            if not unrecorded_ok:
                raise BadInput(f"{unwritable}; this command needs to write there")
            store = cls.open("sqlite:///:memory:", migrate=False)
            store.call(_copy_sqlite, _sqlite_path(url), store.db)
            store.unrecorded = (
                f"{unwritable}: nothing is recorded (no ledger, cache or learning); templates still answer"
            )
            if migrate:
                store.migrate()
            return store
        db = connect(url)
        try:
            db.connect(reuse_if_open=True)
        except Exception as exc:  # noqa: BLE001 - any driver error becomes one clear line
            raise StoreError(f"cannot open database {redact_url(url)}: {exc}".strip()) from None
        store = cls(db, url)
        if not store.is_sqlite:
            db.close()  # that connection only proved the server answers; work runs on the DB threads
        if migrate:
            store.migrate()
        return store

    # -- running work -------------------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the database thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._call, fn, *args, **kwargs))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the database thread from synchronous code and wait for it."""
        future: Future[T] = self._executor.submit(self._call, fn, *args, **kwargs)
        return future.result()

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.is_sqlite:
            if self.db.is_closed():
                self.db.connect(reuse_if_open=True)
            return fn(*args, **kwargs)
        return self._call_pg(fn, *args, **kwargs)

    def _call_pg(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on this thread's connection; when the connection is lost (server restart,
        network), reconnect and run ``fn`` again, with a capped backoff, for RECONNECT_WINDOW_S.

        A transaction that was cut off never committed (the server rolled it back), so running
        it again is safe; settling and releasing are idempotent besides (``state = 'held'``)."""
        deadline = time.monotonic() + RECONNECT_WINDOW_S
        delay = 0.05
        while True:
            try:
                if self.db.is_closed():
                    self.db.connect(reuse_if_open=True)
                elif not self.db.is_connection_usable():
                    self._drop_connection()
                    self.db.connect(reuse_if_open=True)
                return fn(*args, **kwargs)
            except Exception as exc:  # only a lost connection is retried
                if not (isinstance(exc, LivenessLost) or self._connection_lost()):
                    raise
                self._drop_connection()
                if time.monotonic() + delay > deadline:
                    _log.error(
                        "lost the connection to %s and could not reconnect within %.0f s",
                        redact_url(self.url),
                        RECONNECT_WINDOW_S,
                    )
                    raise StoreError(
                        f"lost the connection to {redact_url(self.url)} and could not reconnect within "
                        f"{RECONNECT_WINDOW_S:.0f} s: {str(exc).strip() or type(exc).__name__}"
                    ) from None
                _log.warning(
                    "lost the connection to %s (%s): reconnecting in %.2f s",
                    redact_url(self.url),
                    type(exc).__name__,
                    delay,
                )
                time.sleep(delay)  # the server is restarting: wait, then reconnect and retry
                delay = min(delay * 2, 2.0)

    def _connection_lost(self) -> bool:
        """Whether this thread's connection is gone (or was never made)."""
        if self.db.is_closed():
            return True
        conn = self.db._state.conn  # type: ignore[attr-defined]  # peewee's per-thread state
        return conn is None or bool(getattr(conn, "closed", False)) or bool(getattr(conn, "broken", False))

    def _drop_connection(self) -> None:
        conn = self.db._state.conn  # type: ignore[attr-defined]
        self.db.dispose()  # forget this thread's connection state (and any cut-off transaction)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def write(self) -> contextlib.AbstractContextManager[Any]:
        """A transaction that takes the write lock up front (see ``write_transaction``)."""
        return write_transaction(self.db)

    # -- schema -------------------------------------------------------------------------------

    def _runner(self) -> Any:
        from playhouse.migrations import Runner

        return Runner(self.db, str(MIGRATIONS_DIR), table_name="schema_migration")

    def migrate(self, target: str | None = None) -> list[str]:
        """Apply pending migrations (all, or up to ``target``); returns the names applied."""
        return self.call(self._migrate, target)

    def _up_to_date(self) -> bool:
        """True when every migration file is recorded as applied — checked with one query and a
        directory listing, so a normal start does not load the migration runner at all."""
        files = {p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")}
        try:
            with self.db.atomic():
                rows = execute("SELECT name FROM schema_migration", (), self.db).fetchall()
        except Exception:  # noqa: BLE001 - no history table yet: a fresh database
            return False
        applied = {r[0] for r in rows}
        _refuse_newer(applied - files, self.url)
        return files <= applied

    def _migrate(self, target: str | None) -> list[str]:
        if target is None and self._up_to_date():
            return []
        runner = self._runner()
        try:
            with self._migration_lock():
                status = runner.status()
                _refuse_newer({m.name for m in status if m.applied and not m.path}, self.url)
                pending = [m for m in status if not m.applied and m.path]
                if not pending:
                    return []
                applied: list[str] = runner.up(target)
                return applied
        except StoreError:
            raise
        except Exception as exc:  # any migration failure becomes one clear line
            raise StoreError(f"database migration failed: {exc}") from exc

    @contextlib.contextmanager
    def _migration_lock(self) -> Any:
        if self.is_sqlite:
            with self.db.atomic("IMMEDIATE"):
                yield
        else:
            with self.db.atomic():
                execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK_ID,), self.db)
                yield

    def schema_status(self) -> SchemaStatus:
        return self.call(self._schema_status)

    def _schema_status(self) -> SchemaStatus:
        runner = self._runner()
        status = runner.status()
        if self.is_sqlite:
            version = execute("select sqlite_version()", (), self.db).fetchone()[0]
            backend = "sqlite"
        else:
            version = execute("show server_version", (), self.db).fetchone()[0]
            backend = "postgresql"
        return SchemaStatus(
            backend=backend,
            server_version=str(version),
            applied=tuple(m.name for m in status if m.applied),
            pending=tuple(m.name for m in status if not m.applied and m.path),
        )

    def integrity_check(self) -> str:
        if not self.is_sqlite:
            return "ok"
        return self.call(lambda: str(execute("PRAGMA integrity_check", (), self.db).fetchone()[0]))

    # -- process liveness (PostgreSQL) -------------------------------------------------------

    def hold_liveness(self, owner: str) -> None:
        """PostgreSQL: hold a session advisory lock named after this process, on a connection of
        its own, for as long as the process lives — taken again after a server restart (see
        engine/store/liveness.py). The server drops it when the process dies (its connection
        goes), on any machine, so other processes can tell a crashed owner of reservations from
        a live one. Called before every reservation. A no-op on SQLite (there, host and pid
        decide). An unrecorded store refuses here: no reservation, so no paid call, without a
        ledger."""
        if self.unrecorded:
            raise BudgetRefused(f"paid calls are refused: {self.unrecorded.split(':')[0]}, so no budget can be kept")
        if self.is_sqlite:
            return
        with self._liveness_lock:  # DB threads race here; only one lock object per process
            if self._liveness is None:
                self._liveness = LivenessLock(self._liveness_session, owner)
        self._liveness.ensure()

    def _liveness_session(self) -> Database:
        db = connect(self.url)
        db.connect()
        return db

    def owner_alive(self, owner: str, held_for_s: float = 0.0) -> bool | None:
        """PostgreSQL: whether the process behind ``owner`` still holds its liveness lock; None
        when unknown (SQLite, or a reservation ``held_for_s`` old that predates a server restart
        so recent that its owner may not have taken its lock again yet). Run on a DB thread."""
        if self.is_sqlite:
            return None
        return owner_verdict(self.db, owner, held_for_s)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._liveness is not None:
            with contextlib.suppress(Exception):
                self._liveness.close()

        def _close() -> None:
            if not self.db.is_closed():
                self.db.close()

        with contextlib.suppress(Exception):
            self._executor.submit(_close).result(timeout=5)
        self._executor.shutdown(wait=True)
        if isinstance(self.db, _PostgresqlDatabase):
            self.db.close_all()  # the other DB threads' connections


__all__ = [
    "ALL_MODELS",
    "SchemaStatus",
    "Store",
    "connect",
    "liveness_key",
    "redact_url",
    "sqlite_url",
    "write_transaction",
]
