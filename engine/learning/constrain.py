"""Learning what a template's slots may NOT vary, at accept time (pure: no database, no LLM).

``constrain`` tightens each parameter's slot type before a suggestion becomes a template:

* an ``identifier`` that names a function or class, or an API the code uses without defining it
  (``hashlib.sha256``), keeps its meaning words: the vocabulary
  words of its value (:mod:`engine.templates.meaning`) become ``fixed=...``; any identifier keeps
  the words that the code's prose (docstrings, comments, string literals, constant names and
  other function or class names, outside the placeholders) repeats as ``keep=...``. Words the pattern states literally are not fixed
  (the pattern already pins them); a ``word``/``choice`` whose value is a vocabulary word
  becomes that one value (``choice(json)``) unless the code passes it as data: when it names an
  API (``json.loads``) or only appears in prose (``ascending`` in a docstring);
* an ``integer``/``number`` gets the range its guards and uses imply (:mod:`.guards`),
  intersected with any range it already had; a number that the code's logic uses, that is not
  one end of a related pair and was learned from a value >= 0 keeps its sign (``lo`` = 0) when
  nothing else sets ``lo``: counts, sizes, durations and rates are not negative (a constant that
  is only defined, ``LIMIT: int = 5``, stays free);
* two related number slots get the order of their learned values, unless the code handles both.

A parameter whose type a person (or the model) already constrained keeps that constraint.
``boundary_problems`` is the second half of the generalisation check: it renders each number
slot at 0, -1, 1 and a large value (those its range allows) and the reversed order of related
slots the template accepts, and reports the ones that do not validate.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from typing import Any

from engine.learning import guards
from engine.learning.body import Param, find_spans
from engine.templates.meaning import (
    STOPWORDS,
    meaning_words,
    ordered_meaning_words,
    pattern_words,
    prose_words,
    relation_problem,
    value_words,
)
from engine.templates.naming import snake
from engine.templates.slots import IdentifierSlot, IntegerSlot, NumberSlot, parse_slot_type

_SLOT_RE = re.compile(r"\{[^{}]*\}")
_WORD_RE = re.compile(r"[A-Za-z]+")
_CHOICE_WORD_RE = re.compile(r"[a-z0-9_][a-z0-9_-]*")
BOUNDARY_INTEGERS = (0, -1, 1, 1_000_000)


def _literal_words(pattern: str) -> frozenset[str]:
    return pattern_words(_WORD_RE.findall(_SLOT_RE.sub(" ", pattern)))


def code_prose(code: str, params: list[Param]) -> str:
    """Docstrings, comments, string literals, constant names and other function/class names of
    ``code``, without the parameters' own text (their occurrences are blanked first)."""
    spans, _missing = find_spans(code, params)
    masked = list(code)
    for span in spans:
        for i in range(span.start, span.end):
            if masked[i] != "\n":
                masked[i] = " "
    text = "".join(masked)
    out: list[str] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1)):
                out.append(tok.string)
            elif tok.type == tokenize.NAME and (previous in ("def", "class") or _is_constant(tok.string)):
                out.append(tok.string)  # VOWELS, def _is_vowel: the code's own names say what it is about
            if tok.type == tokenize.NAME:
                previous = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return ""
    return "\n".join(out)


def _is_constant(name: str) -> bool:
    return len(name) > 1 and name.isupper() and any(c.isalpha() for c in name)


def _definitions(tree: ast.AST | None) -> set[str]:
    """Names of functions and classes whose name states behaviour (an exception class's name is
    only a label: ``OrderNotFound`` raises like ``OrderError``)."""
    if tree is None:
        return set()
    return {
        n.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        or (isinstance(n, ast.ClassDef) and not _is_exception(n))
    }


def _is_exception(node: ast.ClassDef) -> bool:
    for base in node.bases:
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        if name.endswith(("Error", "Exception", "Warning")):
            return True
    return False


def _names_definition(value: str, definitions: set[str]) -> bool:
    forms = {value, snake(value)}
    return any(d in forms or any(d.startswith(f + "_") or d.endswith("_" + f) for f in forms) for d in definitions)


