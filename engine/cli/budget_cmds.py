"""``templar budget``: status, allocate, alerts."""

from __future__ import annotations

import argparse
import asyncio
import time

from engine.budget.allocator import ProjectInput, allocate
from engine.budget.levels import LEVEL_ACTIONS, level_label
from engine.cli.commands import open_engine
from engine.cli.output import gauge, print_json, table
from engine.config import list_projects, set_value
from engine.errors import BadInput
from engine.money import format_usd, usd_to_micros


def cmd_status(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
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
        system = engine.config().settings
        limit = usd_to_micros(system.budget.system.limit_usd)
        if limit is None:
            raise BadInput("budget.system.limit_usd is not set: there is no system budget to allocate")
        alloc = system.budget.allocator
        since = time.time() - alloc.burn_window_days * 86400
        burns = engine.store.call(engine.book.spend_by_project, since)
        names = sorted(set(list_projects(engine.paths)) | {p for p in burns if p})
        inputs = []
        for name in names:
            settings = engine.config(name).settings
            inputs.append(
                ProjectInput(name, settings.budget.project.weight, burns.get(name, 0), usd_to_micros(settings.budget.project.limit_usd))
            )
        proposal, reserve = allocate(
            limit, inputs, reserve_pct=alloc.reserve_pct, floor_micros=usd_to_micros(alloc.floor_usd) or 0,
            burn_share=alloc.burn_share,
        )
        if args.apply:
            for a in proposal:
                set_value(engine.paths, "budget.project.limit_usd", repr(round(a.proposed_micros / 1e6, 6)), a.project)
    finally:
        engine.close()
    data = {
        "system_limit_usd": limit / 1e6, "reserve_usd": reserve / 1e6, "applied": bool(args.apply),
        "projects": [
            {
                "project": a.project, "weight": a.weight, "burn_usd": a.burn_micros / 1e6,
                "current_limit_usd": None if a.current_limit_micros is None else a.current_limit_micros / 1e6,
                "proposed_limit_usd": a.proposed_micros / 1e6,
            }
            for a in proposal
        ],
    }
    if args.json:
        print_json(data)
        return 0
    if not proposal:
        print("no projects yet: nothing to allocate")
        return 0
    print(
        table(
            ["project", "weight", f"spend ({alloc.burn_window_days}d)", "current limit", "proposed limit"],
            [
                (a.project, a.weight, format_usd(a.burn_micros),
                 format_usd(a.current_limit_micros) if a.current_limit_micros is not None else "none",
                 format_usd(a.proposed_micros))
                for a in proposal
            ],
        )
    )
    print(f"system limit {format_usd(limit)}, kept in reserve {format_usd(reserve)}")
    print("applied to project files" if args.apply else "run with --apply to write these limits")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        alerts = engine.store.call(engine.book.alerts)
    finally:
        engine.close()
    if args.json:
        print_json(alerts)
        return 0
    if not alerts:
        print("no alert level crossed yet")
        return 0
    print(table(["when (UTC)", "budget", "period", "level", "percent"], [
        (time.strftime("%Y-%m-%d %H:%M", time.gmtime(a["ts"])), f"{a['scope']} {a['key']}".strip(), a["period"],
         level_label(int(a["level"])), f"{a['percent']:.1f}%") for a in alerts
    ]))
    return 0
