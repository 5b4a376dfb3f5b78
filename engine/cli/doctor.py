"""``templar doctor`` and ``templar store migrate``."""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from typing import Any

from engine.cli.output import print_json
from engine.config import list_projects, load_config, system_settings_file
from engine.errors import ExitCode, TemplarError
from engine.paths import Paths
from engine.store.db import redact_url
from engine.money import micros_to_usd

ADD_PROVIDER_HINT = (
    "add a provider: export GEMINI_API_KEY=... (or OPENAI_API_KEY / ANTHROPIC_API_KEY), "
    "or point a provider at a local OpenAI-compatible server (see README, 'Providers')"
)


def provider_rows(settings: Any, environ: Any = None) -> list[dict[str, Any]]:
    """Each provider in the effective chain with its key present or missing (never the key), and
    which variable goes to which host."""
    from engine.config.trust import endpoint_host

    environ = os.environ if environ is None else environ
    rows = []
    for name in settings.chain.order:
        p = settings.providers[name]
        if not p.api_key_env:
            key = "not needed"
        else:
            key = "present" if environ.get(p.api_key_env) else "missing"
        rows.append({"provider": name, "model": p.model, "api_base": p.api_base or None,
                     "key_env": p.api_key_env or None, "key": key, "host": endpoint_host(p)})
    return rows


def untrusted_problems(paths: Paths, project: str | None, agent: str | None) -> list[str]:
    """One line per provider override (in any project) that is ignored because nobody trusted it."""
    from engine.config.trust import warning

    problems: list[str] = []
    scopes = [(project, agent)] if project else [(name, None) for name in list_projects(paths)]
    for name, who in scopes:
        try:
            resolved = load_config(paths, name, who)
        except TemplarError as exc:  # the chosen project's error is reported as "config valid: no"
            if name != project:
                problems.append(str(exc))
            continue
        problems += [warning(route, str(name)) for route in resolved.untrusted]
    return problems


async def _ping(engine: Any, settings: Any, name: str) -> dict[str, Any]:
    """One minimal paid call to provider ``name``, booked to the system budget only (project and
    agent empty, source ``ping``): a ping is never a project's spend."""
    from engine.budget.book import budget_refs
    from engine.llm.chain import ChainRequest

    quick = settings.model_copy(update={"chain": settings.chain.model_copy(update={"attempts": 1})})
    refs = [ref for ref in budget_refs(quick, "", "", engine.clock()) if ref.scope == "system"]
    events: list[Any] = []
    request = ChainRequest(
        messages=[{"role": "user", "content": "Reply with the word ok."}], max_tokens=5, temperature=0.0,
        request_id=str(uuid.uuid4()), project="", agent="", refs=refs, source="ping", order=(name,),
        confirmed=True,  # --ping is the person's explicit yes to a paid call
    )
    try:
        result = await engine.chain.complete(quick, request, events.append)
    except TemplarError as exc:
        failed = [e for e in events if type(e).__name__ == "AttemptFailed"]
        return {"ok": False, "error_class": failed[-1].error_class if failed else exc.kind, "message": str(exc)[:200]}
    return {"ok": True, "latency_ms": result.latency_ms, "cost_usd": micros_to_usd(result.cost_micros)}


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


def log_facts(paths: Paths) -> dict[str, Any]:
    """The log file's path and the level the ``templar`` logger writes at now."""
    import logging

    from engine.logs import ROOT_NAME, log_path

    return {"file": str(log_path(paths.data_dir)),
            "level": logging.getLevelName(logging.getLogger(ROOT_NAME).getEffectiveLevel()).lower()}


