"""The transaction machinery under ``BudgetBook``: write transactions whose cache discoveries
are kept only on commit, PostgreSQL retries of server-aborted transactions, the one counter lock
order, and the counter-id cache.

Invariants:
- The caches (counter ids and limits, recorded crossings) only ever hold committed state: what
  a transaction learns goes into its ``Pending`` and reaches the caches after it commits.
- PostgreSQL counter rows are locked in ascending id order, everywhere, so two transactions
  never deadlock on them; a transaction the server still aborts for a deadlock or
  serialization failure is run again (at most ``_RETRIES`` times), never anything else.
- SQLite takes ``BEGIN IMMEDIATE`` (one writer at a time) and is never retried here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from peewee import OperationalError

from engine.budget.owner import owner_token
from engine.budget.refs import BudgetRef, Pending
from engine.logs import get_logger
from engine.store.db import Store
from engine.store.sql import execute

_log = get_logger("budget")
_T = TypeVar("_T")
_RETRIES = 5
_CONFLICTS = {"40P01": "deadlock", "40001": "serialization failure"}


def conflict(exc: BaseException) -> str:
    """``deadlock`` / ``serialization failure`` when the server aborted the transaction for it."""
    for err in (exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())):
        code = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if code in _CONFLICTS:
            return _CONFLICTS[code]
    return "deadlock" if "deadlock detected" in str(exc) else ""


class BookBase:
    """State and transaction helpers shared by ``BudgetBook`` and its mixins."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.owner, self.host, self.pid = owner_token()
        # Caches of COMMITTED state only: filled after the transaction that read or wrote the
        # rows commits (see ``_writing``), so a refusal or rollback can never leave them stale.
        self._ids: dict[tuple[str, str, str], tuple[int, int | None]] = {}
        self._recorded: set[tuple[str, str, str, int]] = set()
        self._pg = not store.is_sqlite

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Pending]:
        """A write transaction whose cache discoveries are kept only if it commits.

        SQLite: ``BEGIN IMMEDIATE`` (one writer at a time; see ``Store.write``). PostgreSQL:
        a plain READ COMMITTED transaction with **row-level** locking, so processes sharing the
        store reserve and settle in parallel: every counter change is a conditional ``UPDATE``
        (re-checked by the server against the latest committed row after any wait), counters
        are locked in id order (``_lock_counters``) so two transactions never deadlock, and a
        reservation changes state only ``WHERE state = 'held'``, so it is finished once.
        """
        pending = Pending()
        with self.store.write() if not self._pg else self.store.db.atomic():
            yield pending
        self._ids.update(pending.ids)
        self._recorded |= pending.marks

    def _retrying(self, work: Callable[[], _T]) -> _T:
        """Run one write transaction; on PostgreSQL, run it again when the server aborted it to
        break a deadlock or a serialization conflict (everything it did was rolled back). The
        lock order makes this rare: a limit changed under a running call can still take a
        counter out of order."""
        for attempt in range(1, _RETRIES + 1):
            try:
                return work()
            except OperationalError as exc:
                if not self._pg or attempt == _RETRIES or not conflict(exc):
                    raise
                _log.info("write transaction aborted by the server (%s); retrying (%d)", conflict(exc), attempt)
        raise AssertionError("unreachable")

    def _lock_counters(self, ids: Iterable[int]) -> None:
        """PostgreSQL: lock these counter rows in id order (the one lock order everywhere)."""
        if not self._pg:
            return
        for counter_id in sorted(set(ids)):
            self._exec("SELECT id FROM budget_counter WHERE id = ? FOR UPDATE", (counter_id,))

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return execute(sql, params, self.store.db)

    def _counter_id(self, ref: BudgetRef, pending: Pending) -> int:
        """The counter row for ``ref`` (created on first use). Run inside ``_writing``: what is
        learnt here reaches the cache only when the transaction commits."""
        key = (ref.scope, ref.key, ref.period)
        known = pending.ids.get(key) or self._ids.get(key)
        if known is None:
            self._exec(
                "INSERT INTO budget_counter (scope, key, period, limit_micros, spent_micros, reserved_micros) "
                "VALUES (?, ?, ?, ?, 0, 0) ON CONFLICT DO NOTHING",
                (ref.scope, ref.key, ref.period, ref.limit_micros),
            )
            row = self._exec(
                "SELECT id, limit_micros FROM budget_counter WHERE scope = ? AND key = ? AND period = ?", key
            ).fetchone()
            known = (int(row[0]), row[1])
        if known[1] != ref.limit_micros:
            self._exec("UPDATE budget_counter SET limit_micros = ? WHERE id = ?", (ref.limit_micros, known[0]))
            known = (known[0], ref.limit_micros)
        pending.ids[key] = known
        return known[0]

    def _forget(self, ref: BudgetRef, pending: Pending) -> None:
        key = (ref.scope, ref.key, ref.period)
        self._ids.pop(key, None)
        pending.ids.pop(key, None)
