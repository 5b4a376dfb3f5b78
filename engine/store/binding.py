"""Which database a model query uses (issue #12: two engines in one process shared one database).
Every model, and ``engine.store.sql``, goes through ``database_proxy``, a ``StoreBoundDatabase``
that resolves on each use to **the database of the store whose DB thread is running the query**.
Each ``Store`` owns its worker threads (``Store.run``/``Store.call`` are the only way work reaches
a database) and binds every one of them to its own database when the thread starts; nothing
ever re-points the proxy, so no store can redirect another's queries. A query on any other
thread (the event loop, a test body, a thread of its own) raises ``StoreError`` naming
``store.run`` instead of silently picking some store's database.

Why this design and not the others:
- ``Model.bind_ctx(db)`` / ``Model.bind(db)`` re-point the model classes, which are shared by
  the whole process: two stores binding at once on two threads would still swap databases
  under each other (the defect, made rarer). Not correct under concurrency.
- Per-store model classes (``store.models.CacheEntry``, made with ``bind`` on copies) are
  correct, but every repository, the CLI, the app, the benches and ~40 test files import the
  module-level classes: all would have to thread a ``store.models`` through, and a forgotten
  module-level import would still reach *some* database (the unbound original) unless it too
  raised. Far more invasive, for the same guarantee.
- Resolving from the executing thread is correct under any concurrency because the binding is
  a property of the thread, fixed for its whole life, and a store's threads serve that store
  alone. It changes no call site, and costs one thread-local lookup per query (see
  ``bench/store_binding.py``: transactions and raw statements got faster than through
  peewee's plain ``DatabaseProxy``, which delegated every attribute through ``__getattr__``).
  What it asks of callers: work handed to ``store.run`` must not pass model queries on to
  threads of its own (they are bound to no store and raise), and a thread serves at most one
  store (each ``Store`` makes its own executor, and ``bind_thread`` is called only there).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, NoReturn

from peewee import Database, DatabaseProxy, Model

from engine.errors import StoreError

_bound = threading.local()  # .db: the database of the store that owns this thread


def bind_thread(db: Database) -> None:
    """Make ``db`` the database of every model query on the calling thread, for its whole life.

    Only ``Store`` calls this, as the initializer of its own worker threads."""
    _bound.db = db


def _unbound() -> NoReturn:
    raise StoreError(
        "a database query ran outside a store: models and engine.store.sql run only on a store's "
        "database thread (await store.run(fn, ...) or store.call(fn, ...)); no database was chosen for it"
    )


def current_database() -> Database:
    """The database of the store whose DB thread is calling; StoreError on any other thread."""
    try:
        db: Database = _bound.db
    except AttributeError:
        _unbound()
    return db


class StoreBoundDatabase(DatabaseProxy):
    """The models' database: the calling store thread's own database, never a shared one.

    ``obj`` (which peewee's introspection reads) is None off a store thread; every use —
    attributes, transactions, ``with`` — raises ``StoreError`` there. ``initialize`` refuses:
    there is nothing to point, each store binds its own threads (``bind_thread``)."""

    __slots__ = ()

    def __init__(self) -> None:
        object.__setattr__(self, "_callbacks", [])  # Proxy.__setattr__ checks this class's empty __slots__

    @property
    def obj(self) -> Database | None:
        return getattr(_bound, "db", None)

    def initialize(self, obj: Any) -> None:
        raise StoreError("the models are not pointed at a database: each store binds its own (Store.open)")

    def __getattr__(self, attr: str) -> Any:
        try:
            db = _bound.db
        except AttributeError:
            if attr.startswith("__"):  # protocol probes (copy, pickle...) are not queries
                raise AttributeError(attr) from None
            _unbound()
        return getattr(db, attr)

    # DatabaseProxy wraps these around the proxy itself, so every step inside them would be
    # delegated again; hand them to the bound database directly (fewer lookups per query).
    def __enter__(self) -> Any:
        return current_database().__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Any:
        return current_database().__exit__(exc_type, exc, tb)

    def connection_context(self) -> Any:
        return current_database().connection_context()

    def atomic(self, *args: Any, **kwargs: Any) -> Any:
        return current_database().atomic(*args, **kwargs)

    def manual_commit(self) -> Any:
        return current_database().manual_commit()

    def transaction(self, *args: Any, **kwargs: Any) -> Any:
        return current_database().transaction(*args, **kwargs)

    def savepoint(self) -> Any:
        return current_database().savepoint()


database_proxy = StoreBoundDatabase()


class BaseModel(Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False
