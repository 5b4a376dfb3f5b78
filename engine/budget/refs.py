"""The values budget bookkeeping passes around: which budgets a call counts against, their status,
alert crossings, held reservations and the pending ledger row (``engine.budget.book``).

Invariants:
- Money is integer micro-dollars; a budget's cap is its limit times the exhausted percentage.
- ``budget_refs`` returns the three levels in lock order: system, project, agent.
- A level is computed from spent + reserved (calls in flight at their worst case); a limit of 0
  is exhausted at once, no limit is never any level.
- ``Pending`` holds what one write transaction learnt for the caches; it is applied only when
  that transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from engine.budget.levels import EXHAUSTED, level_for
from engine.config.schema import Settings
from engine.money import usd_to_micros


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
class Pending:
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


def level_of(spent: int, limit: int | None, thresholds: list[float]) -> int:
    """The alert level ``spent`` (spent + reserved) reaches against ``limit``."""
    if limit is None:
        return 0
    if limit == 0:
        return EXHAUSTED
    return level_for(100.0 * spent / limit, thresholds)
