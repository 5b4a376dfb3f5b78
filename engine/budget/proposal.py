"""The allocator's proposal for one engine: which projects, this period's spend, whose limits are
caps, the arithmetic (``engine.budget.allocator``), an explanation of every figure, and --apply.

Invariants:
- Projects are the project files plus projects with spend this period; system-scope spend
  (``doctor --ping``) is nobody's project.
- Spend is this period's, from the budget counters (each project's own period), and includes
  every agent of the project; agents are listed with their own spend and limit.
- A project limit set by a person (any level; not the figure ``--apply`` last wrote) is a cap
  the allocator never raises, unless ``force``. ``--apply`` writes only limits that change and
  records each figure it wrote (``allocated_limit``), so a later change by a person is seen.
"""

from __future__ import annotations

import time
from typing import Any

from engine.budget.allocator import Allocation, Plan, ProjectInput, allocate
from engine.budget.book import budget_refs
from engine.config import list_projects, set_value
from engine.config.cascade import list_agents
from engine.errors import BadInput
from engine.money import format_usd, micros_to_usd, usd_to_micros
from engine.store.sql import execute

LIMIT = ("budget", "project", "limit_usd")


def _spend_this_period(engine: Any) -> dict[tuple[str, str, str], int]:
    rows = engine.store.call(
        lambda: execute(
            "SELECT scope, key, period, spent_micros FROM budget_counter WHERE scope IN ('project', 'agent')",
            (),
            engine.store.db,
        ).fetchall()
    )
    return {(r[0], r[1], r[2]): int(r[3]) for r in rows}


def _written(engine: Any) -> dict[str, int]:
    rows = engine.store.call(
        lambda: execute("SELECT project, limit_micros FROM allocated_limit", (), engine.store.db).fetchall()
    )
    return {r[0]: int(r[1]) for r in rows}


def _has_project_spend(engine: Any, project: str) -> bool:
    """A project known only from counters: real unless all it ever spent were pings (old
    versions booked ``doctor --ping`` to a project named "doctor")."""
    row = engine.store.call(
        lambda: execute(
            "SELECT 1 FROM ledger_entry WHERE project = ? AND source <> 'ping' LIMIT 1",
            (project,),
            engine.store.db,
        ).fetchone()
    )
    return row is not None


def propose(engine: Any, *, apply: bool = False, force: bool = False) -> dict[str, Any]:
    """The proposal as plain data (and, with ``apply``, written to the project files)."""
    system = engine.config().settings
    limit = usd_to_micros(system.budget.system.limit_usd)
    if limit is None:
        raise BadInput("budget.system.limit_usd is not set: there is no system budget to allocate")
    alloc = system.budget.allocator
    now = engine.clock()
    spent = _spend_this_period(engine)
    files = set(list_projects(engine.paths))
    seen = {key for (scope, key, _), amount in spent.items() if scope == "project" and amount > 0 and key}
    names = sorted(files | {name for name in seen - files if _has_project_spend(engine, name)})
    written = _written(engine)
    inputs, details = [], {}
    for name in names:
        resolved = engine.config(name)
        budget = resolved.settings.budget.project
        current = usd_to_micros(budget.limit_usd)
        origin = resolved.origin(LIMIT)
        person = current is not None and origin.level != "default" and written.get(name) != current
        period = next(r.period for r in budget_refs(resolved.settings, name, "", now) if r.scope == "project")
        inputs.append(
            ProjectInput(
                name, budget.weight, spent.get(("project", name, period), 0), current, current if person else None
            )
        )
        details[name] = {
            "period": period,
            "limit_set_by": None
            if current is None
            else (f"a person, in {origin.describe()}" if person else "the allocator"),
            "agents": _agents(engine, name, spent, now),
        }
    plan = allocate(
        limit,
        inputs,
        reserve_pct=alloc.reserve_pct,
        floor_micros=usd_to_micros(alloc.floor_usd) or 0,
        burn_share=alloc.burn_share,
        min_spend_micros=usd_to_micros(alloc.min_spend_usd) or 0,
        force=force,
    )
    if apply:
        _apply(engine, plan)
    min_spend = usd_to_micros(alloc.min_spend_usd) or 0
    return {
        "system_limit_usd": micros_to_usd(limit),
        "available_usd": micros_to_usd(plan.available_micros),
        "reserve_usd": micros_to_usd(plan.reserve_micros),
        "reserve_pct": alloc.reserve_pct,
        "applied": apply,
        "force": force,
        "floor_usd": micros_to_usd(plan.floor_micros),
        "burn_share": alloc.burn_share,
        "min_spend_usd": micros_to_usd(min_spend),
        "spend_counted": plan.spend_counted,
        "total_spend_usd": micros_to_usd(plan.total_spend_micros),
        "spend_window": "this period",
        "burn_window_days": alloc.burn_window_days,  # unused; kept for readers of the old JSON
        "projects": [_row(a, plan, details[a.project], alloc.burn_share, min_spend, force) for a in plan.allocations],
    }


