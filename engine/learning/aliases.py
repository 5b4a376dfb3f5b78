"""Aliases, not duplicates (issue 13 item 3).

A paid answer to a new wording may be, byte for byte, what an existing learned template renders
with some bindings ("function that tells if a number is prime" gets the same ``is_prime`` code
as template 7). Then the wording becomes an *alias pattern* of that template instead of a second
template: review shows it as "same as template N", the library lists a template's aliases with
their hit counts, and a served alias is an ordinary answer of the template (same name, version,
wrong-answer feedback and retirement).

How the bindings are found: the template's body is read as a regular expression (its literal
text, and a group per placeholder ``{{ p }}``, ``{{ p | snake }}``, ``{{ p | repr }}``); a body
with other tags (loops, other filters) is never aliased. The bindings the groups capture are
then rendered and must give back the paid code exactly: that is the only test that counts.

The alias pattern is the new wording's own: its canonical wording when it holds no values, else
the deterministic proposal's slots (:mod:`engine.learning.literals`) renamed and retyped to the
template's parameters whose values they carry. A template parameter the wording does not carry
is fixed to the captured value. Before an alias exists, its spec must match the new task and
render the paid code again (:func:`alias_check`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from engine.learning.body import Param
from engine.learning.literals import propose
from engine.learning.review import _SLOT, literal_in_pattern
from engine.learning.zeroslot import has_no_values, zero_slot_pattern
from engine.templates import TemplateSpec
from engine.templates.naming import snake
from engine.templates.normalize import NormalizedTask

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
_PLAIN = re.compile(r"^([A-Za-z_]\w*)(?:\s*\|\s*(snake|repr))?$")
_GROUP = {
    "identifier": r"[A-Za-z_][A-Za-z0-9_]*",
    "word": r"[A-Za-z_][A-Za-z0-9_]*",
    "integer": r"-?\d+",
    "number": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
}
_STRING = r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'"
MAX_PLACEHOLDERS = 40


@dataclass(frozen=True)
class AliasProposal:
    """A wording that renders an existing template: its pattern, the template's parameters with
    the captured values (those not a slot of ``pattern`` are fixed)."""

    template_id: int
    pattern: str
    params: list[Param]


def body_regex(body: str, params: list[Param]) -> re.Pattern[str] | None:
    """The body as a regular expression with one named group per (parameter, form), or None."""
    if "{%" in body or "{#" in body:
        return None
    types = {p.name: p.base_type for p in params}
    parts: list[str] = []
    seen: set[str] = set()
    cursor = 0
    count = 0
    for m in _EXPR.finditer(body):
        parts.append(re.escape(body[cursor : m.start()]))
        cursor = m.end()
        expr = m.group(1)
        if expr == "'{'":
            parts.append(re.escape("{"))
            continue
        plain = _PLAIN.match(expr)
        if plain is None or plain.group(1) not in types:
            return None
        name, form = plain.group(1), plain.group(2) or "raw"
        base = types[name]
        group = _STRING if form == "repr" else _GROUP.get(base)
        if group is None or (form == "repr") != (base not in _GROUP):
            return None
        key = f"{name}__{form}"
        parts.append(f"(?P={key})" if key in seen else f"(?P<{key}>{group})")
        seen.add(key)
        count += 1
        if count > MAX_PLACEHOLDERS:
            return None
    parts.append(re.escape(body[cursor:]))
    return re.compile("".join(parts), re.DOTALL)


def captured_bindings(spec: TemplateSpec, body: str, params: list[Param], code: str) -> dict[str, Any] | None:
    """Bindings with which the template renders ``code`` byte for byte, or None."""
    regex = body_regex(body, params)
    if regex is None:
        return None
    m = regex.fullmatch(code)
    if m is None:
        return None
    bindings: dict[str, Any] = {}
    for key, text in m.groupdict().items():
        name, form = key.rsplit("__", 1)
        base = next(p.base_type for p in params if p.name == name)
        value: Any
        if form == "repr":
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return None
        elif base == "integer":
            value = int(text)
        elif base == "number":
            value = float(text)
        else:
            value = text
        if form == "snake" and name in bindings:
            if snake(str(bindings[name])) != value:
                return None
            continue
        bindings.setdefault(name, value)
    if set(bindings) != {p.name for p in params}:
        return None
    try:
        rendered = spec.render(bindings)
    except Exception:  # noqa: BLE001 - bindings the template's types refuse: not an alias
        return None
    return bindings if rendered == code else None


def alias_pattern(task: str, code: str, template_params: list[Param], bindings: dict[str, Any]) -> str | None:
    """The new wording as a pattern over the template's parameters (see the module docstring)."""
    if has_no_values(task):
        return zero_slot_pattern(task)
    proposal = propose(task, code)
    if proposal is None:
        return None
    pattern = proposal.pattern
    by_value: dict[str, Param] = {repr(bindings[p.name]): p for p in template_params}
    used: set[str] = set()
    for slot in proposal.params:
        target = by_value.get(repr(slot.value))
        if target is None or target.name in used or target.base_type != slot.base_type:
            pattern = literal_in_pattern(pattern, slot)  # a value the template does not vary: a word
            continue
        used.add(target.name)
        pattern = _retarget(pattern, slot.name, target)
    return pattern


