"""The slot-type base class and identifier rules shared by every slot module."""

from __future__ import annotations

import keyword
import re

from engine.templates.errors import SlotError
from engine.templates.typeexpr import ALIASES, TYPE_NAMES

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Names that would shadow a type name used in annotations (rejected as identifiers/fields).
RESERVED_FIELD_NAMES: frozenset[str] = frozenset(n for n in (*TYPE_NAMES, *ALIASES, "Optional", "Union") if n != "None")
MAX_ITEMS = 100


def check_identifier(value: object, what: str = "identifier") -> str:
    """Return ``value`` if it is an acceptable identifier, else raise :class:`SlotError`."""
    if not isinstance(value, str) or not _IDENT_RE.fullmatch(value):
        raise SlotError(f"{value!r} is not a Python {what}")
    if keyword.iskeyword(value):
        raise SlotError(f"{value!r} is a Python keyword")
    if value.startswith("__") or not value.strip("_"):
        raise SlotError(f"{value!r} is not allowed as a {what}")
    if len(value) > 80:
        raise SlotError(f"{what} {value[:20]!r}... is too long")
    return value


class SlotType:
    """Base class: ``parse`` reads task text, ``coerce`` checks plain data.

    ``max_tokens`` bounds how many task tokens the slot may span (``None``: unbounded);
    ``weight`` ranks how constraining the type is (used to break ties between matches).
    """

    kind = "abstract"
    max_tokens: int | None = 1
    weight = 1

    @property
    def spec(self) -> str:
        """Canonical spelling, as written in a pattern."""
        return self.kind

    def parse(self, text: str) -> object:
        """Parse the task text spanned by the slot."""
        raise NotImplementedError

    def coerce(self, value: object) -> object:
        """Check (and canonicalise) a plain-data value; raise :class:`SlotError` if wrong."""
        raise NotImplementedError

    def __repr__(self) -> str:
        """Debug representation."""
        return f"SlotType({self.spec})"

    def __eq__(self, other: object) -> bool:
        """Slot types are equal when their canonical spellings are."""
        return isinstance(other, SlotType) and other.spec == self.spec

    def __hash__(self) -> int:
        """Hash of the canonical spelling."""
        return hash(self.spec)
