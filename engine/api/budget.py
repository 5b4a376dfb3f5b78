"""Budgets through the one door: status of every known budget, the alert log (level crossings
and usage anomalies) and the allocator's proposal (show or apply).

Amounts inside the engine are integer micro-dollars; the dicts returned here are JSON-ready, as
the CLI prints them (``*_usd`` floats). ``level_label``, ``LEVEL_NAMES`` and ``LEVEL_ACTIONS``
are re-exported as formatting helpers for the surfaces.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.budget.levels import LEVEL_ACTIONS, LEVEL_NAMES, level_label
from engine.money import MICROS_PER_USD

if TYPE_CHECKING:
    from engine.budget.book import BudgetBook, BudgetStatus
    from engine.paths import Paths
    from engine.store.db import Store

__all__ = ["LEVEL_ACTIONS", "LEVEL_NAMES", "AlertLog", "BudgetAPI", "level_label", "status_row"]


@dataclass(frozen=True)
class AlertLog:
    """The alert log, most recent first: ``levels`` are level crossings (ts, scope, key, period,
    level, percent), ``anomalies`` are usage claims that were not believed (see ``templar stats``)."""

    levels: tuple[dict[str, object], ...]
    anomalies: tuple[dict[str, object], ...]

    def merged(self) -> list[dict[str, object]]:
        """One list, most recent first, each entry with ``kind`` "level" or "anomaly"."""
        rows = [{"kind": "level", **a} for a in self.levels] + [{"kind": "anomaly", **a} for a in self.anomalies]
        return sorted(rows, key=lambda a: -float(a["ts"]))  # type: ignore[arg-type]


class BudgetAPI:
    """Budget methods of ``Engine`` (status itself is ``Engine.budget_status``)."""

    paths: Paths
    store: Store
    book: BudgetBook
    clock: Callable[[], float]
    environ: dict[str, str] | None

    async def budget_statuses(self) -> list[BudgetStatus]:
        """Every known budget (each project and agent, plus the default scope), read once each.
        Reading a status records a level reached without a paid call (a lowered limit), so the
        alert log read after it is complete. A project whose file is broken is skipped (``templar
        doctor`` and ``config`` report it)."""
        from engine.budget.book import budget_refs
        from engine.config.cascade import list_agents, list_projects, load_config
        from engine.errors import TemplarError

        seen: dict[tuple[str, str, str], BudgetStatus] = {}
        for project in dict.fromkeys(["default", *list_projects(self.paths)]):
            for agent in dict.fromkeys(["default", *list_agents(self.paths, project)]):
                try:
                    settings = load_config(self.paths, project, agent, environ=self.environ).settings
                except TemplarError:
                    break
                refs = budget_refs(settings, project, agent, self.clock())
                for status in await self.store.run(self.book.status, refs, settings.alerts.thresholds()):
                    seen[(status.scope, status.key, status.period)] = status
        return list(seen.values())

    async def budget_overview(self) -> list[BudgetStatus]:
        """What ``templar budget`` shows with no scope: the system budget, then every project and
        agent that has a limit, spend or a reservation this period (with a config file, or known
        only to the ledger), system first, then by key."""
        from engine.budget.book import budget_refs
        from engine.config.cascade import load_config
        from engine.errors import TemplarError

        seen = {(s.scope, s.key, s.period): s for s in await self.budget_statuses()}
        for scope, key, _ in await self.store.run(self.book.scopes_with_spend):
            if scope not in ("project", "agent"):
                continue
            project, _, agent = key.partition("/")
            try:
                settings = load_config(self.paths, project, agent or "default", environ=self.environ).settings
            except TemplarError:
                continue
            refs = budget_refs(settings, project, agent or "default", self.clock())
            for status in await self.store.run(self.book.status, refs, settings.alerts.thresholds()):
                seen.setdefault((status.scope, status.key, status.period), status)
        shown = [s for s in seen.values() if s.scope == "system" or s.limit_micros is not None or s.used_micros > 0]
        order = {"system": 0, "project": 1, "agent": 2}
        return sorted(shown, key=lambda s: (order.get(s.scope, 3), s.key))

    async def budget_alerts(self, *, observe: bool = True, limit: int = 100) -> AlertLog:
        """Level crossings and usage anomalies, most recent first (at most ``limit`` of each).
        With ``observe`` every known budget's status is read first (see ``budget_statuses``)."""
        if observe:
            await self.budget_statuses()
        levels = await self.store.run(self.book.alerts, limit)
        anomalies = await self.store.run(self.book.anomalies, None, limit)
        return AlertLog(tuple(levels), tuple(anomalies))

    async def budget_allocation(self, *, apply: bool = False, force: bool = False) -> dict[str, Any]:
        """The allocator's proposal, every figure explained (``projects``, ``why``, limits in USD).
        With ``apply`` the proposed limits are written to the project files; a limit a person set
        is a cap it never raises without ``force``. Raises ``BadInput`` without a system budget."""
        from engine.budget.proposal import propose

        return await asyncio.to_thread(propose, self, apply=apply, force=force)


def status_row(status: BudgetStatus) -> dict[str, Any]:
    """One budget status as JSON-ready data (``templar budget --json``)."""
    return {
        "scope": status.scope,
        "key": status.key,
        "period": status.period,
        "period_kind": status.period_kind,
        "limit_usd": _usd(status.limit_micros),
        "spent_usd": _usd(status.spent_micros),
        "reserved_usd": _usd(status.reserved_micros),
        "remaining_usd": _usd(status.remaining_micros),
        "percent": round(status.percent, 2),
        "level": status.level,
        "level_name": level_label(status.level),
        "action": LEVEL_ACTIONS[status.level],
    }


def _usd(micros: int | None) -> float | None:
    return None if micros is None else micros / MICROS_PER_USD
