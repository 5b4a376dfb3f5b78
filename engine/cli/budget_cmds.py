"""``templar budget``: status, allocate, alerts."""

from __future__ import annotations

import argparse
import asyncio
import time

from engine.budget.levels import LEVEL_ACTIONS, level_label
from engine.cli.commands import open_engine
from engine.cli.output import gauge, print_json, table
from engine.money import format_usd


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
        data = engine.allocation(apply=args.apply)
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
            ["project", "weight", f"spend ({data['burn_window_days']}d)", "current limit", "proposed limit"],
            [
                (p["project"], p["weight"], format_usd(micros(p["burn_usd"])),
                 format_usd(micros(p["current_limit_usd"])) if p["current_limit_usd"] is not None else "none",
                 format_usd(micros(p["proposed_limit_usd"])))
                for p in data["projects"]
            ],
        )
    )
    print(f"system limit {format_usd(micros(data['system_limit_usd']))}, kept in reserve {format_usd(micros(data['reserve_usd']))}")
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
