"""Turning a validated answer into a template body: put each parameter back as a placeholder.

Given the original code and the reviewed parameters (name, slot type, original value), the
builder finds where each value occurs and replaces those spans with Jinja2 expressions:

    identifier / dotted_name / word / choice   whole-word occurrences, in code, strings and
                                               comments; snake_case and lower-case forms too
                                               (``Invoice`` -> ``invoice_id`` uses ``snake``)
    string (and its notation types)            a whole one-line str literal whose value is
                                               the value: ``{{ name | repr }}``, or
                                               ``{{ name | literal('r', '"') }}`` to keep the
                                               code's own style (raw regexes, single quotes)
    integer / number                           number tokens equal to the value
    identifier_list                            the items joined by ", "
    field_list                                 consecutive ``name: type`` lines -> a for-loop

Everything else is literal text, escaped so that ``{{`` in the code cannot start a tag. The
result is only ever trusted after ``round_trip``: rendering with the original values must
reproduce the original code exactly.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from engine.templates.escapes import literal_style, python_literal
from engine.templates.naming import snake
from engine.templates.render import escape_literal, py_repr, render_body
from engine.templates.stringslots import STRING_KINDS

WORDLIKE = {"identifier", "dotted_name", "word", "choice"}
STRING_VALUED = STRING_KINDS | {"url"}  # slots whose value is a whole str literal in the code


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    value: object
    description: str = ""
    confidence: float = 0.0

    @property
    def base_type(self) -> str:
        return self.type.split("(", 1)[0].strip()

    def to_dict(self) -> dict[str, object]:
        value = [list(v) for v in self.value] if self.base_type == "field_list" else self.value  # type: ignore[attr-defined]
        return {
            "name": self.name,
            "type": self.type,
            "value": value,
            "description": self.description,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    expr: str  # the Jinja2 text that replaces code[start:end]
    param: str


def _offsets(code: str) -> list[int]:
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _tokens(code: str) -> list[tuple[int, str, int, int]]:
    """(type, text, start offset, end offset) for every token; [] when code does not tokenize."""
    offsets = _offsets(code)
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            start = offsets[tok.start[0] - 1] + tok.start[1]
            end = offsets[tok.end[0] - 1] + tok.end[1]
            out.append((tok.type, tok.string, start, end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return out


def _word_spans(code: str, tokens: list[tuple[int, str, int, int]], p: Param) -> list[Span]:
    value = str(p.value)
    forms = [(value, f"{{{{ {p.name} }}}}")]
    if p.base_type == "identifier":
        snaked = snake(value)
        if snaked != value:
            forms.append((snaked, f"{{{{ {p.name} | snake }}}}"))
    spans: list[Span] = []
    for kind, text, start, _end in tokens:
        if kind == tokenize.NAME:
            for form, expr in forms:
                if text == form:
                    spans.append(Span(start, start + len(text), expr, p.name))
                elif text.startswith(form + "_") or text.endswith("_" + form):
                    at = text.index(form) if text.startswith(form) else len(text) - len(form)
                    spans.append(Span(start + at, start + at + len(form), expr, p.name))
        elif kind in (tokenize.STRING, tokenize.COMMENT) or kind == getattr(tokenize, "FSTRING_MIDDLE", -1):
            for form, expr in forms:
                if expr.endswith("| snake }}") and "_" not in form:
                    continue  # a one-word snake form ("stack" from Stack) is ordinary prose here
                for m in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(form)}(?![A-Za-z0-9])", text):
                    spans.append(Span(start + m.start(), start + m.end(), expr, p.name))
    return spans


def _string_literals(tokens: list[tuple[int, str, int, int]], value: str) -> list[tuple[int, int, str]]:
    """One-line str literals equal to ``value``, with the expression that writes them back in
    the same style (``repr`` for the canonical spelling, else ``literal(prefix, quote)``)."""
    canonical = py_repr(value)
    found = []
    for kind, text, start, end in tokens:
        if kind != tokenize.STRING:
            continue
        if text == canonical:
            found.append((start, end, "{{ VALUE | repr }}"))
            continue
        style = literal_style(text)
        if style is None or python_literal(value, *style) != text:
            continue  # another value, or a spelling the renderer would not reproduce
        prefix, quote = style
        jinja_quote = "'\"'" if quote == '"' else '"\'"'
        found.append((start, end, f"{{{{ VALUE | literal('{prefix}', {jinja_quote}) }}}}"))
    return found


def find_spans(code: str, params: list[Param]) -> tuple[list[Span], list[str]]:
    """Where each parameter occurs (non-overlapping, in order), and the parameters never found."""
    tokens = _tokens(code)
    spans: list[Span] = []
    for p in params:
        base = p.base_type
        if base in WORDLIKE:
            spans += _word_spans(code, tokens, p)
        elif base in STRING_VALUED and isinstance(p.value, str):
            for start, end, expr in _string_literals(tokens, p.value):
                spans.append(Span(start, end, expr.replace("VALUE", p.name), p.name))
        elif base in ("integer", "number"):
            for kind, text, start, end in tokens:
                if kind == tokenize.NUMBER and text == repr(p.value):
                    spans.append(Span(start, end, f"{{{{ {p.name} }}}}", p.name))
        elif base == "identifier_list" and isinstance(p.value, list) and p.value:
            joined = ", ".join(str(v) for v in p.value)
            for m in re.finditer(re.escape(joined), code):
                spans.append(Span(m.start(), m.end(), f"{{{{ {p.name} | join(', ') }}}}", p.name))
        elif base == "field_list" and isinstance(p.value, list) and p.value:
            spans += _field_block(code, p)
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[Span] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    found = {s.param for s in kept}
    return kept, [p.name for p in params if p.name not in found]


def _field_block(code: str, p: Param) -> list[Span]:
    fields = [(str(n), str(t)) for n, t in p.value]  # type: ignore[attr-defined]
    lines = code.splitlines(keepends=True)
    offsets = _offsets(code)
    spans = []
    i = 0
    while i <= len(lines) - len(fields):
        first = re.match(
            r"^([ \t]*)" + re.escape(fields[0][0]) + r"\s*:\s*" + re.escape(fields[0][1]) + r"\s*\n$", lines[i]
        )
        if first:
            indent = first.group(1)
            ok = all(lines[i + k] == f"{indent}{name}: {type_}\n" for k, (name, type_) in enumerate(fields))
            if ok:
                body = (
                    f"{{% for field_name, field_type in {p.name} %}}\n"
                    f"{indent}{{{{ field_name }}}}: {{{{ field_type }}}}\n"
                    f"{{% endfor %}}\n"
                )
                spans.append(Span(offsets[i], offsets[i + len(fields)], body, p.name))
                i += len(fields)
                continue
        i += 1
    return spans


def ambiguous_values(code: str, params: list[Param]) -> list[str]:
    """Literal parameters whose value occurs more than once in the code: only one occurrence can
    be the parameter (``count = 1`` vs ``a, b = 0, 1``), and the builder would replace them all."""
    tokens = _tokens(code)
    problems = []
    for p in params:
        if p.base_type in ("integer", "number"):
            hits = sum(1 for kind, text, _s, _e in tokens if kind == tokenize.NUMBER and text == repr(p.value))
        elif p.base_type in STRING_VALUED and isinstance(p.value, str):
            hits = len(_string_literals(tokens, p.value))
        else:
            continue
        if hits > 1:
            problems.append(
                f"parameter {p.name}: its value {p.value!r} occurs {hits} times in the code, so other "
                "values would also change unrelated literals"
            )
    return problems


def build_body(code: str, params: list[Param]) -> tuple[str, list[str]]:
    """The template body for ``code`` with ``params`` as placeholders, and params not found."""
    spans, missing = find_spans(code, params)
    out = []
    cursor = 0
    for span in spans:
        out.append(escape_literal(code[cursor : span.start]))
        out.append(span.expr)
        cursor = span.end
    out.append(escape_literal(code[cursor:]))
    return "".join(out), missing


def round_trip(body: str, params: list[Param], code: str) -> tuple[bool, str]:
    """Whether rendering ``body`` with the original values gives back ``code`` exactly."""
    try:
        rendered = render_body(body, {p.name: p.value for p in params})
    except Exception as exc:  # noqa: BLE001 - any render failure is a failed round trip
        return False, f"rendering failed: {exc}"
    if rendered == code:
        return True, ""
    for number, (a, b) in enumerate(zip(rendered.splitlines(), code.splitlines()), start=1):
        if a != b:
            return False, f"round trip differs at line {number}: {a!r} != {b!r}"
    return False, "round trip differs in length"
