"""Deterministic parameterisation: align the task's literals with the code's, no model call.

Most tasks name their values plainly: an identifier (``is_prime``, ``OrderStore``,
``MAX_SIZE``, a name right after "function"/"class"/"named"), a number, a quoted string, a
field list (``id: int, name: str and total: float``). When such a literal also occurs in the
code (as a name token, a number token, a string literal, ``name: type`` lines), it becomes a
typed slot; every other word of the task stays literal in the pattern.

:func:`propose` returns a suggestion only when the alignment is unambiguous AND the result
passes the same review checks as a model's suggestion (round trip byte for byte, validation,
generalisation, meaning guards: :func:`engine.learning.review.check`). Otherwise it returns
``None`` and the caller may ask a model (issue 13 item 5). Precision is unchanged by
construction: a value absent from the code stays a literal word of the pattern, which only
narrows what the template answers.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from engine.learning.body import Param
from engine.learning.zeroslot import _CONNECTORS, _KIND_NOUNS
from engine.templates.escapes import decode_task_string
from engine.templates.naming import snake
from engine.templates.normalize import NormalizedTask

_NAME_LIKE = re.compile(r"_|\d|[a-z][A-Z]|^[A-Z][a-z]+[A-Z]")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TYPE = r"[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?(?:\s*\|\s*[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?)*"
_FIELD = rf"[a-z_]\w*\s*:\s*{_TYPE}"
_FIELDS = re.compile(rf"{_FIELD}(?:(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+){_FIELD})*")
_ONE_FIELD = re.compile(rf"([a-z_]\w*)\s*:\s*({_TYPE})")


@dataclass(frozen=True)
class Proposal:
    """A deterministic suggestion (the same shape ``parse_suggestion`` gives for a model's)."""

    name: str
    pattern: str
    params: list[Param]
    confidence: float


def _code_names(code: str) -> tuple[set[str], list[str], list[str]]:
    """NAME tokens, NUMBER tokens and STRING tokens of the code (empty when it does not tokenize)."""
    names: set[str] = set()
    numbers: list[str] = []
    strings: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
            elif tok.type == tokenize.NUMBER:
                numbers.append(tok.string)
            elif tok.type == tokenize.STRING:
                strings.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return names, numbers, strings


def _unique(base: str, taken: set[str]) -> str:
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def propose(task: str, code: str) -> Proposal | None:
    """Slots for the task's literals that the code also holds; ``None`` when nothing aligns."""
    names, numbers, strings = _code_names(code)
    if not names:
        return None
    spans: list[tuple[int, int, Param]] = []
    taken: set[str] = set()
    for m in _FIELDS.finditer(task):
        fields = [(f.group(1), re.sub(r"\s*\|\s*", " | ", f.group(2))) for f in _ONE_FIELD.finditer(m.group(0))]
        if fields and all(re.search(rf"^[ \t]*{re.escape(n)}\s*:", code, re.MULTILINE) for n, _t in fields):
            spans.append((m.start(), m.end(), Param(_unique("fields", taken), "field_list", fields, "fields", 0.9)))
    nt = NormalizedTask(task)
    if nt.too_long:
        return None
    previous = ""
    first_word = True
    for token in nt.tokens:
        if any(s <= token.start < e for s, e, _p in spans):
            continue
        if token.kind == "quoted":
            inner = token.text[1:-1]
            value = decode_task_string(inner)
            if any(_literal_value(s) == value for s in strings):
                spans.append((token.start, token.end, Param(_unique("text", taken), "string", value, "text", 0.9)))
        elif token.kind == "number":
            is_int = re.fullmatch(r"-?\d+", token.text) is not None
            number: int | float = int(token.text) if is_int else float(token.text)
            if number >= 0 and repr(number) in numbers:
                spans.append(
                    (
                        token.start,
                        token.end,
                        Param(_unique("value", taken), "integer" if is_int else "number", number, "", 0.9),
                    )
                )
        elif token.kind == "word":
            text = token.text
            after_noun = previous in _KIND_NOUNS and token.plain not in _CONNECTORS and token.plain not in _KIND_NOUNS
            looks = (
                bool(_NAME_LIKE.search(text))
                or after_noun
                or (not first_word and text[:1].isupper() and not token.skippable)
            )
            in_code = text in names or (bool(_NAME_LIKE.search(text)) and snake(text) in names)
            if looks and _IDENT.match(text) and in_code:
                base = "name"  # labels only; "name"/"value" read well in review and in bindings
                spans.append((token.start, token.end, Param(_unique(base, taken), "identifier", text, "a name", 0.9)))
            if not token.skippable or token.plain in ("named", "called"):
                first_word = False
                previous = token.plain
    if not spans:
        return None
    spans.sort(key=lambda s: s[0])
    out, cursor = [], 0
    for start, end, p in spans:
        if start < cursor:
            return None  # overlapping literals: ambiguous
        out.append(task[cursor:start])
        out.append(f"{{{p.name}:{p.type}}}")
        cursor = end
    out.append(task[cursor:])
    params = [p for _s, _e, p in spans]
    first = next((p for p in params if p.base_type == "identifier"), None)
    name = snake(str(first.value))[:40] if first is not None else "learned"
    return Proposal(name or "learned", "".join(out).strip(), params, 0.9)


def _literal_value(token: str) -> str | None:
    """The value of a plain one-line str literal token (no prefix other than r/u), else None."""
    import ast

    if not token or token[0] not in "'\"rRuU" or "\n" in token:
        return None
    try:
        value = ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


__all__ = ["Proposal", "propose"]
