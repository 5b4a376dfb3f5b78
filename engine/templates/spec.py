"""Template specs: patterns + typed parameters + a Jinja2 body, as plain dataclasses.

A spec is consistent by construction: every slot of every pattern is a declared parameter with
the same slot type, and a parameter without a default is bound by every pattern. Dict form
(``to_dict`` / ``from_dict``) is what the TOML data files and persistence use::

    name = "dataclass"            # [a-z][a-z0-9_.-]*
    version = 1
    language = "python"
    description = "..."
    patterns = ["dataclass {name:identifier} with fields {fields:field_list}", ...]
    body = '''...jinja2...'''
    [[params]]                    # name, type, description, example, optional default
    [[examples]]                  # task, [examples.bindings]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Final

from engine.templates.errors import (
    BindingError,
    PatternError,
    RenderError,
    SlotError,
    SpecError,
)
from engine.templates.pattern import Match, TaskPattern
from engine.templates.render import compile_body, render_body
from engine.templates.slots import SlotType, check_identifier, parse_slot_type

_NAME_RE = re.compile(r"[a-z][a-z0-9_.\-]{0,99}")
_SPEC_KEYS = frozenset({"name", "description", "patterns", "body", "params", "examples", "version", "language"})
_PARAM_KEYS = frozenset({"name", "type", "description", "example", "default"})


class _NoDefault:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Final = _NoDefault()


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One template parameter: a slot type spelling (see :mod:`engine.templates.slots`)."""

    name: str
    type: str
    description: str = ""
    example: object = None
    default: object = NO_DEFAULT

    @property
    def slot(self) -> SlotType:
        """The parsed slot type."""
        return parse_slot_type(self.type)

    @property
    def required(self) -> bool:
        """Whether the parameter has no default."""
        return self.default is NO_DEFAULT

    def to_dict(self) -> dict[str, object]:
        """Plain-data form (TOML-friendly: ``None`` values are omitted)."""
        data: dict[str, object] = {"name": self.name, "type": self.type}
        if self.description:
            data["description"] = self.description
        if self.example is not None:
            data["example"] = _plain(self.example)
        if not self.required:
            data["default"] = _plain(self.default)
        return data


@dataclass(frozen=True, slots=True)
class TemplateExample:
    """A task that must match the template, and the bindings it must produce."""

    task: str
    bindings: Mapping[str, object]

    def to_dict(self) -> dict[str, object]:
        """Plain-data form."""
        return {"task": self.task, "bindings": {k: _plain(v) for k, v in self.bindings.items()}}


