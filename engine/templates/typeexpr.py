"""A safe grammar of Python type expressions, for ``field_list`` slots.

Grammar (whitespace is insignificant)::

    type    := atom ("|" atom)*
    atom    := NAME | NAME "[" type ("," type)* "]" | "..."   (only as tuple[T, ...])

``NAME`` must be one of :data:`TYPE_NAMES` (or a typing alias in :data:`ALIASES`, which is
rewritten: ``List[int]`` -> ``list[int]``, ``Optional[str]`` -> ``str | None``,
``Union[int, str]`` -> ``int | str``). Generic arity is checked (``list[T]``, ``set[T]``,
``frozenset[T]``, ``dict[K, V]``, ``tuple[T, ...]`` or ``tuple[A, B, ...]``); scalars cannot be
subscripted; ``None`` only appears inside a union; nesting depth <= 4; at most 200 characters.
The result is a canonical string such as ``dict[str, list[int]]`` or ``str | None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from engine.templates.errors import SlotError

#: Allowed type names and the import each needs (``None``: a builtin).
TYPE_NAMES: dict[str, str | None] = {
    "int": None,
    "float": None,
    "str": None,
    "bool": None,
    "bytes": None,
    "None": None,
    "list": None,
    "dict": None,
    "set": None,
    "frozenset": None,
    "tuple": None,
    "Any": "from typing import Any",
    "datetime": "from datetime import datetime",
    "date": "from datetime import date",
    "time": "from datetime import time",
    "timedelta": "from datetime import timedelta",
    "Decimal": "from decimal import Decimal",
    "UUID": "from uuid import UUID",
    "Path": "from pathlib import Path",
}
ALIASES: dict[str, str] = {
    "List": "list",
    "Dict": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Tuple": "tuple",
}
_GENERIC_ARITY: dict[str, int] = {"list": 1, "set": 1, "frozenset": 1, "dict": 2, "tuple": -1}
MAX_DEPTH = 4
MAX_LENGTH = 200

_TOKEN_RE = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\.\.\.)|([\[\],|:]))")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(text: str) -> list[str]:
    """Split a field list or type expression into names and ``[ ] , | : ...``."""
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise SlotError(f"unexpected character {text[pos:].lstrip()[:1]!r} in {text!r}")
        tokens.append(m.group(m.lastindex or 0))
        pos = m.end()
    return tokens


class TypeParser:
    """Recursive-descent parser over :func:`tokenize` output.

    ``parse(pos)`` reads one type starting at ``pos`` and returns ``(canonical, next_pos)``; it
    stops before a depth-0 ``,``, ``and``, or the end of the tokens.
    """

    def __init__(self, tokens: Sequence[str], allowed: frozenset[str] | None = None) -> None:
        """``allowed`` restricts the type names that may appear (``None`` is always allowed)."""
        self.tokens = tokens
        self.allowed = allowed

    def parse(self, pos: int) -> tuple[str, int]:
        """Parse one type expression at ``pos``."""
        members, pos = self._union(pos, 0)
        if all(m == "None" for m in members):
            raise SlotError("a type cannot be just None")
        text = " | ".join(members)
        if len(text) > MAX_LENGTH:
            raise SlotError("type expression too long")
        return text, pos

    def _peek(self, pos: int) -> str | None:
        return self.tokens[pos] if pos < len(self.tokens) else None

    def _union(self, pos: int, depth: int) -> tuple[list[str], int]:
        members: list[str] = []
        while True:
            atom, pos = self._atom(pos, depth)
            members.extend(atom)
            if self._peek(pos) != "|":
                break
            pos += 1
        unique: list[str] = []
        for member in members:
            if member not in unique:
                unique.append(member)
        if "None" in unique:  # canonical: None last
            unique.remove("None")
            unique.append("None")
        return unique, pos

    def _atom(self, pos: int, depth: int) -> tuple[list[str], int]:
        if depth > MAX_DEPTH:
            raise SlotError("type expression nested too deeply")
        token = self._peek(pos)
        if token is None or not _NAME_RE.fullmatch(token):
            raise SlotError(f"expected a type name, got {token!r}")
        pos += 1
        if token in ("Optional", "Union"):
            if self._peek(pos) != "[":
                raise SlotError(f"{token} needs [...]")
            args, pos = self._args(pos + 1, depth + 1)
            if token == "Optional":
                if len(args) != 1:
                    raise SlotError("Optional takes one argument")
                return [*args[0], "None"], pos
            return [m for arg in args for m in arg], pos
        name = ALIASES.get(token, token)
        if name not in TYPE_NAMES:
            raise SlotError(f"unknown or unsupported type {token!r}")
        if self.allowed is not None and name != "None" and name not in self.allowed:
            raise SlotError(f"type {token!r} is not allowed here")
        if self._peek(pos) != "[":
            return [name], pos
        arity = _GENERIC_ARITY.get(name)
        if arity is None:
            raise SlotError(f"{name} cannot be subscripted")
        args, pos = self._args(pos + 1, depth + 1, allow_ellipsis=name == "tuple")
        rendered = [" | ".join(arg) for arg in args]
        if "..." in rendered and (len(rendered) != 2 or rendered[1] != "..."):
            raise SlotError("... is only allowed as tuple[T, ...]")
        if arity > 0 and len(rendered) != arity:
            raise SlotError(f"{name} takes {arity} type argument(s)")
        for arg in args:
            if arg == ["None"] and name != "tuple":
                raise SlotError(f"{name}[None] is not a useful type")
        return [f"{name}[{', '.join(rendered)}]"], pos

    def _args(self, pos: int, depth: int, *, allow_ellipsis: bool = False) -> tuple[list[list[str]], int]:
        args: list[list[str]] = []
        while True:
            if allow_ellipsis and self._peek(pos) == "..." and args:
                args.append(["..."])
                pos += 1
            else:
                members, pos = self._union(pos, depth)
                args.append(members)
            token = self._peek(pos)
            if token == ",":
                pos += 1
                continue
            if token == "]":
                return args, pos + 1
            raise SlotError(f"expected ',' or ']' in type arguments, got {token!r}")


def parse_type(text: str, allowed: frozenset[str] | None = None) -> str:
    """Parse a whole type expression and return its canonical form."""
    tokens = tokenize(text)
    parser = TypeParser(tokens, allowed)
    canonical, pos = parser.parse(0)
    if pos != len(tokens):
        raise SlotError(f"unexpected {tokens[pos]!r} after type {canonical!r}")
    return canonical


def type_names(type_text: str) -> set[str]:
    """The type names used in a canonical type expression."""
    return set(_NAME_RE.findall(type_text))


def type_imports(types: Iterable[object]) -> list[str]:
    """Import lines needed by some types, one per module, sorted by module.

    Accepts type strings, or ``(name, type)`` pairs as bound by a ``field_list`` slot.
    """
    by_module: dict[str, set[str]] = {}
    for item in types:
        text = item[1] if isinstance(item, (tuple, list)) else item
        for name in type_names(str(text)):
            line = TYPE_NAMES.get(name)
            if line:
                module, _, imported = line[len("from ") :].partition(" import ")
                by_module.setdefault(module, set()).add(imported)
    return [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(by_module.items())]
