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
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from peewee import DatabaseError, OperationalError

from engine.budget.levels import EXHAUSTED, level_for
from engine.budget.owner import owner_token, pid_alive
from engine.budget.usage import UsageVerdict, judge_usage, list_anomalies, record_anomaly
from engine.config.schema import Settings
from engine.errors import BudgetRefused
from engine.logs import get_logger
from engine.money import format_usd_exact, usd_to_micros
from engine.store.db import Store
from engine.store.models import AlertEvent, BudgetCounter, LedgerEntry, Reservation
from engine.store.sql import execute

_log = get_logger("budget")
_T = TypeVar("_T")
_RETRIES = 5
_CONFLICTS = {"40P01": "deadlock", "40001": "serialization failure"}


def _conflict(exc: BaseException) -> str:
    """``deadlock`` / ``serialization failure`` when the server aborted the transaction for it."""
    for err in (exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())):
        code = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
        if code in _CONFLICTS:
            return _CONFLICTS[code]
    return "deadlock" if "deadlock detected" in str(exc) else ""


_CLAIM_ORPHAN = "SELECT id FROM reservation WHERE id = ? AND state = 'held'"
_CLAIM_ORPHAN_PG = _CLAIM_ORPHAN + " FOR UPDATE SKIP LOCKED"

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


def period_key(period: str, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    if period == "daily":
        return moment.strftime("%Y-%m-%d")
    if period == "monthly":
        return moment.strftime("%Y-%m")
    return "total"


def day_of(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass
class _Pending:
    """What one write transaction learnt for the caches; applied only when it commits."""

    ids: dict[tuple[str, str, str], tuple[int, int | None]] = field(default_factory=dict)
    marks: set[tuple[str, str, str, int]] = field(default_factory=set)


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
    def used_micros(self) -> int:
        """What counts toward the level: spent + reserved (calls in flight at their worst case)."""
        return self.spent_micros + self.reserved_micros

    @property
    def percent(self) -> float:
        """Spent + reserved, in percent of the limit."""
        if not self.limit_micros:
            return 0.0 if self.limit_micros is None else (100.0 if self.used_micros else 0.0)
        return 100.0 * self.used_micros / self.limit_micros


@dataclass(frozen=True)
class Crossing:
    scope: str
    key: str
    period: str
    level: int
    percent: float
    used_micros: int = 0
    limit_micros: int | None = None


@dataclass(frozen=True)
class Held:
    """A reservation that is held, with the ledger row it will complete."""

    reservation_id: str
    ledger_id: int
    amount_micros: int
    counter_ids: tuple[int, ...] = ()


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
    """Budget counters, reservations and alert crossings over the store (sync; run on the DB thread).

    The hot statements (reserve, settle, release, status) are plain parameterised SQL: building
    them through the ORM cost more CPU than the statements themselves.
    """

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
    def _writing(self) -> Iterator[_Pending]:
        """A write transaction whose cache discoveries are kept only if it commits.

        SQLite: ``BEGIN IMMEDIATE`` (one writer at a time; see ``Store.write``). PostgreSQL:
        a plain READ COMMITTED transaction with **row-level** locking, so processes sharing the
        store reserve and settle in parallel: every counter change is a conditional ``UPDATE``
        (re-checked by the server against the latest committed row after any wait), counters
        are locked in id order (``_lock_counters``) so two transactions never deadlock, and a
        reservation changes state only ``WHERE state = 'held'``, so it is finished once.
        """
        pending = _Pending()
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
                if not self._pg or attempt == _RETRIES or not _conflict(exc):
                    raise
                _log.info("write transaction aborted by the server (%s); retrying (%d)", _conflict(exc), attempt)
        raise AssertionError("unreachable")

    def _lock_counters(self, ids: Iterable[int]) -> None:
        """PostgreSQL: lock these counter rows in id order (the one lock order everywhere)."""
        if not self._pg:
            return
        for counter_id in sorted(set(ids)):
            self._exec("SELECT id FROM budget_counter WHERE id = ? FOR UPDATE", (counter_id,))

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return execute(sql, params, self.store.db)

    # -- counters -----------------------------------------------------------------------------

    def _counter_id(self, ref: BudgetRef, pending: _Pending) -> int:
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

    def _forget(self, ref: BudgetRef, pending: _Pending) -> None:
        key = (ref.scope, ref.key, ref.period)
        self._ids.pop(key, None)
        pending.ids.pop(key, None)

    def _hold_on(self, ref: BudgetRef, amount: int, pending: _Pending) -> int:
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
                    _level(spent + reserved, ref.limit_micros, thresholds),
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

    def _unrecorded(self, ref: BudgetRef, level: int) -> bool:
        return any((ref.scope, ref.key, ref.period, lvl) not in self._recorded for lvl in range(1, level + 1))

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

    def _crossings(
        self, refs: list[BudgetRef], ids: tuple[int, ...], thresholds: list[float], pending: _Pending
    ) -> list[Crossing]:
        used = []
        for counter_id in ids:
            row = self._exec(
                "SELECT spent_micros + reserved_micros FROM budget_counter WHERE id = ?", (counter_id,)
            ).fetchone()
            used.append(0 if row is None else int(row[0]))
        return self._record(refs, used, thresholds, pending)

    def _record(
        self, refs: list[BudgetRef], used: list[int], thresholds: list[float], pending: _Pending
    ) -> list[Crossing]:
        """Record every level each budget has reached (``used`` = spent + reserved) and not
        recorded yet this period; returns the crossings this call wrote."""
        now = self.clock()
        new = []
        for ref, amount in zip(refs, used):
            level = _level(amount, ref.limit_micros, thresholds)
            percent = 100.0 * amount / ref.limit_micros if ref.limit_micros else 100.0
            for lvl in range(1, level + 1):
                mark = (ref.scope, ref.key, ref.period, lvl)
                if mark in self._recorded or mark in pending.marks:
                    continue
                cursor = self._exec(
                    "INSERT INTO alert_event (ts, scope, key, period, level, percent) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (now, ref.scope, ref.key, ref.period, lvl, round(percent, 2)),
                )
                pending.marks.add(mark)
                if cursor.rowcount == 1:
                    new.append(Crossing(ref.scope, ref.key, ref.period, lvl, percent, amount, ref.limit_micros))
        return new

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

    # -- alerts -------------------------------------------------------------------------------

    def record_crossings(self, refs: list[BudgetRef], thresholds: list[float]) -> list[Crossing]:
        """Record every level each budget has reached this period and not recorded yet."""
        with self._writing() as pending:
            ids = tuple(self._counter_id(ref, pending) for ref in refs)
            return self._crossings(refs, ids, thresholds, pending)

    def alerts(self, limit: int = 100) -> list[dict[str, object]]:
        rows = AlertEvent.select().order_by(AlertEvent.ts.desc(), AlertEvent.level.desc()).limit(limit)
        return [
            {"ts": r.ts, "scope": r.scope, "key": r.key, "period": r.period, "level": r.level, "percent": r.percent}
            for r in rows
        ]

    def anomalies(self, since: float | None = None, limit: int = 100) -> list[dict[str, object]]:
        """Usage claims that were not believed, most recent first (see ``engine.budget.usage``)."""
        return list_anomalies(self._exec, since, limit)


def _level(spent: int, limit: int | None, thresholds: list[float]) -> int:
    if limit is None:
        return 0
    if limit == 0:
        return EXHAUSTED
    return level_for(100.0 * spent / limit, thresholds)