def _agents(engine: Any, project: str, spent: dict[tuple[str, str, str], int], now: float) -> list[dict[str, Any]]:
    names = set(list_agents(engine.paths, project))
    names |= {
        key.split("/", 1)[1]
        for (scope, key, _), amount in spent.items()
        if scope == "agent" and key.startswith(project + "/") and amount > 0
    }
    out = []
    for agent in sorted(n for n in names if n):
        try:
            settings = engine.config(project, agent).settings
        except Exception:  # noqa: BLE001 - an agent seen only in the counters may not be a valid name now
            settings = engine.config(project).settings
        ref = next(r for r in budget_refs(settings, project, agent, now) if r.scope == "agent")
        spend = spent.get(("agent", ref.key, ref.period), 0)
        out.append(
            {
                "agent": agent,
                "period": ref.period,
                "spend_usd": micros_to_usd(spend),
                "limit_usd": micros_to_usd(ref.limit_micros),
            }
        )
    return out


def _apply(engine: Any, plan: Plan) -> None:
    now = time.time()
    for a in plan.allocations:
        if a.proposed_micros == a.current_limit_micros:
            continue  # unchanged (a kept cap stays a person's limit)
        set_value(engine.paths, "budget.project.limit_usd", repr(round(micros_to_usd(a.proposed_micros), 6)), a.project)
        engine.store.call(_record_written, engine.store, a.project, a.proposed_micros, now)


def _record_written(store: Any, project: str, micros: int, now: float) -> None:
    with store.write():
        execute("DELETE FROM allocated_limit WHERE project = ?", (project,), store.db)
        execute(
            "INSERT INTO allocated_limit (project, limit_micros, ts) VALUES (?, ?, ?)", (project, micros, now), store.db
        )


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _row(
    a: Allocation, plan: Plan, detail: dict[str, Any], burn_share: float, min_spend: int, force: bool
) -> dict[str, Any]:
    why = _why(a, plan, burn_share, min_spend, force, detail["limit_set_by"])
    for agent in detail["agents"]:
        agent_limit = agent["limit_usd"]
        agent["note"] = (
            "its limit is above the project's proposed limit: the project limit binds first"
            if agent_limit is not None and usd_to_micros(agent_limit) > a.proposed_micros
            else ""
        )
    return {
        "project": a.project,
        "weight": a.weight,
        "period": detail["period"],
        "spend_usd": micros_to_usd(a.spend_micros),
        "burn_usd": micros_to_usd(a.spend_micros),  # burn_usd: the old name
        "current_limit_usd": micros_to_usd(a.current_limit_micros),
        "limit_set_by": detail["limit_set_by"],
        "cap_usd": micros_to_usd(a.cap_micros),
        "capped": a.capped,
        "weight_share": a.weight_share,
        "spend_share": a.spend_share,
        "share": a.share,
        "floor_usd": micros_to_usd(a.floor_micros),
        "pool_usd": micros_to_usd(a.pool_micros),
        "target_usd": micros_to_usd(a.target_micros),
        "proposed_limit_usd": micros_to_usd(a.proposed_micros),
        "why": why,
        "agents": detail["agents"],
    }


def _why(a: Allocation, plan: Plan, burn_share: float, min_spend: int, force: bool, set_by: str | None) -> str:
    total = format_usd(plan.total_spend_micros)
    pool = plan.available_micros - plan.floor_micros * len(plan.allocations)
    weights = sum(x.weight for x in plan.allocations)
    weight = f"weight {a.weight:g} of {weights:g} = {_pct(a.weight_share)}"
    if plan.spend_counted and burn_share > 0:
        share = (
            f"{_pct(1 - burn_share)} x weight share ({weight}) + {_pct(burn_share)} x spend share "
            f"{_pct(a.spend_share)} (spent {format_usd(a.spend_micros)} of {total} this period, smoothed by a "
            f"{format_usd(min_spend)} prior spread by weight)"
        )
    elif plan.spend_counted:
        share = f"weight share ({weight}); burn_share is 0"
    else:
        share = (
            f"weight share ({weight}); spend this period ({total}) is below the {format_usd(min_spend)} "
            f"minimum, so it does not count"
        )
    text = (
        f"floor {format_usd(a.floor_micros)} + {_pct(a.share)} of the {format_usd(pool)} pool = "
        f"{format_usd(a.target_micros)}; share = {share}"
    )
    if a.capped:
        text += (
            f"; cap kept: {format_usd(a.cap_micros)} was set by {set_by or 'a person'} and is never raised "
            f"without --force"
        )
    elif a.cap_micros is not None:
        text += f"; within the cap {format_usd(a.cap_micros)} set by {set_by or 'a person'}"
    elif force and set_by and set_by.startswith("a person"):
        text += "; --force: replaces the limit a person set"
    if a.proposed_micros > a.target_micros and not a.capped:
        text += f"; + {format_usd(a.proposed_micros - a.target_micros)} that capped projects leave"
    return text