def _bound_locally(tree: ast.AST | None) -> set[str]:
    """Names the code binds itself (definitions, arguments, assignment and loop targets)."""
    if tree is None:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _code_names(tree: ast.AST | None) -> set[str]:
    """Every name the code refers to: names, attributes, imported modules."""
    if tree is None:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.update(alias.name.split("."))
            if isinstance(node, ast.ImportFrom) and node.module:
                names.update(node.module.split("."))
    return names


def _external(value: str, code_names: set[str], local: set[str]) -> bool:
    """Whether ``value`` names something the code uses but does not define (a module, an API)."""
    return value in code_names and value not in local


def _data_strings(tree: ast.AST | None) -> list[str]:
    """String constants that are data (arguments, values), not docstrings."""
    if tree is None:
        return []
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def _word_type(p: Param, code_names: set[str], local: set[str], data: list[str]) -> str:
    """A ``word`` or ``choice`` whose value is a vocabulary word and that the code does not use
    as data becomes that one value (``choice(json)``): either it names a module or API the code
    calls (``json`` in ``json.loads``: another value renames the API), or it only appears in
    prose (``ascending`` in a docstring: another value would change the words, not the code).
    A value passed as data (``text.encode("utf-8")``) stays free."""
    value = p.value
    if (
        p.base_type not in ("word", "choice")
        or not isinstance(value, str)
        or value != value.lower()
        or not _CHOICE_WORD_RE.fullmatch(value)
        or not meaning_words(value_words(value))
    ):
        return p.type
    if p.base_type == "choice" and parse_slot_type(p.type).spec == f"choice({value})":
        return p.type
    as_data = any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])", text) for text in data)
    if _external(value, code_names, local) or not as_data:
        return f"choice({value})"
    return p.type


def _identifier_type(
    p: Param, prose: frozenset[str], literal: frozenset[str], definitions: set[str], external: bool = False
) -> str:
    slot = parse_slot_type(p.type)
    if not isinstance(slot, IdentifierSlot) or slot.fixed is not None or slot.keep or not isinstance(p.value, str):
        return p.type
    words = value_words(p.value)
    keep = {w for w in words & prose if w not in STOPWORDS} - literal
    fixed: tuple[str, ...] | None = None
    if external or _names_definition(p.value, definitions):
        fixed = tuple(w for w in ordered_meaning_words(p.value) if w not in literal)
        if fixed:
            keep |= {w for w in words if w.isdigit()}
        keep -= set(fixed)
    return IdentifierSlot(slot.forbidden, fixed, frozenset(keep)).spec


def _number_bounds(p: Param, tree: ast.Module | None) -> tuple[float | None, float | None]:
    slot = parse_slot_type(p.type)
    lo, hi = getattr(slot, "lo", None), getattr(slot, "hi", None)
    if tree is None or not isinstance(p.value, (int, float)):
        return lo, hi
    bounds = guards.Bounds(lo, hi).tighten(*_as_pair(guards.infer_bounds(tree, p.value)))
    lo, hi = bounds.lo, bounds.hi
    if p.base_type == "integer":
        lo = None if lo is None else math.ceil(lo)
        hi = None if hi is None else math.floor(hi)
    return lo, hi


def _as_pair(bounds: guards.Bounds) -> tuple[float | None, float | None]:
    return bounds.lo, bounds.hi


def _relations(params: list[Param], tree: ast.Module | None) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    """The learned order per parameter, and every parameter that is one end of a related pair."""
    numbers = [p for p in params if p.base_type in ("integer", "number") and isinstance(p.value, (int, float))]
    out: dict[str, list[tuple[str, str]]] = {}
    paired: set[str] = set()
    if tree is None:
        return out, paired
    refs = {p.name: guards.bound_name(tree, p.value) for p in numbers}
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            if a.value == b.value or refs[a.name][1] is None or refs[b.name][1] is None:
                continue
            ref_a, ref_b = refs[a.name], refs[b.name]
            paired_names = guards.names_pair(a.name, b.name) or (
                ref_a[0] is not None and ref_b[0] is not None and guards.names_pair(ref_a[0], ref_b[0])
            )
            if not (paired_names or guards.related(tree, ref_a, ref_b)):
                continue
            paired |= {a.name, b.name}
            if guards.handles_both_orders(tree, ref_a, ref_b):
                continue
            out.setdefault(b.name, []).append((">=" if a.value < b.value else "<=", a.name))  # type: ignore[operator]
    return out, paired


