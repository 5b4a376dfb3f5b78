"""Settings through the one door: show, explain (with provenance), set, unset, export, import,
trust and the list of projects, for an ``Engine`` or, without opening a database, a ``ConfigDesk``.

Every call reads the cascade afresh (files change between calls) and returns plain data:
``ConfigEntry`` rows, ``ConfigFile`` rows and the JSON-ready ``dict`` results of
``engine.config.files``. File work runs in a thread, off the event loop. Errors are the
engine's (``ConfigError``, ``NotFound``, ``BadInput``), with one clear line each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.api.validate import ValidateAPI

if TYPE_CHECKING:
    from engine.config.cascade import ResolvedConfig
    from engine.config.schema import AlertSettings
    from engine.paths import Paths

ConfigChange = dict[str, Any]
"""What a write returned: ``key``, ``value``, ``file``, ``project``, ``trusted`` ... (JSON-ready)."""


@dataclass(frozen=True)
class ConfigEntry:
    """One effective setting: its value, the level and file (and line) that set it, its value
    at every level that sets it, and the schema's description of the key."""

    key: str
    path: tuple[str, ...]
    value: Any
    level: str
    source: str
    line: int | None
    levels: Mapping[str, Any]
    description: str

    @property
    def where(self) -> str:
        """``source:line`` when the line is known, else the source."""
        return f"{self.source}:{self.line}" if self.line else self.source

    @property
    def set_by(self) -> str:
        """``level (source:line)``, as ``templar config show`` prints it."""
        return f"{self.level} ({self.where})"

    def to_dict(self) -> dict[str, Any]:
        """The entry as ``templar config explain --json`` prints it."""
        return {
            "key": self.key,
            "value": self.value,
            "level": self.level,
            "source": self.source,
            "line": self.line,
            "levels": dict(self.levels),
        }


@dataclass(frozen=True)
class ConfigExplanation:
    """A key (or a table of keys, or ``""`` for all) resolved for one project and agent."""

    key: str
    project: str | None
    agent: str | None
    entries: tuple[ConfigEntry, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "project": self.project,
            "agent": self.agent,
            "entries": [e.to_dict() for e in self.entries],
        }


@dataclass(frozen=True)
class ConfigFile:
    """A file the cascade reads (``level`` is system, user or project) and whether it exists."""

    level: str
    path: Path
    exists: bool


def describe_key(path: tuple[str, ...]) -> str:
    """The schema's documentation of a settings key ('' when unknown)."""
    import typing

    from pydantic import BaseModel

    from engine.config.schema import Settings

    model: Any = Settings
    info = None
    skip = False
    for part in path:
        if skip:
            skip = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ""
        info = model.model_fields.get(part)
        if info is None:
            return ""
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:
            model, skip = typing.get_args(annotation)[1], True
        else:
            model = annotation
    doc = (info.description or "") if info is not None else ""
    if not doc and isinstance(model, type) and issubclass(model, BaseModel):
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
    return doc


def _parse_key(key: str) -> tuple[str, ...]:
    from engine.config.toml_text import split_key
    from engine.errors import ConfigError

    if not key:
        return ()
    try:
        return split_key(key)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from None