def _retarget(pattern: str, slot: str, target: Param) -> str:
    """Slot ``slot`` of ``pattern`` becomes the template's parameter ``target`` (name and type)."""

    def one(m: re.Match[str]) -> str:
        return f"{{{target.name}:{target.type}}}" if m.group(1) == slot else m.group(0)

    return _SLOT.sub(one, pattern)


def value_conflict(task: str, pattern: str, params: list[Param]) -> str:
    """Why the wording's own values rule this alias out ("" = they do not).

    A template parameter the wording does not bind is fixed to the captured value. That is
    safe for a name the wording leaves out ("function that tells if a number is prime" means
    ``is_prime``), never for a value: a wording that says "chunks of 6" while the code says 5
    is a paid answer that ignored the task, and an alias would keep serving that mistake."""
    slots = {m.group(1) for m in _SLOT.finditer(pattern)}
    fixed_values = [p for p in params if p.name not in slots and p.base_type not in ("identifier", "word")]
    if not fixed_values:
        return ""
    values = [t for t in NormalizedTask(task).tokens if t.kind in ("number", "quoted", "url")]
    if values:
        return (
            f"the wording holds the value {values[0].text} but the template's {fixed_values[0].name} would be "
            f"fixed to {fixed_values[0].value!r}"
        )
    return ""


def alias_spec(
    template_key: str, version: int, pattern: str, params: list[Param], body: str, task: str | None = None
) -> TemplateSpec:
    """The spec an alias is served by: the template's body and name, the alias pattern, and a
    default (the captured value) for every parameter the pattern does not bind."""
    slots = {m.group(1) for m in _SLOT.finditer(pattern)}
    return TemplateSpec.from_dict(
        {
            "name": template_key,
            "version": version,
            "description": (task or "")[:200],
            "patterns": [pattern],
            "body": body,
            "params": [
                {
                    "name": p.name,
                    "type": p.type,
                    "description": p.description,
                    "example": _plain(p.value),
                    **({} if p.name in slots else {"default": _plain(p.value)}),
                }
                for p in params
            ],
        }
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def alias_check(
    task: str, code: str, template_key: str, version: int, body: str, pattern: str, params: list[Param]
) -> str:
    """Why this alias must not exist ("" = it may): its pattern must parse, match the task, and
    render the paid code byte for byte."""
    if not pattern.strip():
        return "the wording cannot serve as a pattern"
    if conflict := value_conflict(task, pattern, params):
        return conflict
    try:
        spec = alias_spec(template_key, version, pattern, params, body, task)
    except Exception as exc:  # noqa: BLE001 - a pattern that does not parse
        return f"alias pattern: {exc}"
    found = spec.match(task)
    if found is None:
        return "the alias pattern does not match its task"
    try:
        rendered = spec.render(found.bindings)
    except Exception as exc:  # noqa: BLE001
        return f"rendering the template failed: {exc}"
    return "" if rendered == code else "the template does not render the paid code for this wording"


__all__ = [
    "AliasProposal",
    "alias_check",
    "alias_pattern",
    "alias_spec",
    "body_regex",
    "captured_bindings",
    "value_conflict",
]
