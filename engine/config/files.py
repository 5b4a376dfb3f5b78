"""Writing machine-managed config files: ``config set``, ``config export`` and ``config import``.

Invariants: a write is validated as the whole cascade *before* anything touches disk, then
lands atomically (temporary file + rename), so a failed set or import writes nothing. Only
project files under the config directory are written, always with tomli-w; the hand-commented
settings.toml is never rewritten. Values that look like API keys are refused everywhere. A
write that would send a key to a host nobody trusted (a new api_base host, another
api_key_env, a new provider) is refused unless the caller passes ``trust_providers``, which also
records the grant (see ``engine.config.trust``).
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from engine.config.cascade import Layer, check_keys, coerce_text, load_layers, resolve, validate_project_name
from engine.config.toml_text import MAX_CONFIG_BYTES, join_key, read_toml, split_key
from engine.config.trust import Route, read_grants, record_grants, refuse_untrusted, untrusted_routes
from engine.errors import ConfigError, NotFound
from engine.paths import Paths
from engine.safe_files import check_destination

EXPORT_FORMAT = 1
EXPORT_TABLE = "templar_export"
_HEADER = "# Managed by templar (`templar config set`). Safe to edit by hand; keep it valid TOML.\n"
# Shapes of real API keys from the major providers, and long opaque tokens.
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{30,}|"
    r"ghp_[A-Za-z0-9]{30,}|xox[bp]-[A-Za-z0-9-]{20,})"
)
# A long opaque token (mixed case and digits, no path separators) is most likely a key; long
# model names ("openrouter/anthropic/claude-3-5-sonnet-20241022") are not caught by this.
_OPAQUE_TOKEN = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z0-9_+=-]{32,}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def looks_like_secret(value: Any) -> bool:
    """True when a string value has the shape of an API key or similar token."""
    if isinstance(value, str):
        return bool(_SECRET_SHAPES.search(value) or _OPAQUE_TOKEN.match(value))
    if isinstance(value, dict):
        return any(looks_like_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(looks_like_secret(v) for v in value)
    return False


def _has_control(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_CONTROL.search(value))
    if isinstance(value, dict):
        return any(_has_control(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never half of one."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"refusing to write a file larger than {MAX_CONFIG_BYTES // 1000} kB (Templar could not read it back)",
            file=str(path),
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:  # a read-only or full disk, a file where a directory should be
        raise ConfigError(f"cannot write: {exc.strerror or exc}", file=str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"cannot write: {exc.strerror or exc}; nothing was changed", file=str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_project(paths: Paths, project: str) -> dict[str, Any]:
    file = paths.project_file(project)
    if not file.exists():
        return {}
    data, _ = read_toml(file)
    return data


def _validate_project_data(
    paths: Paths, project: str, data: dict[str, Any], source: str, text: str | None = None
) -> set[Route]:
    """Resolve the cascade with ``data`` as the project file, for the project and every agent;
    returns the provider routes in it that nobody trusted (see ``engine.config.trust``)."""
    text = tomli_w.dumps(data) if text is None else text
    agents = data.get("agents", {})
    names = list(agents) if isinstance(agents, dict) else []
    grants = read_grants(paths, project)
    untrusted: set[Route] = set()
    for agent in [None, *names]:
        layers = load_layers(paths, project, agent, project_data=(data, text, source))
        untrusted.update(untrusted_routes(resolve(layers, project, agent).settings, layers, grants))
    return untrusted


def _untrusted_now(paths: Paths, project: str, data: dict[str, Any]) -> set[Route]:
    """Untrusted routes of the project file as it is (none when it does not resolve)."""
    try:
        return _validate_project_data(paths, project, data, str(paths.project_file(project)))
    except ConfigError:
        return set()


def _admit_routes(paths: Paths, project: str, new: set[Route], trust: bool, source: str) -> list[dict[str, str]]:
    """Refuse new untrusted routes unless ``trust``; with it, the grants to record (after the write)."""
    ordered = sorted(new, key=lambda r: (r.provider, r.variable, r.host))
    if ordered and not trust:
        refuse_untrusted(ordered, project, source)
    return [r.to_dict() for r in ordered]


def set_value(
    paths: Paths, key: str, raw_value: str, project: str, agent: str | None = None, *, trust_providers: bool = False
) -> dict[str, Any]:
    """Set ``key`` to ``raw_value`` in the project file (or an agent table inside it). A change of
    where a key is sent (api_base host, api_key_env, provider) needs ``trust_providers``."""
    validate_project_name(project)
    if agent is not None:
        validate_project_name(agent, "agent")
    try:
        path = split_key(key)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from None
    try:
        value = coerce_text(path, raw_value)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from None
    if looks_like_secret(value):
        raise ConfigError(
            "looks like a secret; settings hold the NAME of an environment variable, never a key",
            key=key,
        )
    if _has_control(value):
        raise ConfigError("contains control characters; remove them", key=key)
    data = _read_project(paths, project)
    before = _untrusted_now(paths, project, copy.deepcopy(data))
    target_root: dict[str, Any] = data
    if agent:
        target_root = data.setdefault("agents", {}).setdefault(agent, {})
    # check the key alone first for a precise message
    probe = Layer("agent" if agent else "project", str(paths.project_file(project)), _nest(path, value))
    check_keys(probe)
    node = target_root
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    old = node.get(path[-1])
    node[path[-1]] = value
    source = str(paths.project_file(project))
    new_routes = _validate_project_data(paths, project, data, source, text="") - before
    trusted = _admit_routes(paths, project, new_routes, trust_providers, source)
    atomic_write(paths.project_file(project), _HEADER + tomli_w.dumps(data))
    record_grants(paths, project, sorted(new_routes, key=lambda r: r.provider))
    return {
        "key": join_key(path),
        "value": value,
        "previous": old,
        "project": project,
        "agent": agent,
        "file": source,
        "trusted": trusted,
    }


def unset_value(paths: Paths, key: str, project: str, agent: str | None = None) -> dict[str, Any]:
    """Remove an override so the level below shows through again."""
    path = split_key(key)
    data = _read_project(paths, project)
    node: Any = data.get("agents", {}).get(agent, {}) if agent else data
    trail = []
    for part in path[:-1]:
        trail.append((node, part))
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            raise NotFound(f"{key} is not set at {'agent' if agent else 'project'} level")
    if not isinstance(node, dict) or path[-1] not in node:
        raise NotFound(f"{key} is not set at {'agent' if agent else 'project'} level")
    old = node.pop(path[-1])
    for parent, part in reversed(trail):
        if parent[part] == {}:
            parent.pop(part)
    _validate_project_data(paths, project, data, str(paths.project_file(project)))
    atomic_write(paths.project_file(project), _HEADER + tomli_w.dumps(data))
    return {"key": join_key(path), "previous": old, "project": project, "agent": agent}


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node: dict[str, Any] = {path[-1]: value} if path else {}
    for part in reversed(path[:-1]):
        node = {part: node}
    return node


def export_project(paths: Paths, project: str, out: Path) -> dict[str, Any]:
    """Write the project's overrides (and its agents') to ``out`` in the versioned export format."""
    validate_project_name(project)
    if not paths.project_file(project).exists():
        raise NotFound(f"no project {project!r} (no file {paths.project_file(project)})")
    data = _read_project(paths, project)
    document = {
        EXPORT_TABLE: {
            "format": EXPORT_FORMAT,
            "kind": "project-config",
            "project": project,
            "exported_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        },
        **data,
    }
    text = "# Templar project configuration export. Import with `templar config import FILE`.\n"
    check_destination(out, what="config export")  # never a directory, a device node or a missing dir
    atomic_write(out, text + tomli_w.dumps(document))
    return {"project": project, "file": str(out)}


def import_project(
    paths: Paths, file: Path, project: str | None = None, *, trust_providers: bool = False
) -> dict[str, Any]:
    """Validate an export file completely, then write it as the project file (or write nothing).
    Provider routes in it that the trusted levels do not already allow need ``trust_providers``."""
    data, text = read_toml(file)
    meta = data.pop(EXPORT_TABLE, None)
    if not isinstance(meta, dict):
        raise ConfigError(f"not a Templar export: missing [{EXPORT_TABLE}] table", file=str(file))
    if meta.get("format") != EXPORT_FORMAT or meta.get("kind") != "project-config":
        raise ConfigError(
            f"unsupported export format {meta.get('format')!r} / kind {meta.get('kind')!r} "
            f"(this Templar reads format {EXPORT_FORMAT}, kind project-config)",
            file=str(file),
            key=f"{EXPORT_TABLE}.format",
        )
    name = project or meta.get("project")
    if not isinstance(name, str):
        raise ConfigError("no project name: give --project", file=str(file), key=f"{EXPORT_TABLE}.project")
    validate_project_name(name)
    if looks_like_secret(data):
        raise ConfigError("contains a value that looks like a secret; refusing to import", file=str(file))
    new_routes = _validate_project_data(paths, name, data, str(file), text)
    trusted = _admit_routes(paths, name, new_routes, trust_providers, str(file))
    atomic_write(paths.project_file(name), _HEADER + tomli_w.dumps(data))
    record_grants(paths, name, sorted(new_routes, key=lambda r: r.provider))
    return {"project": name, "file": str(paths.project_file(name)), "trusted": trusted}


def trust_project(paths: Paths, project: str) -> dict[str, Any]:
    """Grant every provider route the project file (and its agents) uses now: the explicit act
    that makes a hand-edited file's endpoint overrides count."""
    validate_project_name(project)
    if not paths.project_file(project).exists():
        raise NotFound(f"no project {project!r} (no file {paths.project_file(project)})")
    data = _read_project(paths, project)
    routes = sorted(
        _validate_project_data(paths, project, data, str(paths.project_file(project))),
        key=lambda r: (r.provider, r.variable, r.host),
    )
    record_grants(paths, project, routes)
    return {"project": project, "trusted": [r.to_dict() for r in routes]}
