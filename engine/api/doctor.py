"""Doctor and providers through the one door: which providers the chain will try (key present or
missing, never the key; which variable goes to which host), a minimal paid ping, the LLM client's
warm-up, and the whole ``templar doctor`` report.

The report is built without an ``Engine`` first (a broken config or database is what a doctor
is for), so ``Engine.diagnose`` is a class method that opens one if it can.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from engine.money import micros_to_usd

if TYPE_CHECKING:
    from engine.budget.book import BudgetBook
    from engine.config.schema import Settings
    from engine.llm.chain import ProviderChain
    from engine.paths import Paths

ADD_PROVIDER_HINT = (
    "add a provider: export GEMINI_API_KEY=... (or OPENAI_API_KEY / ANTHROPIC_API_KEY), "
    "or point a provider at a local OpenAI-compatible server (see README, 'Providers')"
)


class PingResult(TypedDict, total=False):
    """One ping: ``ok``; on success ``latency_ms`` and ``cost_usd``; else ``error_class`` and ``message``."""

    ok: bool
    latency_ms: int
    cost_usd: float
    error_class: str
    message: str


class ProviderRow(TypedDict, total=False):
    """A provider in the effective chain: ``key`` is "present", "missing" or "not needed"."""

    provider: str
    model: str
    api_base: str | None
    key_env: str | None
    key: str
    host: str
    ping: PingResult


@dataclass(frozen=True)
class ProviderCheck:
    """The chain's providers for one scope; ``hint`` says how to add one when none has a key;
    ``error`` is the configuration error that stopped the check ('' when none)."""

    rows: tuple[ProviderRow, ...]
    hint: str = ""
    error: str = ""

    @property
    def any_key(self) -> bool:
        return any(r["key"] != "missing" for r in self.rows)


def provider_rows(settings: Settings, environ: Mapping[str, str] | None = None) -> list[ProviderRow]:
    """Each provider in the effective chain with its key present or missing (never the key), and
    which variable goes to which host."""
    from engine.config.trust import endpoint_host

    environ = os.environ if environ is None else environ
    rows: list[ProviderRow] = []
    for name in settings.chain.order:
        p = settings.providers[name]
        if not p.api_key_env:
            key = "not needed"
        else:
            key = "present" if environ.get(p.api_key_env) else "missing"
        rows.append(
            {
                "provider": name,
                "model": p.model,
                "api_base": p.api_base or None,
                "key_env": p.api_key_env or None,
                "key": key,
                "host": endpoint_host(p),
            }
        )
    return rows


def untrusted_problems(paths: Paths, project: str | None, agent: str | None) -> list[str]:
    """One line per provider override (in any project) that is ignored because nobody trusted it."""
    from engine.config.cascade import list_projects, load_config
    from engine.config.trust import warning
    from engine.errors import TemplarError

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


def log_facts(paths: Paths) -> dict[str, str]:
    """The log file's path and the level the ``templar`` logger writes at now."""
    import logging

    from engine.logs import ROOT_NAME, log_path

    return {
        "file": str(log_path(paths.data_dir)),
        "level": logging.getLevelName(logging.getLogger(ROOT_NAME).getEffectiveLevel()).lower(),
    }


