"""Budgets: reserve the worst case before a paid call, settle to the real cost after.

Invariants:
- Money is integer micro-dollars.
- Admission is one transaction of conditional updates, one per level (system, project,
  agent), always in that order: ``reserved += amount WHERE spent + reserved + amount <= cap``.
  If any level refuses, nothing changes. Concurrent callers — tasks, processes or machines —
  can therefore never push spend + reservations past a cap.
- Every reservation is settled (real cost), released (failed call, cost 0) or reconciled (its
  process died: charged at the worst case, flagged ``estimated``), never leaked. The pending
  ledger row is written in the same transaction as the reservation, so a paid call always has
  a ledger row even if the process is killed mid-call.
- A level counts spent + reserved (calls in flight at their worst case), in status, crossings and
  gauges alike. An alert crossing is recorded once per budget, period and level (a unique
  index), whenever it is first seen: at a settlement or by a status read (a lowered limit).
- In-memory caches (counter ids and limits, recorded crossings) only ever hold committed state.

This module holds admission, settlement and status; the parts ``BudgetBook`` is built from live
beside it: ``refs`` (the values passed around), ``txn`` (write transactions, PostgreSQL retries,
lock order, counter ids), ``alerts`` (crossings, alert and anomaly logs) and ``reconcile``
(orphaned reservations).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from peewee import DatabaseError

from engine.budget.alerts import AlertsMixin
from engine.budget.reconcile import ReconcileMixin
from engine.budget.refs import (
    BudgetRef,
    BudgetStatus,
    Crossing,
    Held,
    LedgerFields,
    Pending,
    budget_refs,
    day_of,
    level_of,
    period_key,
)
from engine.budget.txn import conflict as _conflict
from engine.budget.usage import UsageVerdict, judge_usage, record_anomaly
from engine.errors import BudgetRefused
from engine.logs import get_logger
from engine.money import format_usd_exact

__all__ = [
    "LEDGER_COLUMNS",
    "BudgetBook",
    "BudgetRef",
    "BudgetStatus",
    "Crossing",
    "Held",
    "LedgerFields",
    "_conflict",
    "budget_refs",
    "day_of",
    "period_key",
]

_log = get_logger("budget")

# What settle/release may complete on a ledger row (a column not given keeps its value: COALESCE)
LEDGER_COLUMNS = ("outcome", "error_class", "cost_micros", "tokens_in", "tokens_out", "latency_ms", "estimated")
_COMPLETE_LEDGER = (
    "UPDATE ledger_entry SET outcome = COALESCE(?, outcome), error_class = COALESCE(?, error_class), "
    "cost_micros = COALESCE(?, cost_micros), tokens_in = COALESCE(?, tokens_in), "
    "tokens_out = COALESCE(?, tokens_out), latency_ms = COALESCE(?, latency_ms), "
    "estimated = COALESCE(?, estimated) WHERE id = ?"
)


def _ledger_values(ledger: dict[str, object]) -> tuple[object, ...]:
    """``ledger``'s values in ``LEDGER_COLUMNS`` order (None: keep); an unknown column is a bug."""
    unknown = set(ledger) - set(LEDGER_COLUMNS)
    if unknown:
        raise ValueError(f"not a ledger column to complete: {', '.join(sorted(unknown))}")
    return tuple(ledger.get(name) for name in LEDGER_COLUMNS)


