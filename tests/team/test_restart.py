"""Team mode across a REAL PostgreSQL restart (pg_ctlcluster restart of the local server).

A process with paid calls in flight keeps working through the restart: it takes its liveness
lock again as soon as the server is back, another process that starts meanwhile reconciles none
of its reservations (nor those of a live process elsewhere that has not taken its lock again
yet: right after a restart a free lock proves nothing), and the calls that were in flight settle normally (the store operation is
retried across the reconnect) instead of failing as internal errors. The fixture leaves the
server running whatever happens.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from engine.budget.book import BudgetBook, LedgerFields, budget_refs
from engine.config.schema import Settings
from engine.store.db import _PG_LIVENESS_NS, Store, liveness_key
from tests.fakes import FakeProviderServer, Reply
from tests.team.conftest import wait_until, write_settings
from tests.team.test_team import ANSWER, MAX_TOKENS, counters, reservation_states

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CALLS = 5


class GatedProvider(FakeProviderServer):
    """A fake provider whose delayed replies wait for ``gate`` (bounded by the reply's delay)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gate = threading.Event()

    def _sleep(self, seconds: float) -> bool:
        if seconds <= 0:
            return False
        deadline = time.monotonic() + seconds
        while not self.gate.wait(0.05):
            if self._stop_event.is_set() or time.monotonic() >= deadline:
                break
        return self._stop_event.is_set()


def liveness_locks(pg_db, owner: str) -> int:
    """How many sessions hold ``owner``'s liveness lock in the test database right now."""
    return pg_db.query(
        "select count(*) from pg_locks l join pg_database d on d.oid = l.database "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 2 and l.classid = %s and l.objid = %s "
        "and d.datname = %s",
        (_PG_LIVENESS_NS, liveness_key(owner) & 0xFFFFFFFF, pg_db.name),
    )[0][0]


def test_in_flight_calls_survive_a_server_restart_and_are_never_reconciled(
    pg_db, spawn, paths, restart_postgres
) -> None:
    with GatedProvider(hang_limit=150) as fake:
        fake.responder = lambda request: Reply(text=ANSWER, tokens_in=50, tokens_out=40, delay=150)
        write_settings(paths, fake, timeout=150)
        worker = spawn(
            pg_db.url,
            "generate",
            "--calls",
            str(CALLS),
            "--same-task",
            "--task",
            "team restart probe: xorshift checksum",
            "--max-tokens",
            str(MAX_TOKENS),
            "--no-wait",
        )
        owner = worker.wait_ready(timeout=90)["owner"]
        wait_until(
            "reservations held", lambda: reservation_states(pg_db).get(worker.pid, Counter())["held"] == CALLS, 120
        )
        assert liveness_locks(pg_db, owner) == 1
        import psycopg

        slow_owner = "other-machine:77:slow"  # a live process elsewhere, slow to take its lock again
        slow_session = psycopg.connect(pg_db.url, autocommit=True)
        slow_session.execute("select pg_advisory_lock(%s, %s)", (_PG_LIVENESS_NS, liveness_key(slow_owner)))
        store = Store.open(pg_db.url)
        try:
            book = BudgetBook(store)
            store.hold_liveness(book.owner)  # this process's own lock, so the fake owner below takes none
            book.owner, book.host, book.pid = slow_owner, "other-machine", 77
            refs = budget_refs(Settings(), "default", "default", time.time())
            slow = store.call(
                book.reserve, refs, 1_000, LedgerFields("slow", "default", "default", "llm", "openai", "m", 1)
            )
        finally:
            store.close()

        restart_postgres()  # every connection of the worker dies; its liveness lock goes with them

        wait_until("the worker takes its liveness lock again", lambda: liveness_locks(pg_db, owner) == 1, 30)
        reconciler = spawn(pg_db.url, "reconcile").result(timeout=90)  # another process starts now
        assert reconciler["held_after"] == CALLS + 1, "nothing reconciled"
        assert reservation_states(pg_db)[worker.pid] == Counter(held=CALLS), "a live owner's reservations"
        assert reservation_states(pg_db)[77] == Counter(held=1), "an owner with no lock yet, right after a restart"
        slow_session.close()

        fake.gate.set()  # the provider answers the calls that were in flight across the restart
        out = worker.result(timeout=120)

    assert out["errors"] == [] and out["paid"] == CALLS, out
    assert reservation_states(pg_db)[worker.pid] == Counter(settled=CALLS)
    assert pg_db.query("select count(*) from ledger_entry where source = 'reconcile'") == [(0,)]
    assert slow.reservation_id
    assert pg_db.query(
        "select outcome, count(*) from ledger_entry where source = 'llm' group by outcome order by outcome"
    ) == [("ok", CALLS), ("pending", 1)]  # the slow owner's call goes on
    for key, (spent, reserved) in counters(pg_db).items():
        assert reserved == 1_000 and spent == out["cost_micros"], key  # only the slow owner's hold
