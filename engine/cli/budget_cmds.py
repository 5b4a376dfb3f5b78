"""``templar budget``: status, allocate, alerts."""

from __future__ import annotations

import argparse
import time
from typing import Any

from engine.api.budget import level_label, status_row
from engine.cli.aio import run_sync
from engine.cli.commands import open_engine
from engine.cli.output import gauge, print_json, table
from engine.money import format_usd, usd_to_micros


def cmd_status(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        if args.project is None and args.agent is None:  # every budget with a limit or spend
            statuses = run_sync(engine.budget_overview())
        else:
            statuses = run_sync(engine.budget_status(args.project, args.agent))
    finally:
        engine.close()
    if args.json:
        print_json([status_row(s) for s in statuses])
        return 0
    print(
        table(
            ["budget", "period", "limit", "spent", "reserved", "remaining", "gauge", "level"],
            [
                (
                    s.scope if s.scope == "system" else f"{s.scope} {s.key}",
                    s.period,
                    format_usd(s.limit_micros) if s.limit_micros is not None else "no limit",
                    format_usd(s.spent_micros),
                    format_usd(s.reserved_micros),
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
        data = run_sync(engine.budget_allocation(apply=args.apply, force=getattr(args, "force", False)))
    finally:
        engine.close()
    if args.json:
        print_json(data)
        return 0
    if not data["projects"]:
        print("no projects yet: nothing to allocate")
        return 0
    micros = usd_to_micros
    print(
        table(
            ["project", "weight", "spend (this period)", "current limit", "set by", "proposed limit"],
            [
                (
                    p["project"],
                    f"{p['weight']:g}",
                    format_usd(micros(p["spend_usd"])),
                    format_usd(micros(p["current_limit_usd"])) if p["current_limit_usd"] is not None else "none",
                    "person (cap)" if p["cap_usd"] is not None else ("allocator" if p["limit_set_by"] else "—"),
                    format_usd(micros(p["proposed_limit_usd"])),
                )
                for p in data["projects"]
            ],
        )
    )
    print(
        f"system limit {format_usd(micros(data['system_limit_usd']))}: {data['reserve_pct']:g}% reserve, "
        f"{format_usd(micros(data['available_usd']))} to allocate, floor {format_usd(micros(data['floor_usd']))} "
        f"per project; kept back {format_usd(micros(data['reserve_usd']))}"
    )
    print("why:")
    for p in data["projects"]:
        print(f"  {p['project']}: {p['why']}")
        for agent in p["agents"]:
            limit = "no limit" if agent["limit_usd"] is None else format_usd(micros(agent["limit_usd"]))
            note = f" ({agent['note']})" if agent["note"] else ""
            print(
                f"    agent {agent['agent']}: spent {format_usd(micros(agent['spend_usd']))} this period, {limit}{note}"
            )
    if args.apply:
        print(
            "applied to project files (limits a person set are kept"
            + (": --force replaced them)" if data["force"] else ")")
        )
    else:
        print("run with --apply to write these limits")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    """Level crossings and usage anomalies, most recent first. ``--json``: one list, each entry
    with ``kind`` "level" (scope, key, period, level, percent) or "anomaly" (see stats)."""
    engine = open_engine()
    try:
        log = run_sync(engine.budget_alerts(observe=True))  # every budget's status first: the log is complete
    finally:
        engine.close()
    if args.json:
        print_json(log.merged())
        return 0
    alerts, anomalies = log.levels, log.anomalies
    if not alerts and not anomalies:
        print("no alert level crossed yet, no usage anomaly")
        return 0
    if alerts:
        print(
            table(
                ["when (UTC)", "budget", "period", "level", "percent"],
                [
                    (
                        _when(a["ts"]),
                        f"{a['scope']} {a['key']}".strip(),
                        a["period"],
                        level_label(int(a["level"])),
                        f"{a['percent']:.1f}%",
                    )
                    for a in alerts
                ],
            )
        )
    else:
        print("no alert level crossed yet")
    print_anomalies({"count": len(anomalies), "recent": list(anomalies)})
    return 0


def _when(ts: object) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(ts)))  # type: ignore[arg-type]


def print_anomalies(summary: dict[str, Any]) -> None:
    """The usage anomalies (claims charged at the worst case instead), one line each."""
    if not summary.get("count"):
        return
    print(f"usage anomalies: {summary['count']} (each charged at its reservation's worst case)")
    for a in summary.get("recent", []):
        print(
            f"  {_when(a['ts'])}  anomaly {a['what']}: {a['provider']} {a['model']} request {a['request_id']} "
            f"claimed {a['claimed_tokens_in'] or '?'} in / {a['claimed_tokens_out'] or '?'} out tokens"
            + ("" if a["claimed_usd"] is None else f" ({format_usd(usd_to_micros(a['claimed_usd']))})")
            + f", charged {format_usd(usd_to_micros(a['charged_usd']))}"
        )
