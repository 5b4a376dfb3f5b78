"""List slots: ``identifier_list`` ("a, b and c") and ``field_list`` ("x: int, y: str")."""

from __future__ import annotations

import re

from engine.templates.errors import SlotError
from engine.templates.slotbase import (
    MAX_ITEMS,
    RESERVED_FIELD_NAMES,
    SlotType,
    check_identifier,
)
from engine.templates.typeexpr import TypeParser, parse_type, tokenize


def _split_list(tokens: list[str]) -> list[list[str]]:
    """Split list tokens on depth-0 separators: ``,`` and one final ``and`` (or ``, and``)."""
    items: list[list[str]] = [[]]
    depth = 0
    seen_and = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "[":
            depth += 1
        elif tok == "]":
            depth -= 1
        if depth == 0 and tok in (",", "and"):
            if seen_and:
                raise SlotError("'and' may only join the last item of a list")
            if tok == ",":
                if i + 1 < len(tokens) and tokens[i + 1] == "and":
                    i += 1
                    seen_and = True
            else:
                seen_and = True
            if not items[-1]:
                raise SlotError("empty item in list")
            items.append([])
        else:
            items[-1].append(tok)
        i += 1
    if not items[-1]:
        raise SlotError("empty item in list")
    if len(items) > MAX_ITEMS:
        raise SlotError(f"more than {MAX_ITEMS} items")
    return items


# ``name (type)`` -> ``name: type`` when the parenthesis closes the item
_PAREN_FIELD = re.compile(r"\b([A-Za-z_]\w*)\s*\(\s*([^()]+?)\s*\)(?=\s*(?:,|\band\b|$))")


def _colon_form(item: list[str]) -> list[str]:
    """``name as type`` and ``name of type type`` read as ``name: type``."""
    if len(item) >= 3 and item[1].casefold() == "as":
        return [item[0], ":", *item[2:]]
    if len(item) >= 4 and item[1].casefold() == "of" and item[2].casefold() == "type":
        return [item[0], ":", *item[3:]]
    return item


class IdentifierListSlot(SlotType):
    """``a, b and c`` -> ``["a", "b", "c"]``."""

    kind = "identifier_list"
    max_tokens = None

    def parse(self, text: str) -> object:
        """Parse a natural-language list of identifiers."""
        items = _split_list(tokenize(text))
        if any(len(item) != 1 for item in items):
            raise SlotError("each list item must be one identifier")
        return self.coerce([item[0] for item in items])

    def coerce(self, value: object) -> object:
        """Check a list of unique identifiers."""
        if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_ITEMS:
            raise SlotError("expected a non-empty list of identifiers")
        seen: set[str] = set()
        for item in value:
            check_identifier(item)
            if not str(item)[0].isalpha():
                raise SlotError(f"list item {item!r} must start with a letter")
            key = str(item).replace("_", "").casefold()
            if key in seen:
                raise SlotError(f"duplicate item {item!r}")
            seen.add(key)
        return list(value)


class FieldListSlot(SlotType):
    """``number: int, customer: str`` -> ``[("number", "int"), ("customer", "str")]``."""

    kind = "field_list"
    max_tokens = None

    def __init__(self, allowed: frozenset[str] | None = None, forbidden: frozenset[str] = frozenset()) -> None:
        """``allowed`` type names (``None``: all of the grammar), ``forbidden`` field names."""
        self.allowed = allowed
        self.forbidden = forbidden

    @property
    def spec(self) -> str:
        """``field_list`` or ``field_list(int,str,!id)``."""
        if self.allowed is None and not self.forbidden:
            return "field_list"
        args = sorted(self.allowed or ()) + [f"!{n}" for n in sorted(self.forbidden)]
        return f"field_list({','.join(args)})"

    def parse(self, text: str) -> object:
        """Parse ``name: type`` items (also ``name (type)``, ``name as type``, ``name of type type``)."""
        fields: list[tuple[str, str]] = []
        for item in _split_list(tokenize(_PAREN_FIELD.sub(r"\1: \2", text))):
            item = _colon_form(item)
            if len(item) < 3 or item[1] != ":":
                raise SlotError("each field must be written 'name: type'")
            parser = TypeParser(item[2:], self.allowed)
            type_text, pos = parser.parse(0)
            if pos != len(item) - 2:
                raise SlotError(f"unexpected {item[2 + pos]!r} in the type of {item[0]!r}")
            fields.append((item[0], type_text))
        return self.coerce(fields)

    def coerce(self, value: object) -> object:
        """Check a list of (name, type) pairs; types are canonicalised."""
        if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_ITEMS:
            raise SlotError("expected a non-empty list of (name, type) pairs")
        fields: list[tuple[str, str]] = []
        names: set[str] = set()
        for pair in value:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise SlotError(f"{pair!r} is not a (name, type) pair")
            name, type_text = pair
            check_identifier(name, "field name")
            if name.startswith("_") or name in RESERVED_FIELD_NAMES or name in self.forbidden:
                raise SlotError(f"{name!r} cannot be used as a field name here")
            if name in names:
                raise SlotError(f"duplicate field {name!r}")
            names.add(name)
            if not isinstance(type_text, str):
                raise SlotError(f"type of {name!r} must be a string")
            fields.append((name, parse_type(type_text, self.allowed)))
        return fields