def constrain(code: str, pattern: str, params: list[Param]) -> list[Param]:
    """``params`` with the slot constraints this code and pattern imply (see the module docstring)."""
    tree = guards.parse(code)
    literal = _literal_words(pattern)
    prose = prose_words(code_prose(code, params))
    definitions = _definitions(tree)
    code_names, local, data = _code_names(tree), _bound_locally(tree), _data_strings(tree)
    relations, paired = _relations(params, tree)
    out: list[Param] = []
    for p in params:
        new_type = p.type
        if p.base_type == "identifier":
            external = isinstance(p.value, str) and _external(p.value, code_names, local)
            new_type = _identifier_type(p, prose, literal, definitions, external)
        elif p.base_type in ("word", "choice"):
            new_type = _word_type(p, code_names, local, data)
        elif p.base_type in ("integer", "number"):
            slot = parse_slot_type(p.type)
            lo, hi = _number_bounds(p, tree)
            if (
                lo is None
                and p.name not in paired
                and isinstance(p.value, (int, float))
                and p.value >= 0
                and tree is not None
                and guards.is_used(tree, p.value)
            ):
                lo = 0
            rels = tuple(getattr(slot, "relations", ())) or tuple(relations.get(p.name, ()))
            cls = IntegerSlot if p.base_type == "integer" else NumberSlot
            new_type = cls(lo, hi, rels).spec
        out.append(Param(p.name, new_type, p.value, p.description, p.confidence) if new_type != p.type else p)
    return out


def _boundary_values(p: Param) -> tuple[float, ...]:
    if p.base_type == "integer":
        return BOUNDARY_INTEGERS
    return tuple(float(v) for v in BOUNDARY_INTEGERS)


def _accepted(params: list[Param], bindings: dict[str, Any]) -> bool:
    for p in params:
        slot = parse_slot_type(p.type)
        try:
            slot.coerce(bindings[p.name])
        except Exception:  # noqa: BLE001 - outside the slot's range
            return False
        if relation_problem(p.name, bindings[p.name], getattr(slot, "relations", ()), bindings):
            return False
    return True


def boundary_cases(params: list[Param]) -> list[tuple[str, dict[str, Any]]]:
    """(label, bindings) the template accepts at the edges: boundary values, reversed pairs."""
    original = {p.name: p.value for p in params}
    cases: list[tuple[str, dict[str, Any]]] = []
    numbers = [p for p in params if p.base_type in ("integer", "number")]
    for p in numbers:
        for value in _boundary_values(p):
            bindings = {**original, p.name: value}
            if value != p.value and _accepted(params, bindings):
                cases.append((f"{p.name}={value!r}", bindings))
    for i, a in enumerate(numbers):
        for b in numbers[i + 1 :]:
            bindings = {**original, a.name: b.value, b.name: a.value}
            if a.value != b.value and _accepted(params, bindings):
                cases.append((f"{a.name} and {b.name} reversed", bindings))
    return cases


def boundary_problems(spec: Any, params: list[Param], validator: Any) -> list[str]:
    """Problems of rendering the boundary cases (``spec`` renders, ``validator`` validates)."""
    problems: list[str] = []
    for label, bindings in boundary_cases(params):
        try:
            code = spec.render(bindings)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"does not generalise: {label} does not render ({exc}); give the slot a range")
            continue
        report = validator.validate(code)
        if not report.ok:
            problems.append(f"does not generalise: {label} gives code that does not validate; give the slot a range")
    return problems


__all__ = ["boundary_cases", "boundary_problems", "code_prose", "constrain"]
