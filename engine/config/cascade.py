"""The configuration cascade: built-in defaults -> system -> user -> environment -> project -> agent.

Each level is a partial, nested dict read from one source. Levels merge key by key (tables
merge, every other value — lists included — replaces), and every effective leaf remembers which
level and which file set it (its provenance). The merged dict is validated once by the pydantic
schema; every error is mapped back to the file, key and line that caused it.

Invariants: reading never writes; unknown keys are errors with the closest valid key; keys
reserved for the system level (``budget.system``, ``budget.allocator``, ``store``) are refused
in project files, and ``budget.project`` is refused in agent tables; a project or agent
provider override that would send a key to a host nobody trusted is not honoured
(``engine.config.trust``). Key paths, text coercion and the unknown/reserved key checks live
in ``engine.config.keys``.
"""

from __future__ import annotations

import functools
import os
import typing
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from engine.config.keys import Path_, check_keys, coerce_text, field_annotation, flatten, unflatten
from engine.config.schema import (
    NAME_RE,
    Settings,
)
from engine.config.toml_text import join_key, locate_key, read_toml
from engine.errors import ConfigError, NotFound
from engine.paths import Paths

LEVELS = ("default", "system", "user", "env", "project", "agent")
ENV_PREFIX = "TEMPLAR_"
__all__ = [
    "ENV_PREFIX",
    "LEVELS",
    "Layer",
    "Origin",
    "Path_",
    "ResolvedConfig",
    "check_keys",
    "coerce_text",
    "field_annotation",
    "flatten",
    "list_agents",
    "list_projects",
    "load_config",
    "load_layers",
    "read_env_layer",
    "resolve",
    "system_settings_file",
    "unflatten",
    "validate_project_name",
]
# Environment variables that are not settings keys.
_ENV_SHORTCUTS: dict[str, tuple[str, ...]] = {"TEMPLAR_DATABASE_URL": ("store", "url")}


@functools.cache  # a realpath is ~7 lstat calls, and every load_config asks (once per request in serve)
def system_settings_file() -> Path:
    """The commented settings.toml: the repo root's in a checkout, the packaged copy when installed."""
    packaged = Path(__file__).with_name("settings.toml")
    return packaged.resolve()


