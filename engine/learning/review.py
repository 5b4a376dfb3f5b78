"""Checking a parameterization before it may become a template (pure: no database, no LLM).

A suggestion becomes a template only when all of these hold:

1. its pattern parses and every slot is a parameter with the same type;
2. the pattern matches the original task and binds exactly the original values;
3. every parameter is found in the code (it becomes a placeholder);
4. the round trip holds: rendering with the original values gives back the code, byte for byte;
5. the rendered code validates;
6. it generalises: rendering with other values of the same types still compiles and validates,
   and so do the number slots' boundary values (0, -1, 1, a large value) and the reversed order
   of related number slots, wherever the learned constraints accept them; string slots are
   typed by how the code uses them (notations, non-empty, one character:
   :mod:`engine.learning.stringuse`), and every degenerate value a string slot still accepts
   (empty, blank, tab, newline, quotes, backslash) must render and validate.

Before the checks, ``constrain`` (:mod:`engine.learning.constrain`) tightens the slot types:
meaning words of names stay fixed, numbers get ranges and orders; string slots are refined.
``Preview.params`` carries the tightened parameters; they are what a template stores.

A suggestion without parameters is a zero-slot template (:mod:`engine.learning.zeroslot`):
unless a person gave a slot-free pattern, its pattern is the task's canonical wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.errors import BadInput
from engine.learning.body import Param, ambiguous_values, build_body, round_trip
from engine.learning.constrain import boundary_problems, constrain
from engine.learning.stringprobe import string_probe_problems
from engine.learning.stringuse import refine_string_params
from engine.learning.zeroslot import zero_slot_pattern
from engine.templates import SpecError, TemplateSpec
from engine.templates.errors import PatternError, SlotError
from engine.templates.escapes import quoted_literal
from engine.templates.pattern import TaskPattern
from engine.templates.slots import parse_slot_type
from engine.templates.stringslots import STRING_KINDS, StringSlot
from engine.validation import CodeValidator
from engine.validation.models import Finding

_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


@dataclass(frozen=True)
class Preview:
    ok: bool
    reason: str
    pattern: str
    body: str
    rendered: str
    bindings: dict[str, Any] = field(default_factory=dict)
    score: int = 0
    problems: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    findings: tuple[Finding, ...] = ()  # the validator's findings on the suggestion's code

    @property
    def security_findings(self) -> tuple[Finding, ...]:
        return security_findings(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "pattern": self.pattern,
            "body": self.body,
            "rendered": self.rendered,
            "round_trip": not any(p.startswith("round trip") for p in self.problems) and bool(self.body),
            "bindings": {k: _plain(v) for k, v in self.bindings.items()},
            "score": self.score,
            "problems": list(self.problems),
            "params": [p.to_dict() for p in self.params],
            "findings": [f.to_dict() for f in self.findings],
            "security_findings": [f.to_dict() for f in self.security_findings],
        }


# Checkers whose findings say nothing about safety. Any other checker (Bandit, an AST layer, a
# scan that failed) counts as security: a checker added later is covered without a change here.
NOT_SECURITY_CHECKERS = frozenset({"syntax", "types", "docs"})


def security_findings(findings: tuple[Finding, ...] | list[Finding]) -> tuple[Finding, ...]:
    """Every finding about safety, whatever its severity (low ones included)."""
    return tuple(f for f in findings if f.checker not in NOT_SECURITY_CHECKERS)


class HeldForReview(BadInput):
    """A suggestion that may not be accepted without a person reading its code."""

    kind = "held_for_review"


def held_for_a_person(preview: Preview) -> str:
    """Why a suggestion must not be accepted without a person reading its code ("" = it may)."""
    flagged = preview.security_findings
    if not flagged:
        return ""
    listed = ", ".join(f"{f.rule_id} ({f.severity}) line {f.line}" for f in flagged[:5])
    more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
    return (
        f"the code has security findings: {listed}{more}; read the code and accept it by id "
        "(`templar templates review ID --accept`) if it is safe"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def sync_pattern(pattern: str, params: list[Param]) -> str:
    """Give every slot in ``pattern`` its parameter's current type (after rename/retype)."""
    types = {p.name: p.type for p in params}

    def fix(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"{{{name}:{types[name]}}}" if name in types else m.group(0)

    return _SLOT.sub(fix, pattern)


def rename_in_pattern(pattern: str, old: str, new: str) -> str:
    return _SLOT.sub(
        lambda m: "{" + (new if m.group(1) == old else m.group(1)) + (f":{m.group(2)}" if m.group(2) else "") + "}",
        pattern,
    )


def literal_in_pattern(pattern: str, param: Param, task: str | None = None) -> str:
    """Put a rejected parameter's original text back into the pattern, as a literal the
    pattern parser accepts: a string value as a quoted literal (syntax characters escaped),
    or as the task wrote it when the task has it unquoted (a path, a unit). Raises
    ``BadInput`` (nothing is written) if no spelling gives a pattern that parses and, when
    ``task`` is given, still matches it."""
    value: Any = param.value
    if param.base_type == "field_list":
        spellings = [", ".join(f"{n}: {t}" for n, t in value)]
    elif param.base_type == "identifier_list":
        spellings = [", ".join(value)]
    elif param.base_type in STRING_KINDS:
        spellings = [quoted_literal(str(value)), str(value)]
    else:
        spellings = [str(value)]
    problem = ""
    for text in spellings:

        def put(m: re.Match[str], text: str = text) -> str:
            return text if m.group(1) == param.name else m.group(0)

        candidate = _SLOT.sub(put, pattern)
        try:
            parsed = TaskPattern(candidate)
        except PatternError as exc:
            problem = problem or str(exc)
            continue
        if task is None or parsed.match(task) is not None:
            return candidate
        problem = problem or f"the pattern would no longer match the task {task!r}"
    raise BadInput(
        f"cannot drop {param.name}: with its value {value!r} as literal text, {problem}; "
        "keep it as a parameter, or edit the pattern by hand"
    )


def spec_for(
    name: str, pattern: str, body: str, params: list[Param], task: str | None, version: int = 1
) -> TemplateSpec:
    examples = [{"task": task, "bindings": {p.name: _plain(p.value) for p in params}}] if task else []
    return TemplateSpec.from_dict(
        {
            "name": name,
            "version": version,
            "description": (task or "")[:200],
            "patterns": [pattern],
            "body": body,
            "params": [
                {"name": p.name, "type": p.type, "description": p.description, "example": _plain(p.value)}
                for p in params
            ],
            "examples": examples,
        }
    )


def _variant(p: Param) -> Any:
    base = p.base_type
    if base == "identifier":
        return f"{p.value}Alt" if str(p.value)[:1].isupper() else f"{p.value}_alt"
    if base in ("word", "dotted_name"):
        return f"{p.value}x"
    if base in STRING_KINDS:
        slot = parse_slot_type(p.type)
        return slot.variant(str(p.value)) if isinstance(slot, StringSlot) else f"{p.value} alt"
    if base == "integer":
        return int(p.value) + 1  # type: ignore[call-overload]
    if base == "number":
        return float(p.value) + 1.5  # type: ignore[arg-type]
    if base == "identifier_list":
        return [f"{v}_alt" for v in p.value] + ["extra_item"]  # type: ignore[attr-defined]
    if base == "field_list":
        return list(p.value) + [("extra_field", "str")]  # type: ignore[call-overload]
    return p.value


def _within_range(p: Param, value: Any) -> Any:
    """A number variant that stays inside the slot's learned range (else the learned value)."""
    if p.base_type not in ("integer", "number"):
        return value
    try:
        parse_slot_type(p.type).coerce(value)
    except SlotError:
        return p.value
    return value


def check(task: str, code: str, pattern: str, params: list[Param], validator: CodeValidator) -> Preview:
    """Run every check above; the first failure is the reason, all are listed as problems."""
    problems: list[str] = []
    params = constrain(code, pattern, params)
    params, string_problems = refine_string_params(code, params)
    problems += string_problems
    pattern = sync_pattern(pattern, params)
    if not params and (not pattern.strip() or "{" in pattern):  # zero-slot: the task's canonical wording
        pattern = zero_slot_pattern(task) or ""
        if not pattern:
            problems.append("no parameters, and the task's wording cannot serve as a pattern")
    body, missing = build_body(code, params)
    for name in missing:
        problems.append(f"parameter {name} does not occur in the code")
    problems += ambiguous_values(code, params)
    spec = None
    bindings: dict[str, Any] = {}
    try:
        spec = spec_for("learned-preview", pattern, body or "x", params, task)
    except (SpecError, PatternError) as exc:
        problems.append(f"pattern: {exc}".replace("template 'learned-preview': ", ""))
    if spec is not None:
        found = spec.match(task)
        if found is None:
            problems.append("the pattern does not match the original task")
        else:
            bindings = dict(found.bindings)
            expected = {p.name: p.value for p in params}
            if _plain(bindings) != _plain(expected):
                problems.append(f"the pattern binds {_plain(bindings)} from the task, not {_plain(expected)}")
    rendered = ""
    if body and not missing:
        ok, why = round_trip(body, params, code)
        if not ok:
            problems.append(f"round trip failed: {why}")
        else:
            rendered = code
    report = validator.validate(rendered or code)
    if not report.ok:
        problems.append(f"the code does not validate: {report.blocking[0].rule_id} {report.blocking[0].message}")
    if spec is not None and not problems:
        variant = {p.name: _within_range(p, _variant(p)) for p in params}
        try:
            other = spec_for("learned-preview", pattern, body, params, task).render(variant)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"does not generalise: rendering other values failed: {exc}")
        else:
            other_report = validator.validate(other)
            if not other_report.ok:
                problems.append("does not generalise: other values give code that does not validate")
            else:
                problems += boundary_problems(spec, params, validator)
            problems += string_probe_problems(
                lambda values: spec_for("learned-preview", pattern, body, params, task).render(values),
                params,
                lambda text: validator.validate(text).ok,
            )
    return Preview(
        ok=not problems,
        reason=problems[0] if problems else "",
        pattern=pattern,
        body=body,
        rendered=rendered,
        bindings=bindings,
        score=report.score,
        problems=tuple(problems),
        params=tuple(params),
        findings=report.findings,
    )


__all__ = [
    "HeldForReview",
    "Preview",
    "check",
    "held_for_a_person",
    "literal_in_pattern",
    "rename_in_pattern",
    "security_findings",
    "spec_for",
    "sync_pattern",
]
