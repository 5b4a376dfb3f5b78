"""Secrets go only where a person said: which key variable each provider sends to which host.

A provider's *route* is the pair (``api_key_env``, host), the host being the origin of its
``api_base`` or, without one, its litellm provider's default endpoint. A route is trusted when

* the trusted levels (built-in defaults, settings.toml, the user file, ``TEMPLAR_*``
  variables) define it for some provider, or
* a person granted it for this project: ``config set``/``config import`` with
  ``--trust-providers``, or ``templar config trust``, which record the grant in
  ``<config dir>/trusted-providers.toml`` (machine-managed; never inside a project file, so a
  file cannot trust itself).

Writes: ``config set`` and ``config import`` that would add an untrusted route at project or
agent level (a new ``api_base`` host, another ``api_key_env``, a model of another provider, a new
provider) are refused, naming the variable and host, and write nothing, unless
``--trust-providers`` is given. Reads: a project file edited by hand is not refused, but its
untrusted provider overrides are NOT honoured: ``api_base``, ``api_key_env`` and ``model``
fall back to the trusted levels' values (a provider only the project defines is dropped from the
chain), and ``ResolvedConfig.untrusted`` says what was ignored, for ``doctor`` and ``generate``
to warn.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from engine.config.schema import ProviderSettings, Settings
from engine.config.toml_text import read_toml
from engine.errors import ConfigError
from engine.paths import Paths

TRUST_FILE = "trusted-providers.toml"
TRUSTED_LEVELS = ("default", "system", "user", "env")
ROUTE_KEYS = ("api_base", "api_key_env", "model")
# Where litellm sends a provider's requests when no api_base is given.
DEFAULT_HOSTS = {
    "gemini": "https://generativelanguage.googleapis.com",
    "openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
    "mistral": "https://api.mistral.ai",
    "groq": "https://api.groq.com",
    "deepseek": "https://api.deepseek.com",
    "together_ai": "https://api.together.xyz",
    "openrouter": "https://openrouter.ai",
    "fireworks_ai": "https://api.fireworks.ai",
    "xai": "https://api.x.ai",
    "cohere": "https://api.cohere.ai",
    "perplexity": "https://api.perplexity.ai",
    "deepinfra": "https://api.deepinfra.com",
    "cerebras": "https://api.cerebras.ai",
    "ollama": "http://localhost:11434",
    "ollama_chat": "http://localhost:11434",
}


@dataclass(frozen=True)
class Route:
    """One provider's key variable and the host it is sent to."""

    provider: str
    variable: str  # "" for a keyless provider
    host: str

    @property
    def pair(self) -> tuple[str, str]:
        return (self.variable, self.host)

    def describe(self) -> str:
        what = f"${self.variable}" if self.variable else "no key (prompts only)"
        return f"{what} -> {self.host}"

    def to_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "variable": self.variable, "host": self.host}


def endpoint_host(provider: ProviderSettings) -> str:
    """The origin (scheme://host[:port]) a provider's requests go to."""
    base = provider.api_base.strip()
    if not base:
        return DEFAULT_HOSTS.get(provider.provider, f"the default {provider.provider or 'provider'} endpoint")
    parts = urlsplit(base if "://" in base else "http://" + base)
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80 if parts.scheme == "http" else 443) else None
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")


def routes(settings: Settings) -> list[Route]:
    return [Route(name, p.api_key_env, endpoint_host(p)) for name, p in sorted(settings.providers.items())]


# -- grants --------------------------------------------------------------------------------------


def trust_file(paths: Paths) -> Path:
    return paths.config_dir / TRUST_FILE


def read_grants(paths: Paths, project: str | None) -> set[tuple[str, str]]:
    """The (variable, host) pairs a person trusted for ``project``."""
    file = trust_file(paths)
    if project is None or not file.exists():
        return set()
    data, _ = read_toml(file)
    grants = data.get("grant", [])
    if not isinstance(grants, list):
        raise ConfigError("must be a list of [[grant]] tables", file=str(file), key="grant")
    return {
        (str(g.get("variable", "")), str(g.get("host", "")))
        for g in grants
        if isinstance(g, dict) and g.get("project") == project
    }


