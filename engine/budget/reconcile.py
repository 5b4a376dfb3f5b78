"""Reconciliation of orphaned reservations: a reservation whose process died is charged at its
worst case, flagged ``estimated``, and never leaked.

Invariants:
- A live process's reservations are never touched; our own are never reconciled here.
- Each orphan is claimed in its own write transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``,
  then a ``WHERE state = 'held'`` re-check), so a settle in flight or another reconciler that
  got there first makes this skip it: a reservation is finished exactly once.
- Its counters are locked in id order (the one lock order) before they change.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.budget.owner import pid_alive
from engine.budget.refs import day_of
from engine.budget.txn import BookBase
from engine.store.models import BudgetCounter, LedgerEntry, Reservation

_CLAIM_ORPHAN = "SELECT id FROM reservation WHERE id = ? AND state = 'held'"
_CLAIM_ORPHAN_PG = _CLAIM_ORPHAN + " FOR UPDATE SKIP LOCKED"


class ReconcileMixin(BookBase):
    """Finding and settling reservations whose process is gone."""

    def reconcile(self, *, stale_after_s: float = 3600.0, is_alive: Callable[[int], bool] | None = None) -> list[str]:
        """Settle reservations whose process is gone at their worst case; returns their ids.

        A reservation is orphaned when its process is known to be gone: on this host, its pid no
        longer exists; on PostgreSQL, from any machine, its liveness lock is free (the server
        dropped it with the dead process's connection; not yet right after a server restart,
        while live owners take their locks again). Failing both, a reservation older than
        ``stale_after_s`` is orphaned. A live process's reservations are never touched.
        """
        alive = is_alive or pid_alive
        now = self.clock()
        held = list(Reservation.select().where(Reservation.state == "held"))
        verdicts: dict[str, bool | None] = {}
        oldest: dict[str, float] = {}
        for r in held:
            oldest[r.owner] = min(oldest.get(r.owner, r.created), r.created)

        def gone(r: Reservation) -> bool:
            if r.host == self.host and not alive(r.pid):
                return True
            if r.owner not in verdicts:  # unknown (None) right after a server restart: see store/liveness.py
                live = self.store.owner_alive(r.owner, now - oldest[r.owner])
                verdicts[r.owner] = None if live is None else not live
            return bool(verdicts[r.owner]) or r.created < now - stale_after_s

        orphans = [r for r in held if r.owner != self.owner and gone(r)]
        done = []
        for res in orphans:
            with self._writing():
                # claim it: a settle in flight (row locked) or another reconciler that got here
                # first makes this skip it (PostgreSQL: SKIP LOCKED, then the state re-check)
                claim = _CLAIM_ORPHAN_PG if self._pg else _CLAIM_ORPHAN
                if self._exec(claim, (res.id,)).fetchone() is None:
                    continue
                claimed = self._exec(
                    "UPDATE reservation SET state = 'reconciled' WHERE id = ? AND state = 'held'", (res.id,)
                )
                if claimed.rowcount != 1:
                    continue
                fresh = Reservation.get_by_id(res.id)
                ids = [int(x) for x in fresh.counter_ids.split(",") if x]
                self._lock_counters(ids)
                BudgetCounter.update(
                    reserved_micros=BudgetCounter.reserved_micros - fresh.amount_micros,
                    spent_micros=BudgetCounter.spent_micros + fresh.amount_micros,
                ).where(BudgetCounter.id.in_(ids)).execute()
                if fresh.ledger_id is not None:
                    LedgerEntry.update(
                        outcome="interrupted",
                        cost_micros=fresh.amount_micros,
                        estimated=True,
                        error_class="interrupted",
                    ).where(LedgerEntry.id == fresh.ledger_id).execute()
                LedgerEntry.create(
                    ts=now,
                    day=day_of(now),
                    request_id=fresh.id,
                    source="reconcile",
                    outcome="ok",
                    owner=self.owner,
                    reservation_id=fresh.id,
                    estimated=True,
                )
            done.append(res.id)
        return done

    def held_count(self) -> int:
        return Reservation.select().where(Reservation.state == "held").count()
