"""psycopg (the PostgreSQL driver) is loaded only when a PostgreSQL URL is opened.

peewee imports psycopg when it is itself imported (~0.2 s of CPU here, more than the rest of
a cache hit), even for a SQLite store. ``install()`` (run by ``import engine``; it costs a list
append) hooks peewee's first import so that psycopg is hidden from it; ``arm()`` (called by
``engine.store.db.connect`` for a PostgreSQL URL) imports psycopg and gives peewee the names it
would have bound at import time, plus the transaction-status constants its psycopg 3 adapter
sets when its class is defined.
Invariants: if peewee or psycopg is already imported, nothing is hidden; ``arm()`` is
idempotent; if psycopg is not installed, peewee reports it as it always did.
"""

from __future__ import annotations

import sys
from typing import Any, cast

_HIDDEN = "psycopg"


class _Loader:
    """peewee's own loader, run with ``import psycopg`` failing."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        hide = _HIDDEN not in sys.modules
        if hide:
            # a None entry makes `import psycopg` raise ImportError
            sys.modules[_HIDDEN] = None  # type: ignore[assignment]
        try:
            self.inner.exec_module(module)
        finally:
            if hide and sys.modules.get(_HIDDEN, False) is None:
                del sys.modules[_HIDDEN]


class _Finder:
    """A one-shot meta-path finder for ``peewee``."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "peewee":
            return None
        uninstall()
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            cast(Any, spec).loader = _Loader(spec.loader)
        return spec


def install() -> None:
    if "peewee" not in sys.modules and _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)


def uninstall() -> None:
    if _Finder in sys.meta_path:
        sys.meta_path.remove(_Finder)


def arm() -> None:
    """Give peewee psycopg 3 if it was hidden at import time and is installed."""
    import peewee as peewee_module

    peewee: Any = peewee_module  # patched below: attributes peewee sets when psycopg 3 imports
    if getattr(peewee, "psycopg", None) is not None:
        return
    try:
        import psycopg
        from psycopg.pq import TransactionStatus
        from psycopg.types.json import Json, Jsonb
    except ImportError:
        return
    peewee.TransactionStatus = TransactionStatus
    peewee.Json_pg3, peewee.Jsonb_pg3 = Json, Jsonb
    adapter = peewee.Psycopg3Adapter
    adapter.txn_idle = TransactionStatus.IDLE
    adapter.txn_inerror = TransactionStatus.INERROR
    adapter.txn_unknown = TransactionStatus.UNKNOWN
    peewee.psycopg = psycopg  # last: peewee checks this name to choose its psycopg 3 adapter
