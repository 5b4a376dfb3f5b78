"""``templar doctor`` and ``templar store migrate``."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.aio import run_sync
from engine.cli.output import print_json
from engine.errors import ExitCode


def ping_exit_code(rows: list[dict[str, Any]]) -> int:
    """``doctor --ping``'s verdict: 4 when any provider with a key failed its ping, else 3 when
    a budget refused a ping, else 6 when a provider in the chain has no key, else 0."""
    pings = [row["ping"] for row in rows if "ping" in row]
    if any(not p["ok"] and p["error_class"] not in ("no_key", "budget_refused") for p in pings):
        return int(ExitCode.NO_PROVIDER)
    if any(p["error_class"] == "budget_refused" for p in pings if not p["ok"]):
        return int(ExitCode.BUDGET_REFUSED)
    if any(not p["ok"] for p in pings):
        return int(ExitCode.NO_KEY)
    return int(ExitCode.OK)


def cmd_doctor(args: argparse.Namespace) -> int:
    from engine.service import Engine

    report = run_sync(Engine.diagnose(project=args.project, agent=args.agent, ping=args.ping))
    if args.json:
        print_json(report)
    else:
        _print_human(report)
    if not report["config"].get("valid") or "error" in report.get("database", {}):
        return 1
    return ping_exit_code(report.get("providers", [])) if args.ping else 0


def _print_human(report: dict[str, Any]) -> None:
    cfg = report["config"]

    def mark(ok: bool) -> str:
        return "ok  " if ok else "--  "

    print("config")
    print(f"  {mark(cfg['system_settings']['found'])}system settings  {cfg['system_settings']['file']}")
    print(
        f"  {mark(cfg['user_settings']['found'])}user settings    {cfg['user_settings']['file']}"
        + ("" if cfg["user_settings"]["found"] else " (optional, not present)")
    )
    print(f"      projects         {cfg['projects_dir']} ({len(cfg['projects'])} found)")
    print(f"  {mark(cfg.get('valid', False))}valid")
    print(f"data dir  {report['data_dir']}")
    print(f"log file  {report['log']['file']} (level {report['log']['level']}; --log-level or TEMPLAR_LOG_LEVEL)")
    db = report.get("database", {})
    if "error" in db:
        print(f"database  ERROR {db['error']}")
    else:
        print(f"database  {db['backend']} {db['server_version']}  {db['url']}")
        print(
            f"          schema version {db['schema_version']}/{db['latest_schema_version']}, integrity {db['integrity']}"
        )
    if "providers" in report:
        print("providers (in chain order)")
        for row in report["providers"]:
            key = f"key {row['key']}" + (f" ({row['key_env']})" if row["key_env"] else "")
            line = f"  {row['provider']:<10} {row['model']:<36} {key}"
            line += f"  sends {'$' + row['key_env'] if row['key_env'] else 'no key'} to {row['host']}"
            ping = row.get("ping")
            if ping:
                line += f"  ping ok {ping['latency_ms']} ms" if ping["ok"] else f"  ping failed: {ping['error_class']}"
            print(line)
    for problem in report["problems"]:
        print(f"! {problem}")


def cmd_migrate(args: argparse.Namespace) -> int:
    from engine.service import Engine

    report = run_sync(Engine.migrate_store())
    if args.json:
        print_json(report.to_dict())
    elif report.applied:
        print(
            f"migrated {report.url} from version {report.was} to {report.schema_version}: {', '.join(report.applied)}"
        )
    else:
        print(f"{report.url} is up to date (schema version {report.schema_version})")
    return 0