def record_grants(paths: Paths, project: str, granted: list[Route]) -> None:
    """Add grants for ``project`` (idempotent)."""
    from engine.config.files import atomic_write

    if not granted:
        return
    file = trust_file(paths)
    data: dict[str, Any] = read_toml(file)[0] if file.exists() else {}
    grants = [g for g in data.get("grant", []) if isinstance(g, dict)]
    have = {(g.get("project"), g.get("variable"), g.get("host")) for g in grants}
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    for route in granted:
        if (project, route.variable, route.host) not in have:
            grants.append(
                {
                    "project": project,
                    "provider": route.provider,
                    "variable": route.variable,
                    "host": route.host,
                    "granted_at": now,
                }
            )
            have.add((project, route.variable, route.host))
    header = (
        "# Managed by templar: provider routes (key variable -> host) a person trusted per project,\n"
        "# with --trust-providers or `templar config trust`. Delete a [[grant]] to withdraw it.\n"
    )
    atomic_write(file, header + tomli_w.dumps({"grant": grants}))


# -- checking ------------------------------------------------------------------------------------


def trusted_settings(layers: list[Any]) -> Settings:
    from engine.config.cascade import resolve

    return resolve([layer for layer in layers if layer.level in TRUSTED_LEVELS]).settings


def untrusted_routes(settings: Settings, layers: list[Any], grants: set[tuple[str, str]]) -> list[Route]:
    """Routes of ``settings`` that neither the trusted levels nor a grant allow."""
    allowed = {route.pair for route in routes(trusted_settings(layers))} | grants
    return [route for route in routes(settings) if route.pair not in allowed]


def refuse_untrusted(new: list[Route], project: str, source: str) -> None:
    """The one-line refusal of a write that would send keys somewhere nobody trusted."""
    sends = "; ".join(f"provider {r.provider} would send {r.describe()}" for r in new)
    raise ConfigError(
        f"{sends}. A project or agent may change where keys go only with --trust-providers "
        f"(check the host first); nothing was written",
        file=source,
        key=f"providers.{new[0].provider}",
    )


def enforce(resolved: Any, paths: Paths, project: str | None, agent: str | None) -> Any:
    """``resolved`` with untrusted provider overrides of project/agent levels not honoured."""
    if project is None:
        return resolved
    layers = list(resolved.layers)
    bad = untrusted_routes(resolved.settings, layers, read_grants(paths, project))
    if not bad:
        return resolved
    from engine.config.cascade import resolve

    trusted = trusted_settings(layers)
    filtered = []
    for layer in layers:
        if layer.level not in ("project", "agent"):
            filtered.append(layer)
            continue
        data = copy.deepcopy(layer.data)
        _drop_routes(data, bad, trusted)
        filtered.append(dataclasses.replace(layer, data=data))
    try:
        honoured = resolve(filtered, project, agent)
    except ConfigError as exc:
        sends = "; ".join(f"{r.provider}: {r.describe()}" for r in bad)
        raise ConfigError(
            f"untrusted provider routes ({sends}) are ignored, and without them: {exc.message}. "
            f"Trust them with `templar config trust --project {project}`",
            file=exc.file,
            key=exc.key,
            line=exc.line,
        ) from None
    return dataclasses.replace(honoured, layers=resolved.layers, untrusted=tuple(bad))


def _drop_routes(data: dict[str, Any], bad: list[Route], trusted: Settings) -> None:
    providers = data.get("providers")
    names = {r.provider for r in bad}
    for name in names:
        if not isinstance(providers, dict) or not isinstance(providers.get(name), dict):
            continue
        if name in trusted.providers:
            for key in ROUTE_KEYS:
                providers[name].pop(key, None)
            if not providers[name]:
                providers.pop(name)
        else:
            providers.pop(name)
    chain = data.get("chain")
    if isinstance(chain, dict) and isinstance(chain.get("order"), list):
        chain["order"] = [n for n in chain["order"] if n not in names or n in trusted.providers]
    learning = data.get("learning")
    if isinstance(learning, dict) and learning.get("suggest_provider") in names - set(trusted.providers):
        learning.pop("suggest_provider")


def warning(route: Route, project: str) -> str:
    """What generate and doctor say about a route that was not honoured."""
    return (
        f"project {project}: provider {route.provider} would send {route.describe()}, which nobody trusted; "
        f"ignored (review it, then `templar config trust --project {project}`)"
    )