class DoctorAPI:
    """Provider and doctor methods of ``Engine``."""

    paths: Paths
    environ: dict[str, str] | None
    chain: ProviderChain
    book: BudgetBook
    clock: Callable[[], float]

    async def providers(
        self, project: str | None = None, agent: str | None = None, *, environ: Mapping[str, str] | None = None
    ) -> ProviderCheck:
        """The providers the chain tries for ``project``/``agent``, in order, with their keys present
        or missing in ``environ`` (default: the engine's environment, else the process's). A broken
        config is returned as ``error``, not raised."""
        from engine.config.cascade import load_config
        from engine.errors import TemplarError

        env = next(e for e in (environ, self.environ, os.environ) if e is not None)
        try:
            settings = (await asyncio.to_thread(load_config, self.paths, project, agent, environ=self.environ)).settings
        except TemplarError as exc:
            return ProviderCheck((), error=f"Configuration error: {exc}")
        rows = provider_rows(settings, env)
        hint = ""
        if rows and all(r["key"] == "missing" for r in rows):
            hint = (
                "No provider has an API key: templates and the cache still answer for $0. To " + ADD_PROVIDER_HINT + "."
            )
        return ProviderCheck(tuple(rows), hint)

    async def ping_provider(self, name: str, project: str | None = None, agent: str | None = None) -> PingResult:
        """One minimal paid call to provider ``name`` (one attempt), booked to the system budget
        only (project and agent empty, source ``ping``): a ping is never a project's spend. Calling
        this is the person's explicit yes to the paid call. Failures are returned, not raised."""
        from engine.budget.book import budget_refs
        from engine.config.cascade import load_config
        from engine.errors import TemplarError
        from engine.llm.chain import ChainRequest

        settings = load_config(self.paths, project, agent, environ=self.environ).settings
        quick = settings.model_copy(update={"chain": settings.chain.model_copy(update={"attempts": 1})})
        refs = [ref for ref in budget_refs(quick, "", "", self.clock()) if ref.scope == "system"]
        events: list[Any] = []
        request = ChainRequest(
            messages=[{"role": "user", "content": "Reply with the word ok."}],
            max_tokens=5,
            temperature=0.0,
            request_id=str(uuid.uuid4()),
            project="",
            agent="",
            refs=refs,
            source="ping",
            order=(name,),
            confirmed=True,  # calling this is the person's explicit yes to a paid call
        )
        try:
            result = await self.chain.complete(quick, request, events.append)
        except TemplarError as exc:
            failed = [e for e in events if type(e).__name__ == "AttemptFailed"]
            return {
                "ok": False,
                "error_class": failed[-1].error_class if failed else exc.kind,
                "message": str(exc)[:200],
            }
        return {"ok": True, "latency_ms": result.latency_ms, "cost_usd": micros_to_usd(result.cost_micros)}

    @classmethod
    async def diagnose(
        cls, paths: Paths | None = None, project: str | None = None, agent: str | None = None, *, ping: bool = False
    ) -> dict[str, Any]:
        """The ``templar doctor`` report as JSON-ready data: config files and validity, data dir,
        log file, database (schema, integrity) or its error, providers (pinged when ``ping``: a
        paid call each) and ``problems``, one line each; ``ok`` when there is none."""
        from engine.config.cascade import (
            list_projects,
            load_config,
            system_settings_file,
        )
        from engine.errors import TemplarError
        from engine.paths import Paths as Paths_
        from engine.service import Engine

        paths = paths or Paths_.from_env()
        problems: list[str] = []
        report: dict[str, Any] = {"ok": True, "problems": problems}
        system_file = system_settings_file()
        config: dict[str, Any] = {
            "system_settings": {"file": str(system_file), "found": system_file.exists()},
            "user_settings": {"file": str(paths.user_settings), "found": paths.user_settings.exists()},
            "projects_dir": str(paths.projects_dir),
            "projects": list_projects(paths),
        }
        report["config"], report["data_dir"], report["log"] = config, str(paths.data_dir), log_facts(paths)
        settings = None
        try:
            settings = load_config(paths, project, agent).settings
            config["valid"] = True
        except TemplarError as exc:
            config["valid"] = False
            problems.append(str(exc))
        engine = None
        try:
            engine = Engine.from_settings(paths)
            report["database"] = (await engine.store_status()).to_dict()
        except TemplarError as exc:
            report["database"] = {"error": str(exc)}
            problems.append(str(exc))
        try:
            if settings is not None:
                rows = await _provider_report(engine, settings, project, agent, ping, problems)
                report["providers"] = rows
                problems += untrusted_problems(paths, project, agent)
                if not any(r["key"] != "missing" for r in rows):
                    problems.append(
                        "no provider has a key: only templates and the cache can answer; " + ADD_PROVIDER_HINT
                    )
        finally:
            if engine is not None:
                engine.close()
        report["ok"] = not problems
        return report


async def _provider_report(
    engine: Any, settings: Settings, project: str | None, agent: str | None, ping: bool, problems: list[str]
) -> list[ProviderRow]:
    rows = provider_rows(settings)
    if ping and engine is not None:
        for row in rows:
            if row["key"] == "missing":
                row["ping"] = {"ok": False, "error_class": "no_key", "message": f"set {row['key_env']}"}
            else:
                row["ping"] = await engine.ping_provider(row["provider"], project, agent)
            result = row["ping"]
            if not result["ok"]:
                problems.append(f"ping failed: {row['provider']} ({result['error_class']}): {result['message']}")
    return rows
