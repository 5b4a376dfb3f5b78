"""``templar budget``: status, allocate, alerts."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from engine.budget.levels import LEVEL_ACTIONS, level_label
from engine.cli.commands import open_engine
from engine.cli.output import gauge, print_json, table
from engine.money import format_usd


def every_budget(engine: Any) -> list[Any]:
    """The system budget, then every project and agent that has a limit or spend (or a
    reservation) this period: projects and agents with a config file, and any the ledger knows."""
    from engine.config import list_agents, list_projects

    agents: dict[str, set[str]] = {}
    for project in list_projects(engine.paths):
        agents.setdefault(project, set()).update(list_agents(engine.paths, project))
    for scope, key, _ in engine.store.call(engine.book.scopes_with_spend):
        if scope == "project":
            agents.setdefault(key, set())
        elif scope == "agent" and "/" in key:
            project, agent = key.split("/", 1)
            agents.setdefault(project, set()).add(agent)
    shown: list[Any] = []
    seen: set[tuple[str, str, str]] = set()
    for project in sorted(agents):
        for agent in sorted(agents[project] | {"default"}):
            for status in asyncio.run(engine.budget_status(project, agent)):
                which = (status.scope, status.key, status.period)
                keep = status.scope == "system" or status.limit_micros is not None or status.used_micros > 0
                if keep and which not in seen:
                    seen.add(which)
                    shown.append(status)
    if not shown:  # no project at all yet: the default scope, as before
        shown = asyncio.run(engine.budget_status(None, None))
    order = {"system": 0, "project": 1, "agent": 2}
    return sorted(shown, key=lambda s: (order.get(s.scope, 3), s.key))


def cmd_status(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        if args.project is None and args.agent is None:
            statuses = every_budget(engine)
        else:
            statuses = asyncio.run(engine.budget_status(args.project, args.agent))
    finally:
        engine.close()
    rows = []
    for s in statuses:
        rows.append(
            {
                "scope": s.scope, "key": s.key, "period": s.period, "period_kind": s.period_kind,
                "limit_usd": None if s.limit_micros is None else s.limit_micros / 1e6,
                "spent_usd": s.spent_micros / 1e6, "reserved_usd": s.reserved_micros / 1e6,
                "remaining_usd": None if s.remaining_micros is None else s.remaining_micros / 1e6,
                "percent": round(s.percent, 2), "level": s.level, "level_name": level_label(s.level),
                "action": LEVEL_ACTIONS[s.level],
            }
        )
    if args.json:
        print_json(rows)
        return 0
    print(
        table(
            ["budget", "period", "limit", "spent", "reserved", "remaining", "gauge", "level"],
            [
                (
                    s.scope if s.scope == "system" else f"{s.scope} {s.key}", s.period,
                    format_usd(s.limit_micros) if s.limit_micros is not None else "no limit",
                    format_usd(s.spent_micros), format_usd(s.reserved_micros),
                    format_usd(s.remaining_micros) if s.remaining_micros is not None else "—",
                    gauge(s.percent) + f" {s.percent:5.1f}%" if s.limit_micros is not None else "",
                    level_label(s.level),
                )
                for s in statuses
            ],
        )
    )
    return 0


def cmd_allocate(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        data = engine.allocation(apply=args.apply, force=getattr(args, "force", False))
    finally:
        engine.close()
    if args.json:
        print_json(data)
        return 0
    if not data["projects"]:
        print("no projects yet: nothing to allocate")
        return 0
    micros = lambda usd: None if usd is None else round(usd * 1e6)  # noqa: E731
    print(
        table(
            ["project", "weight", "spend (this period)", "current limit", "set by", "proposed limit"],
            [
                (p["project"], f"{p['weight']:g}", format_usd(micros(p["spend_usd"])),
                 format_usd(micros(p["current_limit_usd"])) if p["current_limit_usd"] is not None else "none",
                 "person (cap)" if p["cap_usd"] is not None else ("allocator" if p["limit_set_by"] else "—"),
                 format_usd(micros(p["proposed_limit_usd"])))
                for p in data["projects"]
            ],
        )
    )
    print(f"system limit {format_usd(micros(data['system_limit_usd']))}: {data['reserve_pct']:g}% reserve, "
          f"{format_usd(micros(data['available_usd']))} to allocate, floor {format_usd(micros(data['floor_usd']))} "
          f"per project; kept back {format_usd(micros(data['reserve_usd']))}")
    print("why:")
    for p in data["projects"]:
        print(f"  {p['project']}: {p['why']}")
        for agent in p["agents"]:
            limit = "no limit" if agent["limit_usd"] is None else format_usd(micros(agent["limit_usd"]))
            note = f" ({agent['note']})" if agent["note"] else ""
            print(f"    agent {agent['agent']}: spent {format_usd(micros(agent['spend_usd']))} this period, {limit}{note}")
    if args.apply:
        print("applied to project files (limits a person set are kept" + (": --force replaced them)" if data["force"] else ")"))
    else:
        print("run with --apply to write these limits")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    """Level crossings and usage anomalies, most recent first. ``--json``: one list, each entry
    with ``kind`` "level" (scope, key, period, level, percent) or "anomaly" (see stats)."""
    engine = open_engine()
    try:
        _observe_levels(engine)
        alerts = engine.store.call(engine.book.alerts)
        anomalies = engine.store.call(engine.book.anomalies)
    finally:
        engine.close()
    if args.json:
        merged = [{"kind": "level", **a} for a in alerts] + [{"kind": "anomaly", **a} for a in anomalies]
        print_json(sorted(merged, key=lambda a: -float(a["ts"])))  # type: ignore[arg-type]
        return 0
    if not alerts and not anomalies:
        print("no alert level crossed yet, no usage anomaly")
        return 0
    if alerts:
        print(table(["when (UTC)", "budget", "period", "level", "percent"], [
            (_when(a["ts"]), f"{a['scope']} {a['key']}".strip(), a["period"],
             level_label(int(a["level"])), f"{a['percent']:.1f}%") for a in alerts
        ]))
    else:
        print("no alert level crossed yet")
    print_anomalies({"count": len(anomalies), "recent": anomalies})
    return 0


def _observe_levels(engine: Any) -> None:
    """Read every known budget's status, which records a level reached without a paid call
    (a lowered limit), so the log listed next is complete."""
    from engine.budget.book import budget_refs
    from engine.config import list_projects
    from engine.config.cascade import list_agents
    from engine.errors import TemplarError

    for project in dict.fromkeys(["default", *list_projects(engine.paths)]):
        for agent in dict.fromkeys(["default", *list_agents(engine.paths, project)]):
            try:
                settings = engine.config(project, agent).settings
            except TemplarError:  # a broken project file: `templar doctor` and `config` report it
                break
            refs = budget_refs(settings, project, agent, engine.clock())
            engine.store.call(engine.book.status, refs, settings.alerts.thresholds())


def _when(ts: object) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(ts)))  # type: ignore[arg-type]


def print_anomalies(summary: dict[str, Any]) -> None:
    """The usage anomalies (claims charged at the worst case instead), one line each."""
    if not summary.get("count"):
        return
    print(f"usage anomalies: {summary['count']} (each charged at its reservation's worst case)")
    for a in summary.get("recent", []):
        print(f"  {_when(a['ts'])}  anomaly {a['what']}: {a['provider']} {a['model']} request {a['request_id']} "
              f"claimed {a['claimed_tokens_in'] or '?'} in / {a['claimed_tokens_out'] or '?'} out tokens"
              + ("" if a["claimed_usd"] is None else f" ({format_usd(round(a['claimed_usd'] * 1e6))})")
              + f", charged {format_usd(round(a['charged_usd'] * 1e6))}")
