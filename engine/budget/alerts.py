"""Alert crossings and usage anomalies of ``BudgetBook``: recording each level a budget reaches,
and reading the alert and anomaly logs.

Invariants:
- A crossing is recorded once per budget, period and level (a unique index: ``ON CONFLICT DO
  NOTHING``), whenever it is first seen: at a settlement or by a status read.
- The level counts spent + reserved (calls in flight at their worst case).
- Marks of recorded crossings reach the in-memory cache only when their transaction commits
  (``Pending.marks``); only crossings this call actually wrote are returned.
"""

from __future__ import annotations

from engine.budget.refs import BudgetRef, Crossing, Pending, level_of
from engine.budget.txn import BookBase
from engine.budget.usage import list_anomalies
from engine.store.models import AlertEvent


class AlertsMixin(BookBase):
    """Recording and listing alert crossings; listing usage anomalies."""

    def _unrecorded(self, ref: BudgetRef, level: int) -> bool:
        return any((ref.scope, ref.key, ref.period, lvl) not in self._recorded for lvl in range(1, level + 1))

    def _crossings(
        self, refs: list[BudgetRef], ids: tuple[int, ...], thresholds: list[float], pending: Pending
    ) -> list[Crossing]:
        used = []
        for counter_id in ids:
            row = self._exec(
                "SELECT spent_micros + reserved_micros FROM budget_counter WHERE id = ?", (counter_id,)
            ).fetchone()
            used.append(0 if row is None else int(row[0]))
        return self._record(refs, used, thresholds, pending)

    def _record(
        self, refs: list[BudgetRef], used: list[int], thresholds: list[float], pending: Pending
    ) -> list[Crossing]:
        """Record every level each budget has reached (``used`` = spent + reserved) and not
        recorded yet this period; returns the crossings this call wrote."""
        now = self.clock()
        new = []
        for ref, amount in zip(refs, used):
            level = level_of(amount, ref.limit_micros, thresholds)
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