@dataclass(frozen=True)
class Origin:
    """Where an effective value came from."""

    level: str
    source: str
    line: int | None = None

    def describe(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{self.level} ({where})"


@dataclass
class Layer:
    """One level of the cascade as read from its source."""

    level: str
    source: str
    data: dict[str, Any]
    text: str | None = None
    env_names: dict[Path_, str] = field(default_factory=dict)

    def origin(self, path: Path_, *, with_line: bool = True) -> Origin:
        """Who set ``path``. Finding the line scans the file, so it is only done on demand."""
        if self.level == "env":
            return Origin("env", self.env_names.get(path, "environment"))
        if self.level == "default":
            return Origin("default", "built-in")
        return Origin(self.level, self.source, locate_key(self.text, path) if with_line else None)


@dataclass(frozen=True)
class ResolvedConfig:
    """Effective settings for one project and agent, with provenance for every leaf.

    ``provenance`` gives each leaf's level and source; ``origin(path)`` adds the line.
    """

    settings: Settings
    project: str | None
    agent: str | None
    layers: tuple[Layer, ...]
    provenance: dict[Path_, Origin]
    owners: dict[Path_, Layer] = field(default_factory=dict)
    untrusted: tuple[Any, ...] = ()  # trust.Route overrides NOT honoured (see engine.config.trust)

    def origin(self, path: Path_) -> Origin:
        owner = self.owners.get(path)
        if owner is None:
            return self.provenance.get(path, Origin("default", "built-in"))
        return owner.origin(path)

    def value(self, path: Path_) -> Any:
        return flatten(self.settings.model_dump(mode="python")).get(path)

    def leaves(self) -> dict[Path_, Any]:
        return flatten(self.settings.model_dump(mode="python"))

    def explain(self, path: Path_) -> dict[str, Any]:
        """Effective value of ``path`` (a leaf or a table), who set it, and its value per level."""
        leaves = {p: v for p, v in self.leaves().items() if p[: len(path)] == path}
        if not leaves:
            raise NotFound(f"unknown key {join_key(path)!r}; see `templar config show`")
        rows = []
        for leaf, value in leaves.items():
            per_level = {}
            for layer in self.layers:
                layer_leaves = flatten(layer.data)
                if leaf in layer_leaves:
                    per_level[layer.level] = layer_leaves[leaf]
            origin = self.origin(leaf)
            rows.append(
                {
                    "key": join_key(leaf),
                    "value": value,
                    "level": origin.level,
                    "source": origin.source,
                    "line": origin.line,
                    "levels": per_level,
                }
            )
        return {"key": join_key(path), "project": self.project, "agent": self.agent, "entries": rows}


def read_env_layer(environ: typing.Mapping[str, str] | None = None) -> Layer:
    """``TEMPLAR_<SECTION>__<KEY>`` variables (and ``TEMPLAR_DATABASE_URL``) as a layer."""
    environ = os.environ if environ is None else environ
    leaves: dict[Path_, Any] = {}
    names: dict[Path_, str] = {}
    for name, raw in sorted(environ.items()):
        if name in _ENV_SHORTCUTS:
            path = _ENV_SHORTCUTS[name]
        elif name.startswith(ENV_PREFIX) and "__" in name:
            path = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
            if any(not part for part in path):
                raise ConfigError("malformed settings variable (empty part between '__')", file=name)
        else:
            continue
        try:
            leaves[path] = coerce_text(path, raw)
        except ValueError as exc:
            raise ConfigError(str(exc), file=name, key=join_key(path)) from None
        names[path] = name
    return Layer("env", "environment", unflatten(leaves), env_names=names)


def validate_project_name(name: str, what: str = "project") -> str:
    if not NAME_RE.match(name):
        raise ConfigError(f"invalid {what} name {name!r}: use letters, digits, '_', '-', '.' (max 64, no '/')")
    return name


def load_layers(
    paths: Paths,
    project: str | None = None,
    agent: str | None = None,
    *,
    environ: typing.Mapping[str, str] | None = None,
    project_data: tuple[dict[str, Any], str, str] | None = None,
) -> list[Layer]:
    """Read every level that applies. ``project_data`` replaces the project file (for dry runs)."""
    layers = [Layer("default", "built-in", Settings().model_dump(mode="python"))]
    system_file = system_settings_file()
    if system_file.exists():
        data, text = read_toml(system_file)
        layers.append(Layer("system", str(system_file), data, text))
    if paths.user_settings.exists():
        data, text = read_toml(paths.user_settings)
        layers.append(Layer("user", str(paths.user_settings), data, text))
    layers.append(read_env_layer(environ))
    if agent is not None and project is None:
        raise ConfigError("an agent belongs to a project: give --project too")
    if project is not None:
        validate_project_name(project)
        if project_data is not None:
            data, text, source = project_data
        else:
            file = paths.project_file(project)
            if file.exists():
                data, text = read_toml(file)
                source = str(file)
            else:
                data, text, source = {}, "", str(file)
        agents = data.get("agents", {})
        if not isinstance(agents, dict):
            raise ConfigError("agents must be a table of [agents.NAME] tables", file=source, key="agents")
        layers.append(Layer("project", source, {k: v for k, v in data.items() if k != "agents"}, text))
        if agent is not None:
            validate_project_name(agent, "agent")
            agent_data = agents.get(agent, {})
            if not isinstance(agent_data, dict):
                raise ConfigError("must be a table", file=source, key=f"agents.{agent}")
            layers.append(Layer("agent", source, agent_data, _agent_text(text, agent)))
    for layer in layers[1:]:
        check_keys(layer)
    return layers


def _agent_text(text: str, agent: str) -> str:
    """Rewrite ``[agents.NAME.x]`` headers to ``[x]`` so key lookups find agent lines by number."""
    out = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            head = stripped.strip("[]").strip()
            prefix = f"agents.{agent}"
            if head == prefix or head.startswith(prefix + "."):
                inside = True
                rest = head[len(prefix) :].lstrip(".")
                out.append(f"[{rest}]" if rest else "[__root__]")
                continue
            inside = False
            out.append("[__elsewhere__]")
            continue
        out.append(line if inside else "")
    return "\n".join(out)


def resolve(layers: list[Layer], project: str | None = None, agent: str | None = None) -> ResolvedConfig:
    """Merge layers with provenance and validate the result."""
    merged: dict[Path_, Any] = {}
    provenance: dict[Path_, Origin] = {}
    owners: dict[Path_, Layer] = {}
    for layer in layers:
        for path, value in flatten(layer.data).items():
            if path not in merged:
                # A table replaced by a scalar (or the reverse) drops the old subtree.
                for old in [p for p in merged if p[: len(path)] == path or path[: len(p)] == p]:
                    merged.pop(old)
                    provenance.pop(old, None)
                    owners.pop(old, None)
            merged[path] = value
            provenance[path] = layer.origin(path, with_line=False)
            owners[path] = layer
    try:
        settings = Settings.model_validate(unflatten(merged))
    except ValidationError as exc:
        raise _locate_validation_error(exc, provenance, owners) from None
    return ResolvedConfig(settings, project, agent, tuple(layers), provenance, owners)


def _locate_validation_error(
    exc: ValidationError, provenance: dict[Path_, Origin], owners: dict[Path_, Layer]
) -> ConfigError:
    error = exc.errors()[0]
    loc = tuple(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error.get("type") not in ("value_error", "assertion_error") and "input" in error:
        shown = repr(error["input"])
        message += f" (got {shown[:60]})"
    origin = provenance.get(loc)
    if origin is None:
        # A table-level rule (e.g. thresholds must increase): blame the key under this table
        # set by the highest level, the one most likely just changed.
        candidates = [p for p in provenance if p[: len(loc)] == loc and provenance[p].level != "default"]
        if candidates:
            rank = {level: i for i, level in enumerate(LEVELS)}
            loc = max(candidates, key=lambda p: rank[provenance[p].level])
            origin = provenance[loc]
    if origin is not None and loc in owners:
        origin = owners[loc].origin(loc)
    if origin is None or origin.level == "default":
        return ConfigError(message, key=join_key(loc) if loc else None)
    return ConfigError(message, file=origin.source, key=join_key(loc) if loc else None, line=origin.line)


_CACHE: OrderedDict[tuple[Any, ...], ResolvedConfig] = OrderedDict()
_CACHE_SIZE = 1024  # (project, agent) pairs; a load of 100 projects thrashed 64


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cascade_files(paths: Paths, project: str | None) -> tuple[str, ...]:
    """The files the cascade of ``project`` reads (their names only: built once per project)."""
    files = [system_settings_file(), paths.user_settings]
    if project is not None:
        files += [paths.project_file(project), paths.config_dir / "trusted-providers.toml"]
    return tuple(str(file) for file in files)


def _signature(paths: Paths, project: str | None, environ: typing.Mapping[str, str]) -> tuple[Any, ...]:
    """What the cascade depends on: each file's identity and the TEMPLAR_* environment. (Runs on
    every request in ``templar serve``: the TEMPLAR_* values are read by key, so the rest of the
    environment's values are never decoded.)"""
    stats: list[tuple[Any, ...]] = []
    for file in _cascade_files(paths, project):
        try:
            st = os.stat(file)
        except OSError:
            stats.append((file, None))
        else:
            stats.append((file, st.st_mtime_ns, st.st_size, st.st_ino))
    env = tuple(sorted((k, environ[k]) for k in environ if k.startswith(ENV_PREFIX)))
    return (tuple(stats), env)


def load_config(
    paths: Paths | None = None,
    project: str | None = None,
    agent: str | None = None,
    *,
    environ: typing.Mapping[str, str] | None = None,
) -> ResolvedConfig:
    """Read and validate the cascade for ``project``/``agent`` (both optional).

    Results are cached per process and reused while no file changed (same mtime, size and
    inode) and the TEMPLAR_* environment is the same, so the hot path pays a few ``stat``
    calls instead of parsing and validating TOML on every request.
    """
    paths = paths or Paths.from_env()
    env = os.environ if environ is None else environ
    key = (paths, project, agent, _signature(paths, project, env))
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    from engine.config.trust import enforce
    from engine.scrub import remember_names

    resolved = resolve(load_layers(paths, project, agent, environ=env), project, agent)
    resolved = cast(
        ResolvedConfig, enforce(resolved, paths, project, agent)
    )  # untrusted provider routes are not honoured
    remember_names(p.api_key_env for p in resolved.settings.providers.values())
    _CACHE[key] = resolved
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return resolved


def list_projects(paths: Paths) -> list[str]:
    if not paths.projects_dir.exists():
        return []
    return sorted(p.stem for p in paths.projects_dir.glob("*.toml"))


def list_agents(paths: Paths, project: str) -> list[str]:
    file = paths.project_file(project)
    if not file.exists():
        return []
    data, _ = read_toml(file)
    agents = data.get("agents", {})
    return sorted(agents) if isinstance(agents, dict) else []
