"""Process liveness on PostgreSQL: a session advisory lock held for as long as the process lives.

Other processes, on any machine, tell a crashed owner of reservations from a live one by trying
its lock: the server drops a session's locks when the session ends, so a dead process's lock is
free. A server restart ends every session too, so:

Invariants:
- While the process lives and the server answers, one session of this process holds its lock.
  A watcher thread notices a lost session (its socket turns readable when the server goes away,
  and it is pinged at least every ``PING_S``) and takes the lock again on a new session as soon
  as the server answers, retrying with a capped backoff (``RETAKE_MAX_DELAY_S``).
- ``ensure()`` runs before every reservation: it re-takes a lost lock first, so a reservation
  made after a server start always has an owner that took its lock after that start.
- A free lock proves its owner dead only when the owner has had time to take it again: for a
  reservation older than the server's uptime, while the uptime is under ``GRACE_S``, the verdict
  is "unknown" (see ``owner_verdict``). Both ages are measured on one clock each (the client's
  for the reservation, the server's for the uptime), so clock skew between machines cannot
  confuse them.
"""

from __future__ import annotations

import contextlib
import hashlib
import select
import threading
import time
from collections.abc import Callable
from typing import Any

LIVENESS_NS = 0x7E3A  # the two-int4 advisory key space, apart from the bigint write/migration locks
PING_S = 10.0
RETAKE_MAX_DELAY_S = 2.0
GRACE_S = 60.0
SKEW_MARGIN_S = 5.0  # a reservation this close to the server start counts as older than it


def liveness_key(owner: str) -> int:
    """A signed 32-bit key for a process's owner token."""
    return int.from_bytes(hashlib.sha256(owner.encode("utf-8")).digest()[:4], "big", signed=True)


class LivenessLost(Exception):
    """The liveness session is gone and the lock could not be taken again (server unreachable)."""


class LivenessLock:
    """This process's liveness lock on its own session, kept alive across server restarts."""

    def __init__(self, open_session: Callable[[], Any], owner: str) -> None:
        self._open_session = open_session  # -> a connected peewee database (its own connection)
        self.owner = owner
        self._key = (LIVENESS_NS, liveness_key(owner))
        self._db: Any = None
        self._held = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.retaken = 0  # how many times the lock was taken again after a lost session

    # -- taking and keeping the lock ----------------------------------------------------------

    def ensure(self) -> None:
        """Hold the lock now (take it, or take it again if its session was lost).

        Raises LivenessLost when the server cannot be reached; the caller retries the whole
        store operation across the reconnect."""
        with self._lock:
            if self._db is not None and self._session_alive():
                if not self._held:
                    self._try_lock()
                return
            if self._db is not None:
                self.retaken += 1
            self._retake()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="templar-liveness", daemon=True)
            self._watcher.start()

    def _session_alive(self) -> bool:
        """False when the session is lost; pings it only when its socket says something happened."""
        conn = self._db.connection()
        if conn.closed or conn.broken:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable or self._ping()

    def _ping(self) -> bool:
        try:
            self._db.execute_sql("SELECT 1").fetchone()
            return True
        except Exception:  # noqa: BLE001 - any failure means the session is gone
            return False

    def _retake(self) -> None:
        old, self._db = self._db, None
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        try:
            self._db = self._open_session()
            self._try_lock()
        except Exception as exc:  # noqa: BLE001 - server down or restarting
            raise LivenessLost(f"cannot take the liveness lock: {exc}".strip()) from exc

    def _try_lock(self) -> None:
        """Take the lock without waiting. Held by another session means a stale session of
        this process the server has not dropped yet (the key is unique to this process): other
        processes see the owner alive meanwhile, and the next check tries again."""
        self._held = bool(self._db.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", self._key).fetchone()[0])

    def _watch(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            with self._lock:
                db = self._db
            if db is not None:
                try:
                    fd = db.connection().fileno()
                    readable, _, _ = select.select([fd], [], [], 1.0)
                except Exception:  # noqa: BLE001 - the connection object is gone
                    readable = [True]
                if self._stop.is_set():
                    return
                if not readable and not self._due_ping():
                    continue
            with self._lock:
                if self._db is not None and self._ping():
                    delay = 0.05
                    self._last_ping = time.monotonic()
                    if not self._held:
                        with contextlib.suppress(Exception):
                            self._try_lock()
                    continue
                try:
                    self.retaken += self._db is not None
                    self._retake()
                    delay = 0.05
                    continue
                except LivenessLost:
                    pass
            self._stop.wait(delay)  # the server is not back yet: try again, capped backoff
            delay = min(delay * 2, RETAKE_MAX_DELAY_S)

    _last_ping = 0.0

    def _due_ping(self) -> bool:
        return not self._held or time.monotonic() - self._last_ping >= PING_S

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(Exception):
                    self._db.close()
            self._db = None


def owner_verdict(db: Any, owner: str, held_for_s: float) -> bool | None:
    """Whether ``owner`` is alive (True), dead (False) or unknown (None), run on ``db``.

    Its lock held -> alive. Its lock free -> dead, unless the reservation (``held_for_s`` old)
    predates a server start less than GRACE_S ago: its owner may not have taken the lock again
    yet, so unknown."""
    key = (LIVENESS_NS, liveness_key(owner))
    got = db.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()[0]
    if not got:
        return True
    db.execute_sql("SELECT pg_advisory_unlock(%s, %s)", key)
    uptime = float(db.execute_sql("SELECT EXTRACT(EPOCH FROM (now() - pg_postmaster_start_time()))").fetchone()[0])
    if uptime < GRACE_S and held_for_s + SKEW_MARGIN_S >= uptime:
        return None
    return False
