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
- An alert crossing is recorded once per budget, period and level (a unique index).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Callable

from peewee import fn

from engine.budget.levels import EXHAUSTED, level_for
from engine.config.schema import Settings
from engine.errors import BudgetRefused
from engine.money import usd_to_micros
from engine.store.db import Store
from engine.store.models import AlertEvent, BudgetCounter, LedgerEntry, Reservation

SCOPES = ("system", "project", "agent")


def period_key(period: str, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    if period == "daily":
        return moment.strftime("%Y-%m-%d")
    if period == "monthly":
        return moment.strftime("%Y-%m")
    return "total"


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class BudgetRef:
    """One budget a call counts against, in its current period."""

    scope: str
    key: str
    period: str
    period_kind: str
    limit_micros: int | None
    cap_micros: int | None  # limit * exhausted%: admission refuses beyond this

    @property
    def label(self) -> str:
        return self.scope if self.scope == "system" else f"{self.scope} {self.key}"


@dataclass(frozen=True)
class BudgetStatus:
    scope: str
    key: str
    period: str
    period_kind: str
    limit_micros: int | None
    spent_micros: int
    reserved_micros: int
    level: int

    @property
    def remaining_micros(self) -> int | None:
        if self.limit_micros is None:
            return None
        return max(0, self.limit_micros - self.spent_micros - self.reserved_micros)

    @property
    def percent(self) -> float:
        if not self.limit_micros:
            return 0.0 if self.limit_micros is None else (100.0 if self.spent_micros else 0.0)
        return 100.0 * self.spent_micros / self.limit_micros


@dataclass(frozen=True)
class Crossing:
    scope: str
    key: str
    period: str
    level: int
    percent: float


@dataclass(frozen=True)
class Held:
    """A reservation that is held, with the ledger row it will complete."""

    reservation_id: str
    ledger_id: int
    amount_micros: int


@dataclass
class LedgerFields:
    """What the pending ledger row of a paid attempt says before the call."""

    request_id: str
    project: str
    agent: str
    source: str
    provider: str
    model: str
    attempt: int
    tokens_in: int = 0
    extra: dict[str, object] = field(default_factory=dict)


def owner_token() -> tuple[str, str, int]:
    """(owner, host, pid): identifies this process's reservations for crash reconciliation."""
    host = socket.gethostname()[:64]
    pid = os.getpid()
    return f"{host}:{pid}:{_INSTANCE}", host, pid


_INSTANCE = uuid.uuid4().hex[:12]


def budget_refs(settings: Settings, project: str, agent: str, now: float) -> list[BudgetRef]:
    """The three budgets a call for ``project``/``agent`` counts against, in lock order."""
    exhausted = settings.alerts.exhausted
    levels = (
        ("system", "", settings.budget.system),
        ("project", project, settings.budget.project),
        ("agent", f"{project}/{agent}", settings.budget.agent),
    )
    refs = []
    for scope, key, budget in levels:
        limit = usd_to_micros(budget.limit_usd)
        cap = None if limit is None else (limit * int(exhausted * 1000)) // 100_000
        refs.append(BudgetRef(scope, key, period_key(budget.period, now), budget.period, limit, cap))
    return refs


class BudgetBook:
    """Budget counters, reservations and alert crossings over the store (sync; run on the DB thread)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.owner, self.host, self.pid = owner_token()

    # -- counters -----------------------------------------------------------------------------

    def _counter(self, ref: BudgetRef) -> BudgetCounter:
        BudgetCounter.insert(
            scope=ref.scope, key=ref.key, period=ref.period, limit_micros=ref.limit_micros
        ).on_conflict_ignore().execute()
        counter = BudgetCounter.get(
            (BudgetCounter.scope == ref.scope) & (BudgetCounter.key == ref.key) & (BudgetCounter.period == ref.period)
        )
        if counter.limit_micros != ref.limit_micros:
            BudgetCounter.update(limit_micros=ref.limit_micros).where(BudgetCounter.id == counter.id).execute()
            counter.limit_micros = ref.limit_micros
        return counter

    def status(self, refs: list[BudgetRef], thresholds: list[float]) -> list[BudgetStatus]:
        out = []
        for ref in refs:
            row = BudgetCounter.get_or_none(
                (BudgetCounter.scope == ref.scope) & (BudgetCounter.key == ref.key) & (BudgetCounter.period == ref.period)
            )
            spent = row.spent_micros if row else 0
            reserved = row.reserved_micros if row else 0
            out.append(
                BudgetStatus(
                    ref.scope, ref.key, ref.period, ref.period_kind, ref.limit_micros, spent, reserved,
                    _level(spent, ref.limit_micros, thresholds),
                )
            )
        return out

    # -- reservations -------------------------------------------------------------------------

    def reserve(self, refs: list[BudgetRef], amount: int, ledger: LedgerFields) -> Held:
        """Hold ``amount`` against every budget in ``refs`` at once, or raise BudgetRefused."""
        now = self.clock()
        with self.store.write():
            counters = [self._counter(ref) for ref in refs]
            for ref, counter in zip(refs, counters):
                query = BudgetCounter.update(reserved_micros=BudgetCounter.reserved_micros + amount).where(
                    BudgetCounter.id == counter.id
                )
                if ref.cap_micros is not None:
                    query = query.where(
                        BudgetCounter.spent_micros + BudgetCounter.reserved_micros + amount <= ref.cap_micros
                    )
                if query.execute() != 1:  # the atomic block rolls back every level on raise
                    raise BudgetRefused(
                        f"{ref.label} budget ({ref.period}) cannot cover this call's worst case "
                        f"(${amount / 1e6:.6f}); it is at or near its limit"
                    )
            entry = LedgerEntry.create(
                ts=now, day=day_of(now), request_id=ledger.request_id, project=ledger.project,
                agent=ledger.agent, source=ledger.source, provider=ledger.provider, model=ledger.model,
                attempt=ledger.attempt, tokens_in=ledger.tokens_in, outcome="pending", owner=self.owner,
            )
            reservation_id = str(uuid.uuid4())
            Reservation.create(
                id=reservation_id, owner=self.owner, host=self.host, pid=self.pid, created=now,
                amount_micros=amount, counter_ids=",".join(str(c.id) for c in counters),
                ledger_id=entry.id, state="held",
            )
            LedgerEntry.update(reservation_id=reservation_id).where(LedgerEntry.id == entry.id).execute()
        return Held(reservation_id, entry.id, amount)

    def settle(self, held: Held, cost: int, **ledger: object) -> None:
        """Replace the held worst case by the real ``cost`` and complete the ledger row."""
        self._finish(held.reservation_id, "settled", cost, outcome="ok", cost_micros=cost, **ledger)

    def release(self, held: Held, **ledger: object) -> None:
        """Give the held amount back (the call failed, nothing billed) and complete the ledger row."""
        ledger.setdefault("outcome", "error")
        self._finish(held.reservation_id, "released", 0, cost_micros=0, **ledger)

    def _finish(self, reservation_id: str, state: str, charge: int, **ledger: object) -> None:
        with self.store.write():
            res = Reservation.get_or_none(Reservation.id == reservation_id)
            if res is None or res.state != "held":
                return  # already finished (e.g. reconciled by another process): never twice
            ids = [int(x) for x in res.counter_ids.split(",") if x]
            BudgetCounter.update(
                reserved_micros=BudgetCounter.reserved_micros - res.amount_micros,
                spent_micros=BudgetCounter.spent_micros + charge,
            ).where(BudgetCounter.id.in_(ids)).execute()
            Reservation.update(state=state).where(Reservation.id == reservation_id).execute()
            if res.ledger_id is not None and ledger:
                LedgerEntry.update(**ledger).where(LedgerEntry.id == res.ledger_id).execute()

    def reconcile(self, *, stale_after_s: float = 3600.0, is_alive: Callable[[int], bool] | None = None) -> list[str]:
        """Settle reservations whose process is gone at their worst case; returns their ids.

        A reservation is orphaned when it was made on this host by a process that no longer
        exists, or (any host) when it is older than ``stale_after_s``. A live process's
        reservations are never touched.
        """
        alive = is_alive or _pid_alive
        now = self.clock()
        held = list(Reservation.select().where(Reservation.state == "held"))
        orphans = [
            r for r in held
            if r.owner != self.owner
            and ((r.host == self.host and not alive(r.pid)) or r.created < now - stale_after_s)
        ]
        done = []
        for res in orphans:
            with self.store.write():
                fresh = Reservation.get_or_none((Reservation.id == res.id) & (Reservation.state == "held"))
                if fresh is None:
                    continue
                ids = [int(x) for x in fresh.counter_ids.split(",") if x]
                BudgetCounter.update(
                    reserved_micros=BudgetCounter.reserved_micros - fresh.amount_micros,
                    spent_micros=BudgetCounter.spent_micros + fresh.amount_micros,
                ).where(BudgetCounter.id.in_(ids)).execute()
                Reservation.update(state="reconciled").where(Reservation.id == fresh.id).execute()
                if fresh.ledger_id is not None:
                    LedgerEntry.update(
                        outcome="interrupted", cost_micros=fresh.amount_micros, estimated=True,
                        error_class="interrupted",
                    ).where(LedgerEntry.id == fresh.ledger_id).execute()
                LedgerEntry.create(
                    ts=now, day=day_of(now), request_id=fresh.id, source="reconcile", outcome="ok",
                    owner=self.owner, reservation_id=fresh.id, estimated=True,
                )
            done.append(res.id)
        return done

    def held_count(self) -> int:
        return Reservation.select().where(Reservation.state == "held").count()

    # -- alerts -------------------------------------------------------------------------------

    def record_crossings(self, refs: list[BudgetRef], thresholds: list[float]) -> list[Crossing]:
        """Record every level each budget has reached this period and not recorded yet."""
        now = self.clock()
        new: list[Crossing] = []
        for status in self.status(refs, thresholds):
            for level in range(1, status.level + 1):
                query = AlertEvent.insert(
                    ts=now, scope=status.scope, key=status.key, period=status.period,
                    level=level, percent=round(status.percent, 2),
                ).on_conflict_ignore()
                if self.store.db.execute(query).rowcount == 1:
                    new.append(Crossing(status.scope, status.key, status.period, level, status.percent))
        return new

    def alerts(self, limit: int = 100) -> list[dict[str, object]]:
        rows = AlertEvent.select().order_by(AlertEvent.ts.desc(), AlertEvent.level.desc()).limit(limit)
        return [
            {"ts": r.ts, "scope": r.scope, "key": r.key, "period": r.period, "level": r.level, "percent": r.percent}
            for r in rows
        ]

    def spend_by_project(self, since: float) -> dict[str, int]:
        rows = (
            LedgerEntry.select(LedgerEntry.project, fn.SUM(LedgerEntry.cost_micros).alias("cost"))
            .where(LedgerEntry.ts >= since)
            .group_by(LedgerEntry.project)
        )
        return {r.project: int(r.cost or 0) for r in rows}


def _level(spent: int, limit: int | None, thresholds: list[float]) -> int:
    if limit is None:
        return 0
    if limit == 0:
        return EXHAUSTED
    return level_for(100.0 * spent / limit, thresholds)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