def cmd_doctor(args: argparse.Namespace) -> int:
    paths = Paths.from_env()
    report: dict[str, Any] = {"ok": True, "problems": []}
    system_file = system_settings_file()
    report["config"] = {
        "system_settings": {"file": str(system_file), "found": system_file.exists()},
        "user_settings": {"file": str(paths.user_settings), "found": paths.user_settings.exists()},
        "projects_dir": str(paths.projects_dir),
        "projects": list_projects(paths),
    }
    report["data_dir"] = str(paths.data_dir)
    report["log"] = log_facts(paths)
    settings = None
    try:
        settings = load_config(paths, args.project, args.agent).settings
        report["config"]["valid"] = True
    except TemplarError as exc:
        report["config"]["valid"] = False
        report["problems"].append(str(exc))
    engine = None
    try:
        from engine.service import Engine

        engine = Engine.from_settings(paths)
        status = engine.store.schema_status()
        report["database"] = {
            "url": redact_url(engine.store.url), "backend": status.backend, "server_version": status.server_version,
            "schema_version": status.version, "latest_schema_version": status.latest,
            "migrations": list(status.applied), "pending": list(status.pending),
            "integrity": engine.store.integrity_check(),
        }
    except TemplarError as exc:
        report["database"] = {"error": str(exc)}
        report["problems"].append(str(exc))
    if settings is not None:
        rows = provider_rows(settings)
        if args.ping and engine is not None:
            for row in rows:
                if row["key"] == "missing":
                    row["ping"] = {"ok": False, "error_class": "no_key", "message": f"set {row['key_env']}"}
                else:
                    row["ping"] = asyncio.run(_ping(engine, settings, row["provider"]))
                if not row["ping"]["ok"]:
                    report["problems"].append(
                        f"ping failed: {row['provider']} ({row['ping']['error_class']}): {row['ping']['message']}")
        report["providers"] = rows
        report["problems"] += untrusted_problems(paths, args.project, args.agent)
        if not any(r["key"] != "missing" for r in rows):
            report["problems"].append("no provider has a key: only templates and the cache can answer; " + ADD_PROVIDER_HINT)
    if engine is not None:
        engine.close()
    report["ok"] = not report["problems"]
    if args.json:
        print_json(report)
    else:
        _print_human(report)
    if not report["config"].get("valid") or "error" in report.get("database", {}):
        return 1
    return ping_exit_code(report.get("providers", [])) if args.ping else 0


def _print_human(report: dict[str, Any]) -> None:
    cfg = report["config"]
    mark = lambda ok: "ok  " if ok else "--  "  # noqa: E731
    print("config")
    print(f"  {mark(cfg['system_settings']['found'])}system settings  {cfg['system_settings']['file']}")
    print(f"  {mark(cfg['user_settings']['found'])}user settings    {cfg['user_settings']['file']}"
          + ("" if cfg["user_settings"]["found"] else " (optional, not present)"))
    print(f"      projects         {cfg['projects_dir']} ({len(cfg['projects'])} found)")
    print(f"  {mark(cfg.get('valid', False))}valid")
    print(f"data dir  {report['data_dir']}")
    print(f"log file  {report['log']['file']} (level {report['log']['level']}; --log-level or TEMPLAR_LOG_LEVEL)")
    db = report.get("database", {})
    if "error" in db:
        print(f"database  ERROR {db['error']}")
    else:
        print(f"database  {db['backend']} {db['server_version']}  {db['url']}")
        print(f"          schema version {db['schema_version']}/{db['latest_schema_version']}, integrity {db['integrity']}")
    if "providers" in report:
        print("providers (in chain order)")
        for row in report["providers"]:
            key = f"key {row['key']}" + (f" ({row['key_env']})" if row["key_env"] else "")
            line = f"  {row['provider']:<10} {row['model']:<36} {key}"
            line += f"  sends {'$' + row['key_env'] if row['key_env'] else 'no key'} to {row['host']}"
            ping = row.get("ping")
            if ping:
                line += (f"  ping ok {ping['latency_ms']} ms" if ping["ok"] else f"  ping failed: {ping['error_class']}")
            print(line)
    for problem in report["problems"]:
        print(f"! {problem}")


def cmd_migrate(args: argparse.Namespace) -> int:
    from engine.store.db import Store, sqlite_url

    paths = Paths.from_env()
    system = load_config(paths).settings

    url = system.store.url or sqlite_url(paths.ensure().default_db)
    store = Store.open(url, migrate=False)
    try:
        before = store.schema_status()
        applied = store.migrate()
        after = store.schema_status()
    finally:
        store.close()
    data = {"url": redact_url(url), "applied": applied, "schema_version": after.version, "was": before.version}
    if args.json:
        print_json(data)
    elif applied:
        print(f"migrated {redact_url(url)} from version {before.version} to {after.version}: {', '.join(applied)}")
    else:
        print(f"{redact_url(url)} is up to date (schema version {after.version})")
    return 0