class BudgetBook(AlertsMixin, ReconcileMixin):
    """Budget counters, reservations and alert crossings over the store (sync; run on the DB thread).

    The hot statements (reserve, settle, release, status) are plain parameterised SQL: building
    them through the ORM cost more CPU than the statements themselves.
    """

    def _hold_on(self, ref: BudgetRef, amount: int, pending: Pending) -> int:
        """Add ``amount`` to the reservations of ``ref``'s counter if its cap allows; returns the
        counter id or raises BudgetRefused. A cached id whose row is gone (or now names another
        budget) is looked up again, never trusted."""
        for _ in range(2):
            counter_id = self._counter_id(ref, pending)
            where = (counter_id, ref.scope, ref.key, ref.period)
            if ref.cap_micros is None:
                cursor = self._exec(
                    "UPDATE budget_counter SET reserved_micros = reserved_micros + ? "
                    "WHERE id = ? AND scope = ? AND key = ? AND period = ?",
                    (amount, *where),
                )
            else:
                cursor = self._exec(
                    "UPDATE budget_counter SET reserved_micros = reserved_micros + ? "
                    "WHERE id = ? AND scope = ? AND key = ? AND period = ? AND spent_micros + reserved_micros + ? <= ?",
                    (amount, *where, amount, ref.cap_micros),
                )
            if cursor.rowcount == 1:
                return counter_id
            row = self._exec(
                "SELECT id, spent_micros, reserved_micros FROM budget_counter WHERE scope = ? AND key = ? AND period = ?",
                (ref.scope, ref.key, ref.period),
            ).fetchone()
            if row is not None and int(row[0]) == counter_id:
                raise BudgetRefused(  # the atomic block rolls back every level on raise
                    f"{ref.label} budget ({ref.period}) cannot cover this call's worst case "
                    f"({format_usd_exact(amount)}): spent {format_usd_exact(int(row[1]))} "
                    f"+ reserved {format_usd_exact(int(row[2]))} "
                    f"of a {format_usd_exact(ref.limit_micros or 0)} limit"
                )
            self._forget(ref, pending)  # stale id: look the row up (or create it) again
        raise BudgetRefused(f"{ref.label} budget ({ref.period}): its counter could not be found or created")

    def status(self, refs: list[BudgetRef], thresholds: list[float]) -> list[BudgetStatus]:
        """Each budget's spend, reservations and level (of spent + reserved). A level reached
        without a settlement (a lowered limit, reservations in flight) is recorded here, so
        the alert log holds every level a status ever showed."""
        found: dict[tuple[str, str, str], tuple[int, int]] = {}
        for ref in refs:  # one fixed statement per budget (at most three): no SQL is built from text
            row = self._exec(
                "SELECT spent_micros, reserved_micros FROM budget_counter WHERE scope = ? AND key = ? AND period = ?",
                (ref.scope, ref.key, ref.period),
            ).fetchone()
            if row is not None:
                found[(ref.scope, ref.key, ref.period)] = (int(row[0]), int(row[1]))
        out = []
        for ref in refs:
            spent, reserved = found.get((ref.scope, ref.key, ref.period), (0, 0))
            out.append(
                BudgetStatus(
                    ref.scope,
                    ref.key,
                    ref.period,
                    ref.period_kind,
                    ref.limit_micros,
                    spent,
                    reserved,
                    level_of(spent + reserved, ref.limit_micros, thresholds),
                )
            )
        if any(self._unrecorded(ref, s.level) for ref, s in zip(refs, out)):
            try:
                with self._writing() as pending:
                    self._record(refs, [s.used_micros for s in out], thresholds, pending)
            except DatabaseError:  # a read-only store still answers a status; the next writer records it
                pass
        return out

    def scopes_with_spend(self) -> list[tuple[str, str, str]]:
        """(scope, key, period) of every counter with spend or a reservation, for listing every
        project and agent that spent (the caller keeps the current periods)."""
        rows = self._exec(
            "SELECT scope, key, period FROM budget_counter WHERE spent_micros > 0 OR reserved_micros > 0"
        ).fetchall()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    # -- reservations -------------------------------------------------------------------------

    def reserve(self, refs: list[BudgetRef], amount: int, ledger: LedgerFields) -> Held:
        """Hold ``amount`` against every budget in ``refs`` at once, or raise BudgetRefused."""
        return self._retrying(functools.partial(self._reserve_once, refs, amount, ledger))

    def _reserve_once(self, refs: list[BudgetRef], amount: int, ledger: LedgerFields) -> Held:
        now = self.clock()
        reservation_id = str(uuid.uuid4())
        self.store.hold_liveness(self.owner)  # before any reservation of ours exists (PostgreSQL)
        with self._writing() as pending:
            if self._pg:  # create the counters first, then lock them in id order, then hold
                self._lock_counters(self._counter_id(ref, pending) for ref in refs)
            ids = [self._hold_on(ref, amount, pending) for ref in refs]
            sql = (
                "INSERT INTO ledger_entry (ts, day, request_id, project, agent, source, provider, model, attempt, "
                "tokens_in, tokens_out, cost_micros, saved_micros, latency_ms, outcome, error_class, estimated, "
                "reservation_id, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 'pending', NULL, ?, ?, ?)"
            )
            params = (
                now,
                day_of(now),
                ledger.request_id,
                ledger.project,
                ledger.agent,
                ledger.source,
                ledger.provider,
                ledger.model,
                ledger.attempt,
                ledger.tokens_in,
                False,
                reservation_id,
                self.owner,
            )
            if self._pg:
                ledger_id = int(self._exec(sql + " RETURNING id", params).fetchone()[0])
            else:
                ledger_id = int(self._exec(sql, params).lastrowid)
            counter_ids = ",".join(str(i) for i in ids)
            self._exec(
                "INSERT INTO reservation (id, owner, host, pid, created, amount_micros, counter_ids, ledger_id, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held')",
                (reservation_id, self.owner, self.host, self.pid, now, amount, counter_ids, ledger_id),
            )
        return Held(reservation_id, ledger_id, amount, tuple(ids))

    def settle(
        self,
        held: Held,
        cost: int,
        *,
        refs: list[BudgetRef] | None = None,
        thresholds: list[float] | None = None,
        **ledger: object,
    ) -> list[Crossing]:
        """Replace the held worst case by the real ``cost`` and complete the ledger row; with
        ``refs`` and ``thresholds``, also record (and return) alert levels newly reached.

        ``cost`` (and the ``tokens_in``/``tokens_out`` ledger fields) are the provider's claim:
        a claim outside [0, worst case] is charged at the worst case, flagged ``estimated`` and
        recorded as an anomaly in the same transaction (see ``engine.budget.usage``)."""
        claim = (cost, ledger.get("tokens_in"), ledger.get("tokens_out"))
        verdict = judge_usage(*claim, held.amount_micros, measured=not ledger.get("estimated", False))
        if "tokens_in" in ledger:
            ledger["tokens_in"] = verdict.tokens_in
        if "tokens_out" in ledger:
            ledger["tokens_out"] = verdict.tokens_out
        if not verdict.believed:
            ledger["estimated"] = True
        charge = verdict.charge_micros
        return self._finish(
            held,
            "settled",
            charge,
            refs,
            thresholds,
            None if verdict.believed else (verdict, claim),
            outcome="ok",
            cost_micros=charge,
            **ledger,
        )

    def release(self, held: Held, **ledger: object) -> None:
        """Give the held amount back (the call failed, nothing billed) and complete the ledger row."""
        ledger.setdefault("outcome", "error")
        self._finish(held, "released", 0, None, None, None, cost_micros=0, **ledger)

    def _finish(
        self,
        held: Held,
        state: str,
        charge: int,
        refs: list[BudgetRef] | None,
        thresholds: list[float] | None,
        anomaly: tuple[UsageVerdict, tuple[Any, Any, Any]] | None,
        **ledger: object,
    ) -> list[Crossing]:
        return self._retrying(
            functools.partial(self._finish_once, held, state, charge, refs, thresholds, anomaly, **ledger)
        )

    def _finish_once(
        self,
        held: Held,
        state: str,
        charge: int,
        refs: list[BudgetRef] | None,
        thresholds: list[float] | None,
        anomaly: tuple[UsageVerdict, tuple[Any, Any, Any]] | None,
        **ledger: object,
    ) -> list[Crossing]:
        with self._writing() as pending:
            done = self._exec(
                "UPDATE reservation SET state = ? WHERE id = ? AND state = 'held'", (state, held.reservation_id)
            )
            if done.rowcount != 1:
                return []  # already finished (e.g. reconciled by another process): never twice
            for counter_id in sorted(held.counter_ids):  # id order: the one lock order (see _writing)
                self._exec(
                    "UPDATE budget_counter SET reserved_micros = reserved_micros - ?, spent_micros = spent_micros + ? "
                    "WHERE id = ?",
                    (held.amount_micros, charge, counter_id),
                )
            if ledger:
                self._exec(_COMPLETE_LEDGER, (*_ledger_values(ledger), held.ledger_id))
            if anomaly is not None:
                verdict, claim = anomaly
                record_anomaly(self._exec, self.clock(), verdict, held.ledger_id, held.amount_micros, *claim)
                _log.warning(
                    "usage anomaly (%s) on ledger entry %s: charged at most the reserved %d micro-USD",
                    verdict.anomaly,
                    held.ledger_id,
                    held.amount_micros,
                )
            if refs is None or thresholds is None or not charge:
                return []
            return self._crossings(refs, held.counter_ids, thresholds, pending)
