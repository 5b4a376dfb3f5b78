"""``templar config``: show, explain, set, unset, export, import, projects."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.api.config import ConfigDesk
from engine.cli.aio import run_sync
from engine.cli.output import print_json, table


def _desk() -> ConfigDesk:
    """``templar config`` never opens the database: it must work while the store is broken."""
    return ConfigDesk.from_env()


def _short(value: object, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_show(args: argparse.Namespace) -> int:
    entries = run_sync(_desk().config_show(args.project, args.agent))
    rows = [(e.key, e.value, e.level, e.set_by) for e in entries]
    if args.json:
        print_json(
            {
                "project": args.project,
                "agent": args.agent,
                "settings": [{"key": k, "value": v, "level": lvl, "source": src} for k, v, lvl, src in rows],
            }
        )
        return 0
    print(table(["key", "value", "level", "set by"], [(k, _short(v), lvl, src) for k, v, lvl, src in rows]))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    if not args.key:  # the API's "" means every key; on the command line it is a mistake
        from engine.errors import ConfigError

        raise ConfigError("not a valid key: ''", key="")
    info = run_sync(_desk().config_explain(args.key, args.project, args.agent)).to_dict()
    if args.json:
        print_json(info)
        return 0
    scope = f" for project {args.project}" + (f", agent {args.agent}" if args.agent else "") if args.project else ""
    for entry in info["entries"]:
        where = f"{entry['source']}:{entry['line']}" if entry["line"] else entry["source"]
        print(f"{entry['key']} = {_short(entry['value'], 200)}{scope}")
        print(f"  set by: {entry['level']} ({where})")
        for level, value in entry["levels"].items():
            print(f"  {level:>8}: {_short(value, 200)}")
    return 0


def _print_trusted(result: dict[str, Any]) -> None:
    for route in result.get("trusted") or []:
        what = f"${route['variable']}" if route["variable"] else "no key"
        print(f"trusted: provider {route['provider']} sends {what} to {route['host']} (project {result['project']})")


def cmd_set(args: argparse.Namespace) -> int:
    result = run_sync(
        _desk().config_set(args.key, args.value, args.project, args.agent, trust_providers=args.trust_providers)
    )
    if args.json:
        print_json(result)
    else:
        who = f"agent {args.agent} of project {args.project}" if args.agent else f"project {args.project}"
        print(f"{result['key']} = {_short(result['value'], 200)} for {who} ({result['file']})")
        _print_trusted(result)
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    result = run_sync(_desk().config_trust(args.project))
    if args.json:
        print_json(result)
    elif not result["trusted"]:
        print(f"project {args.project} sends keys only where the trusted settings already do: nothing to trust")
    else:
        _print_trusted(result)
    return 0


def cmd_unset(args: argparse.Namespace) -> int:
    result = run_sync(_desk().config_unset(args.key, args.project, args.agent))
    if args.json:
        print_json(result)
    else:
        print(f"{result['key']} override removed")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    result = run_sync(_desk().config_export(args.project, Path(args.file)))
    print_json(result) if args.json else print(f"exported project {args.project} to {args.file}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    result = run_sync(_desk().config_import(Path(args.file), args.project, trust_providers=args.trust_providers))
    if args.json:
        print_json(result)
    else:
        print(f"imported project {result['project']} ({result['file']})")
        _print_trusted(result)
    return 0


def cmd_projects(args: argparse.Namespace) -> int:
    scopes = run_sync(_desk().config_projects())
    projects = [{"project": p, "agents": agents} for p, agents in scopes.items()]
    if args.json:
        print_json(projects)
    elif not projects:
        print("no projects yet: `templar config set KEY VALUE --project NAME` creates one")
    else:
        print(table(["project", "agents"], [(p["project"], ", ".join(p["agents"])) for p in projects]))
    return 0
