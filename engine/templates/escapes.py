"""Escapes: how a quoted value in a task is read, and how a string value is written as code.

Reading (the rule, documented in the README's templates section). Inside quotes in a task,
backslash escapes follow Python string-literal rules for the escapes people actually type::

    \\t -> tab    \\n -> newline    \\r -> carriage return
    \\\\ -> one backslash    \\" -> "    \\' -> '

``\\xHH``, ``\\uHHHH``, ``\\UHHHHHHHH`` and ``\\N{NAME}`` are the character they name, as in
Python (a regex engine reads them the same way). Every other backslash sequence stays as
written, backslash included (``\\d``, ``\\b``, ``\\.``, ``\\1``, ``\\0``): tasks quote regexes far
more often than they mean a backspace, a back-reference-looking octal escape or a bell, and
Python itself keeps unknown escapes. A decoded control character other than tab, newline and
carriage return is refused by every string slot. So ``"\\t"`` is ONE tab character, and a user who means a
backslash followed by ``t`` writes ``"\\\\t"``. A quoted token ends at the first unescaped quote
of its kind; it never spans lines.

Writing. :func:`python_literal` writes a value as a Python literal that evaluates to exactly
that value: control characters, the quote and backslashes are escaped (a tab becomes ``\\t``
inside the quotes, never a raw tab and never a literal backslash-t). A raw prefix is kept only
when the raw spelling means the same value (no quote of that kind, no control character, no
trailing odd backslash); otherwise the literal falls back to an escaped non-raw one.
"""

from __future__ import annotations

import re
import sys
import unicodedata

#: A quoted string in task text (double or single quotes), with backslash escapes, one line.
QUOTED_PATTERN = r""""(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*'"""
_QUOTED_RE = re.compile(QUOTED_PATTERN)
_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|N\{[A-Za-z0-9 \-]{1,80}\}|.)", re.DOTALL)
_SIMPLE = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
#: Control characters a string slot may hold (each comes from an escape in the task).
ESCAPED_CONTROLS = frozenset("\t\n\r")
_STYLE_RE = re.compile(r"([rR]?)(['\"])[^\n]*\2")
_WRITE = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def is_quoted(text: str) -> bool:
    """Whether ``text`` is exactly one quoted task string (escape-aware)."""
    return _QUOTED_RE.fullmatch(text) is not None


def decode_task_string(inner: str) -> str:
    """The value of the text between the quotes of a task string (see the module rule)."""
    if "\\" not in inner:
        return inner
    return _ESCAPE_RE.sub(_decode_one, inner)


def _decode_one(m: re.Match[str]) -> str:
    code = m.group(1)
    if code in _SIMPLE:
        return _SIMPLE[code]
    if len(code) > 1 and code[0] in "xuU":
        number = int(code[1:], 16)
        return chr(number) if number <= sys.maxunicode else m.group(0)
    if code.startswith("N{"):
        try:
            return unicodedata.lookup(code[2:-1])
        except KeyError:
            return m.group(0)
    return m.group(0)


def encode_task_string(value: str, quote: str = '"') -> str:
    """The inverse of :func:`decode_task_string`: ``value`` written as a quoted task string."""
    out = []
    for ch in value:
        if ch in _WRITE:
            out.append(_WRITE[ch])
        elif ch == quote:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def _escaped_body(value: str, quote: str) -> str:
    out = []
    for ch in value:
        if ch in _WRITE:
            out.append(_WRITE[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1])  # \x07, \u200b, ... exactly as repr writes them
        else:
            out.append(ch)
    return "".join(out)


def raw_spelling_ok(value: str, quote: str) -> bool:
    """Whether ``r<quote>value<quote>`` is a literal equal to ``value``."""
    if quote in value or not value.isprintable():
        return False
    trailing = len(value) - len(value.rstrip("\\"))
    return trailing % 2 == 0  # r"...\" cannot end in an odd backslash


def python_literal(value: str, prefix: str = "", quote: str = '"') -> str:
    """``value`` as a one-line Python literal in the given style (``prefix`` "" or "r")."""
    if quote not in ("'", '"'):
        raise ValueError(f"bad quote {quote!r}")
    if prefix.lower() == "r" and raw_spelling_ok(value, quote):
        return f"{prefix}{quote}{value}{quote}"
    other = "'" if quote == '"' else '"'
    if quote in value and other not in value:
        quote = other  # the other quote needs no escaping
    return f"{quote}{_escaped_body(value, quote)}{quote}"


def literal_style(token: str) -> tuple[str, str] | None:
    """``(prefix, quote)`` of a one-line str literal token (``None`` for bytes, f-strings,
    triple quotes or unknown prefixes)."""
    m = _STYLE_RE.fullmatch(token)
    if m is None or token[len(m.group(1)) :].startswith(m.group(2) * 3):
        return None
    return m.group(1), m.group(2)


# -- quoted literals in patterns ---------------------------------------------------------------

_QUOTED_SYNTAX = "{}[]()|"  # backslash-escaped inside a quoted literal
_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)


def quoted_literal(value: str) -> str:
    """``value`` as a pattern's quoted literal ``"..."`` (it matches the task's quoted string of
    that value): task-string escapes, and ``{ } [ ] ( ) |`` backslash-escaped. The inverse of
    :func:`quoted_value`."""
    return "".join("\\" + ch if ch in _QUOTED_SYNTAX else ch for ch in encode_task_string(value))


def quoted_value(literal: str) -> str:
    """The value of a pattern's quoted literal: escaped syntax characters first (one pass, so
    ``\\\\`` stays a pair), then the task-string escapes."""
    inner = _PAIR_RE.sub(lambda m: m.group(1) if m.group(1) in _QUOTED_SYNTAX else m.group(0), literal[1:-1])
    return decode_task_string(inner)