def _plain(value: object) -> object:
    """Tuples become lists (TOML and JSON have no tuples)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A parameterised template for one kind of task."""

    name: str
    description: str
    patterns: tuple[TaskPattern, ...]
    body: str
    params: tuple[ParamSpec, ...] = ()
    examples: tuple[TemplateExample, ...] = ()
    version: int = 1
    language: str = "python"
    #: > 0: this spec is alias ``alias`` of template ``name`` (engine.learning.aliases): indexed
    #: beside it, never replacing it, and served as that template.
    alias: int = 0

    @property
    def key(self) -> str:
        """The index key: the name, or the name and alias id for an alias."""
        return f"{self.name}#alias{self.alias}" if self.alias else self.name

    def __post_init__(self) -> None:
        """Parse pattern strings and check the spec is consistent."""
        set_ = object.__setattr__
        types = {p.name: p.type for p in self.params}
        try:
            patterns = tuple(p if isinstance(p, TaskPattern) else TaskPattern(p, types) for p in self.patterns)
        except PatternError as exc:
            raise SpecError(f"template {self.name!r}: {exc}") from exc
        set_(self, "patterns", patterns)
        set_(self, "params", tuple(self.params))
        set_(self, "examples", tuple(self.examples))
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise SpecError(f"bad template name {self.name!r}")
        if not patterns:
            raise SpecError(f"template {self.name!r} has no patterns")
        if not isinstance(self.version, int) or self.version < 1:
            raise SpecError(f"template {self.name!r}: version must be a positive integer")
        by_name: dict[str, ParamSpec] = {}
        params: list[ParamSpec] = []
        for param in self.params:
            try:
                check_identifier(param.name, "parameter name")
                slot = param.slot
                if not param.required:
                    param = replace(param, default=slot.coerce(param.default))
            except SlotError as exc:
                raise SpecError(f"template {self.name!r}, param {param.name!r}: {exc}") from exc
            params.append(param)
            if param.name in by_name:
                raise SpecError(f"template {self.name!r}: duplicate param {param.name!r}")
            by_name[param.name] = param
        set_(self, "params", tuple(params))
        for pattern in patterns:
            slots = {s.name: s.type for s in pattern.slots}
            for name, slot_type in slots.items():
                bound = by_name.get(name)
                if bound is None:
                    raise SpecError(f"template {self.name!r}: slot {name!r} is not a param")
                if bound.slot != slot_type:
                    raise SpecError(
                        f"template {self.name!r}: slot {name!r} is {slot_type.spec} in "
                        f"{pattern.text!r} but the param is {bound.slot.spec}"
                    )
            for param in self.params:
                if param.required and param.name not in slots:
                    raise SpecError(
                        f"template {self.name!r}: pattern {pattern.text!r} does not bind required param {param.name!r}"
                    )

    def __hash__(self) -> int:
        """Templates are identified by name and version."""
        return hash((self.name, self.version))

    # -- bindings and rendering -------------------------------------------------------------

    def resolve(self, bindings: Mapping[str, object]) -> dict[str, object]:
        """Type-check bindings and fill defaults; raise :class:`BindingError` if wrong."""
        unknown = set(bindings) - {p.name for p in self.params}
        if unknown:
            raise BindingError(f"template {self.name!r}: unknown params {sorted(unknown)}")
        values: dict[str, object] = {}
        for param in self.params:
            if param.name in bindings:
                try:
                    values[param.name] = param.slot.coerce(bindings[param.name])
                except SlotError as exc:
                    raise BindingError(f"template {self.name!r}, param {param.name!r}: {exc}") from exc
            elif param.required:
                raise BindingError(f"template {self.name!r}: missing param {param.name!r}")
            else:
                values[param.name] = param.default
        return values

    def render(self, bindings: Mapping[str, object]) -> str:
        """Check the bindings, then render the body in the sandbox."""
        return render_body(self.body, self.resolve(bindings))

    def match(self, task: str) -> Match | None:
        """The best match of ``task`` against this template's own patterns (with defaults)."""
        from engine.templates.matcher import TemplateIndex

        return TemplateIndex([self]).match(task)

    def check(self) -> list[str]:
        """Problems with this template: body syntax, examples that fail to match or render."""
        problems: list[str] = []
        try:
            compile_body(self.body)
        except RenderError as exc:
            return [str(exc)]
        for example in self.examples:
            found = self.match(example.task)
            if found is None:
                problems.append(f"example {example.task!r} does not match")
                continue
            try:
                expected = self.resolve(example.bindings)
            except BindingError as exc:
                problems.append(f"example {example.task!r}: {exc}")
                continue
            if dict(found.bindings) != expected:
                problems.append(f"example {example.task!r} bound {dict(found.bindings)} not {expected}")
            try:
                code = self.render(found.bindings)
                if self.language == "python":
                    compile(code, f"<template {self.name}>", "exec")
            except (RenderError, SyntaxError) as exc:
                problems.append(f"example {example.task!r} renders badly: {exc}")
        return problems

    # -- dict form --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """Plain-data form, the inverse of :meth:`from_dict`."""
        return {
            "name": self.name,
            "version": self.version,
            "language": self.language,
            "description": self.description,
            "patterns": [p.text for p in self.patterns],
            "body": self.body,
            "params": [p.to_dict() for p in self.params],
            "examples": [e.to_dict() for e in self.examples],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, source: str = "") -> TemplateSpec:
        """Build a spec from plain data (e.g. a parsed TOML file); raise :class:`SpecError`."""
        where = f"{source}: " if source else ""
        unknown = set(data) - _SPEC_KEYS
        if unknown:
            raise SpecError(f"{where}unknown keys {sorted(unknown)}")
        for key in ("name", "patterns", "body"):
            if key not in data:
                raise SpecError(f"{where}missing key {key!r}")
        try:
            params = tuple(_param(p) for p in _list(data.get("params", []), "params"))
            examples = tuple(
                TemplateExample(str(e["task"]), MappingProxyType(dict(e.get("bindings", {}))))
                for e in _list(data.get("examples", []), "examples")
            )
            return cls(
                name=str(data["name"]),
                description=str(data.get("description", "")),
                # plain strings: __post_init__ parses them into TaskPatterns with the params' types
                patterns=tuple(str(p) for p in _list(data["patterns"], "patterns")),  # type: ignore[misc]
                body=str(data["body"]),
                params=params,
                examples=examples,
                version=data.get("version", 1),  # type: ignore[arg-type]
                language=str(data.get("language", "python")),
            )
        except SpecError as exc:
            raise SpecError(f"{where}{exc}") from exc
        except (KeyError, TypeError, ValueError, SlotError) as exc:
            raise SpecError(f"{where}{type(exc).__name__}: {exc}") from exc


def _list(value: object, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise SpecError(f"{key!r} must be a list")
    return value


def _param(data: object) -> ParamSpec:
    if not isinstance(data, Mapping):
        raise SpecError("each param must be a table")
    unknown = set(data) - _PARAM_KEYS
    if unknown:
        raise SpecError(f"unknown param keys {sorted(unknown)}")
    return ParamSpec(
        name=str(data["name"]),
        type=str(data["type"]),
        description=str(data.get("description", "")),
        example=data.get("example"),
        default=data.get("default", NO_DEFAULT),
    )


def specs_by_name(specs: Iterable[TemplateSpec]) -> dict[str, TemplateSpec]:
    """Index specs by name; raise :class:`SpecError` on a duplicate name."""
    out: dict[str, TemplateSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise SpecError(f"duplicate template name {spec.name!r}")
        out[spec.name] = spec
    return out