class ConfigAPI:
    """Config methods of ``Engine``: they need only ``paths`` and ``environ``, never the store."""

    paths: Paths
    environ: dict[str, str] | None

    def _resolved(self, project: str | None, agent: str | None) -> ResolvedConfig:
        from engine.config.cascade import load_config

        return load_config(self.paths, project, agent, environ=self.environ)

    def _explain(self, key: str, project: str | None, agent: str | None) -> ConfigExplanation:
        from engine.config.toml_text import split_key

        path = _parse_key(key)
        info = self._resolved(project, agent).explain(path)
        entries = tuple(
            ConfigEntry(
                e["key"],
                split_key(e["key"]),
                e["value"],
                e["level"],
                e["source"] or "",
                e["line"],
                dict(e["levels"]),
                describe_key(split_key(e["key"])),
            )
            for e in info["entries"]
        )
        return ConfigExplanation(info["key"], project, agent, entries)

    async def config_explain(
        self, key: str = "", project: str | None = None, agent: str | None = None
    ) -> ConfigExplanation:
        """``key`` (a leaf, a table such as ``chain``, or ``""`` for every key) for ``project`` and
        ``agent``: effective value, who set it (level, file, line), value at every level.
        Raises ``ConfigError`` for a malformed key or a broken file, ``NotFound`` for an unknown key."""
        return await asyncio.to_thread(self._explain, key, project, agent)

    async def config_show(self, project: str | None = None, agent: str | None = None) -> list[ConfigEntry]:
        """Every effective setting for ``project`` and ``agent``, sorted by key path."""
        explained = await self.config_explain("", project, agent)
        return sorted(explained.entries, key=lambda e: e.path)

    async def config_set(
        self, key: str, value: str, project: str, agent: str | None = None, *, trust_providers: bool = False
    ) -> ConfigChange:
        """Override ``key`` with ``value`` (TOML text; bare strings allowed) in the project file, or
        in its agent table. The whole cascade is validated before anything is written; a change of
        where an API key is sent needs ``trust_providers``."""
        from engine.config.files import set_value

        return await asyncio.to_thread(
            set_value, self.paths, key, value, project, agent, trust_providers=trust_providers
        )

    async def config_unset(self, key: str, project: str, agent: str | None = None) -> ConfigChange:
        """Remove a project (or agent) override, so the level below shows through again."""
        from engine.config.files import unset_value

        return await asyncio.to_thread(unset_value, self.paths, key, project, agent)

    async def config_export(self, project: str, file: Path) -> ConfigChange:
        """Write ``project``'s overrides (and its agents') to ``file`` in the versioned format."""
        from engine.config.files import export_project

        return await asyncio.to_thread(export_project, self.paths, project, file)

    async def config_import(
        self, file: Path, project: str | None = None, *, trust_providers: bool = False
    ) -> ConfigChange:
        """Validate an export completely, then write it as a project (named ``project`` or as in
        the file), or write nothing."""
        from engine.config.files import import_project

        return await asyncio.to_thread(import_project, self.paths, file, project, trust_providers=trust_providers)

    async def config_trust(self, project: str) -> ConfigChange:
        """Trust every provider route (key variable -> host) the project file uses now."""
        from engine.config.files import trust_project

        return await asyncio.to_thread(trust_project, self.paths, project)

    async def config_projects(self) -> dict[str, list[str]]:
        """Each project (sorted) with its agents."""
        from engine.config.cascade import list_agents, list_projects

        def read() -> dict[str, list[str]]:
            return {p: list_agents(self.paths, p) for p in list_projects(self.paths)}

        return await asyncio.to_thread(read)

    def config_stamp(self) -> tuple[object, ...]:
        """The identities (path, mtime, size, inode) of every file the cascade may read: any save,
        creation or removal changes it. A few ``stat`` calls: cheap enough to poll each second."""
        from engine.config.watch import stamp

        return stamp(self.paths)

    async def config_files(self) -> list[ConfigFile]:
        """The files the cascade reads (system, user, each project) and whether each exists."""
        from engine.config.cascade import system_settings_file

        def read() -> list[ConfigFile]:
            files = [("system", system_settings_file()), ("user", self.paths.user_settings)]
            files += [("project", f) for f in sorted(self.paths.projects_dir.glob("*.toml"))]
            return [ConfigFile(level, f, f.exists()) for level, f in files]

        return await asyncio.to_thread(read)

    def alert_settings(self, project: str | None = None, agent: str | None = None) -> AlertSettings:
        """The alert thresholds in force for ``project``/``agent``; the defaults when a file is
        broken (a question about a paid call must still be asked). Synchronous and cheap: a
        confirmation dialog asks for it while handling a key."""
        from engine.config.schema import AlertSettings
        from engine.errors import TemplarError

        try:
            return self._resolved(project, agent).settings.alerts
        except TemplarError:
            return AlertSettings()


class ConfigDesk(ConfigAPI, ValidateAPI):
    """The config methods alone, for a caller that must not open the database: ``templar config``
    works while the store is broken or unreachable, and the app lists the files it could not read."""

    def __init__(self, paths: Paths, environ: dict[str, str] | None = None) -> None:
        self.paths = paths
        self.environ = environ

    @classmethod
    def from_env(cls) -> ConfigDesk:
        """For the data and config dirs of this process's environment (``TEMPLAR_HOME`` ...)."""
        from engine.paths import Paths

        return cls(Paths.from_env())
