"""Typed slots: how a slot's value is parsed from task text and checked as plain data.

Slot grammar (inside a pattern's braces, ``{name:TYPE}``)::

    identifier                 one Python identifier as written (CamelCase or snake_case);
                               ASCII, not a keyword, not all underscores, no leading "__",
                               at most 80 characters, not a type name of the type grammar
                               (int, str, list, Path, ...)
    identifier(!a,!b)          ... and not one of the reserved names a, b
    identifier(fixed=w1+w2,keep=w3)
                               ... whose meaning words (kinds, modifiers, negations: see
                               :mod:`engine.templates.meaning`) are exactly w1, w2 in this
                               order, and whose words include w3 (learned at accept time;
                               checked when matching)
    dotted_name                identifiers joined by dots, no spaces: pkg.module.sub
    string, string(MIN..MAX), string(MIN..MAX,!blank)
                               a quoted literal; escapes, degenerate values and the notation
                               types (strftime, regex, glob, printf(SIG), format(SIG),
                               encoding, mime, path): see :mod:`engine.templates.stringslots`
    word                       ONE bare word, no spaces or quotes: letters, digits, "_", and
                               "." or "-" inside (utf-8, my-tool, v2.1); at most 64 characters
    integer / integer(LO..HI)  -12, 0, 300 (no "+", no separators) -> int
    number / number(LO..HI)    an integer or decimal, optional exponent -> float (finite)
    integer(LO..HI,>=lo)       ... and at least the value of slot ``lo`` (also >, <=, <);
                               the relation is checked when matching, with all bindings
    url                        an http(s) URL, bare or quoted, with a host and no credentials
    choice(a|b|c)              exactly one of the listed words (case-folded) -> that word
    identifier_list            "a", "a and b", "a, b and c", "a, b, and c": identifiers that
                               start with a letter, at most
                               one "and" and only before the last item; no duplicates
                               (case-insensitively, ignoring "_")
    field_list                 "number: int, customer: str and total: float" -> list of
                               (name, type) pairs; same separators as identifier_list; names
                               are identifiers without a leading "_" that do not shadow a type
                               name; types follow :mod:`engine.templates.typeexpr`
    field_list(T1,T2,!name)    ... where only the type names T1, T2 (and None in a union) may
                               be used, and the field names after "!" are reserved (rejected)

Strings are only ever taken from quotes: a bare word is a ``word``. Every bound value is plain
data (str, int, float, list[str], list[tuple[str, str]]); templates receive nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from engine.templates.errors import SlotError
from engine.templates.listslots import FieldListSlot, IdentifierListSlot
from engine.templates.slotbase import (
    MAX_ITEMS,
    RESERVED_FIELD_NAMES,
    SlotType,
    check_identifier,
)
from engine.templates.stringslots import STRING_KINDS, StringSlot, parse_string_type
from engine.templates.typeexpr import ALIASES, TYPE_NAMES

__all__ = [
    "MAX_ITEMS",
    "RESERVED_FIELD_NAMES",
    "ChoiceSlot",
    "DottedNameSlot",
    "FieldListSlot",
    "IdentifierListSlot",
    "IdentifierSlot",
    "IntegerSlot",
    "NumberSlot",
    "SlotType",
    "StringSlot",
    "UrlSlot",
    "WordSlot",
    "check_identifier",
    "parse_slot_type",
]

_WORD_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,62}[A-Za-z0-9_])?")
_INT_RE = re.compile(r"-?\d{1,18}")
_NUM_RE = re.compile(r"-?\d{1,18}(?:\.\d{1,18})?(?:[eE][-+]?\d{1,3})?")
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_URL_CHARS_RE = re.compile(r"[A-Za-z0-9._~:/?#\[\]!$&()*+,;=%-]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SPEC_RE = re.compile(r"\s*([a-z_]+)\s*(?:\((.*)\))?\s*", re.DOTALL)
_CHOICE_RE = re.compile(r"[a-z0-9_][a-z0-9_-]*")
_MEANING_WORD_RE = re.compile(r"[a-z0-9]+")
_RELATION_RE = re.compile(r"(>=|<=|>|<)\s*([A-Za-z_][A-Za-z0-9_]*)")


#: Field names that would shadow a type name used in annotations.
class IdentifierSlot(SlotType):
    """A single Python identifier, kept as written; never a type name of the type grammar."""

    kind = "identifier"
    weight = 2

    def __init__(
        self,
        forbidden: frozenset[str] = frozenset(),
        fixed: tuple[str, ...] | None = None,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        """``forbidden``: names the template cannot use (they would shadow its imports);
        ``fixed``: the only meaning words a value may carry, in order (``None``: any); ``keep``: words
        every value must contain."""
        self.forbidden = forbidden
        self.fixed = fixed
        self.keep = keep

    @property
    def spec(self) -> str:
        """``identifier``, ``identifier(!time,!logging)``, ``identifier(fixed=lru+cache)``."""
        args = ["!" + n for n in sorted(self.forbidden)]
        if self.fixed is not None:
            args.append("fixed=" + "+".join(self.fixed))
        if self.keep:
            args.append("keep=" + "+".join(sorted(self.keep)))
        return f"identifier({','.join(args)})" if args else "identifier"

    def parse(self, text: str) -> object:
        """Parse an identifier."""
        return self.coerce(text)

    def coerce(self, value: object) -> object:
        """Check an identifier."""
        name = check_identifier(value)
        if name in RESERVED_FIELD_NAMES or name in self.forbidden:
            raise SlotError(f"{name!r} cannot be used as a name here")
        return name


class DottedNameSlot(SlotType):
    """A dotted module path such as ``app.services.billing``."""

    kind = "dotted_name"
    max_tokens = 31
    weight = 2

    def parse(self, text: str) -> object:
        """Parse a dotted name."""
        return self.coerce(text)

    def coerce(self, value: object) -> object:
        """Check a dotted name."""
        if not isinstance(value, str) or len(value) > 200:
            raise SlotError(f"{value!r} is not a dotted name")
        for part in value.split("."):
            check_identifier(part, "dotted name part")
        return value


class WordSlot(SlotType):
    """One bare word such as ``utf-8`` or ``my-tool``."""

    kind = "word"
    max_tokens = 16

    def parse(self, text: str) -> object:
        """Parse a bare word."""
        return self.coerce(text)

    def coerce(self, value: object) -> object:
        """Check a bare word."""
        if not isinstance(value, str) or not _WORD_RE.fullmatch(value):
            raise SlotError(f"{value!r} is not a single bare word")
        return value


class _RangeSlot(SlotType):
    def __init__(
        self, lo: float | None = None, hi: float | None = None, relations: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.lo = lo
        self.hi = hi
        self.relations = relations

    @property
    def spec(self) -> str:
        args: list[str] = []
        if self.lo is not None or self.hi is not None:
            show = repr if self.kind == "number" else str

            def fmt(v: object) -> str:
                return "" if v is None else show(v)

            args.append(f"{fmt(self.lo)}..{fmt(self.hi)}")
        args += [op + other for op, other in self.relations]
        return f"{self.kind}({','.join(args)})" if args else self.kind

    def _check_range(self, value: float) -> None:
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise SlotError(f"{value!r} is outside {self.spec}")


class IntegerSlot(_RangeSlot):
    """An integer, optionally within a range."""

    kind = "integer"
    weight = 2

    def parse(self, text: str) -> object:
        """Parse an integer literal."""
        if not _INT_RE.fullmatch(text):
            raise SlotError(f"{text!r} is not an integer")
        return self.coerce(int(text))

    def coerce(self, value: object) -> object:
        """Check an integer."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise SlotError(f"{value!r} is not an integer")
        self._check_range(value)
        return value


class NumberSlot(_RangeSlot):
    """A finite number (as float), optionally within a range."""

    kind = "number"
    weight = 2

    def parse(self, text: str) -> object:
        """Parse a decimal literal."""
        if not _NUM_RE.fullmatch(text):
            raise SlotError(f"{text!r} is not a number")
        return self.coerce(float(text))

    def coerce(self, value: object) -> object:
        """Check a number and return it as a float."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SlotError(f"{value!r} is not a number")
        number = float(value)
        if not math.isfinite(number):
            raise SlotError("number must be finite")
        self._check_range(number)
        return number


class UrlSlot(SlotType):
    """An http(s) URL with a host, without credentials, spaces or quotes."""

    kind = "url"
    weight = 2

    def parse(self, text: str) -> object:
        """Parse a bare or quoted URL."""
        if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
            text = text[1:-1]
        return self.coerce(text)

    def coerce(self, value: object) -> object:
        """Check a URL."""
        if not isinstance(value, str) or len(value) > 300 or not _URL_CHARS_RE.fullmatch(value):
            raise SlotError(f"{value!r} is not an acceptable URL")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise SlotError(f"{value!r} is not a valid URL") from exc
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not _HOST_RE.fullmatch(host):
            raise SlotError(f"{value!r} is not an http(s) URL with a host")
        if "@" in parts.netloc:
            raise SlotError("URLs with credentials are not accepted")
        if port is not None and not 0 < port < 65536:
            raise SlotError("bad port")
        return value


class ChoiceSlot(SlotType):
    """Exactly one of a fixed set of words."""

    kind = "choice"
    weight = 3

    def __init__(self, options: Sequence[str]) -> None:
        """``options`` are lowercase words."""
        self.options = tuple(options)

    @property
    def spec(self) -> str:
        """``choice(a|b|c)``."""
        return f"choice({'|'.join(self.options)})"

    def parse(self, text: str) -> object:
        """Parse one of the options, case-insensitively."""
        return self.coerce(text.casefold())

    def coerce(self, value: object) -> object:
        """Check that the value is one of the options."""
        if value not in self.options:
            raise SlotError(f"{value!r} is not one of {', '.join(self.options)}")
        return value


def _parse_bound(text: str, kind: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text) if kind == "integer" else float(text)
    except ValueError as exc:
        raise SlotError(f"bad {kind} bound {text!r}") from exc


def _parse_range(args: str, kind: str) -> tuple[float | None, float | None]:
    if ".." not in args:
        raise SlotError(f"{kind}(...) takes a range LO..HI")
    lo_text, hi_text = args.split("..", 1)
    lo, hi = _parse_bound(lo_text, kind), _parse_bound(hi_text, kind)
    if lo is not None and hi is not None and lo > hi:
        raise SlotError(f"empty range {args!r}")
    return lo, hi


def _meaning_words(text: str, spec: str) -> frozenset[str]:
    words = [w for w in text.split("+") if w]
    if not all(_MEANING_WORD_RE.fullmatch(w) for w in words):
        raise SlotError(f"meaning words are lower-case letters and digits joined by '+': {spec!r}")
    return frozenset(words)


def _identifier_slot(args: str, spec: str) -> IdentifierSlot:
    forbidden: set[str] = set()
    fixed: tuple[str, ...] | None = None
    keep: frozenset[str] = frozenset()
    for arg in (a.strip() for a in args.split(",")):
        if arg.startswith("!"):
            forbidden.add(check_identifier(arg[1:]))
        elif arg.startswith("fixed="):
            words = [w for w in arg[len("fixed=") :].split("+") if w]
            fixed = tuple(sorted(_meaning_words(arg[len("fixed=") :], spec), key=words.index))
            if len(fixed) != len(words):
                raise SlotError(f"a meaning word is repeated in {spec!r}")
        elif arg.startswith("keep="):
            keep = _meaning_words(arg[len("keep=") :], spec)
        else:
            raise SlotError(f"identifier(...) takes !reserved names, fixed=... and keep=...: {spec!r}")
    return IdentifierSlot(frozenset(forbidden), fixed, keep)


def _number_slot(kind: str, args: str | None) -> SlotType:
    lo: float | None = None
    hi: float | None = None
    relations: list[tuple[str, str]] = []
    for arg in (a.strip() for a in (args.split(",") if args is not None else [])):
        relation = _RELATION_RE.fullmatch(arg)
        if relation:
            relations.append((relation.group(1), check_identifier(relation.group(2), "slot name")))
        elif ".." in arg:
            lo, hi = _parse_range(arg, kind)
        else:
            raise SlotError(f"{kind}(...) takes a range LO..HI and relations such as >=lo: {arg!r}")
    cls = IntegerSlot if kind == "integer" else NumberSlot
    return cls(lo, hi, tuple(relations))


@lru_cache(maxsize=1024)
def parse_slot_type(spec: str) -> SlotType:
    """Parse a slot type spelling (see the module docstring); results are shared."""
    m = _SPEC_RE.fullmatch(spec)
    if m is None:
        raise SlotError(f"bad slot type {spec!r}")
    kind, args = m.group(1), m.group(2)
    simple: dict[str, type[SlotType]] = {
        "dotted_name": DottedNameSlot,
        "word": WordSlot,
        "url": UrlSlot,
        "identifier_list": IdentifierListSlot,
    }
    if kind in simple:
        if args is not None:
            raise SlotError(f"slot type {kind} takes no arguments")
        return simple[kind]()
    if kind == "identifier":
        return IdentifierSlot() if args is None else _identifier_slot(args, spec)
    if kind in STRING_KINDS:
        return parse_string_type(kind, args)
    if kind in ("integer", "number"):
        return _number_slot(kind, args)
    if kind == "choice":
        options = [o.strip().casefold() for o in (args or "").split("|")]
        if not options or not all(_CHOICE_RE.fullmatch(o) for o in options):
            raise SlotError(f"choice needs words separated by '|': {spec!r}")
        if len(set(options)) != len(options):
            raise SlotError(f"duplicate option in {spec!r}")
        return ChoiceSlot(options)
    if kind == "field_list":
        if args is None:
            return FieldListSlot()
        allowed: set[str] = set()
        forbidden: set[str] = set()
        for arg in (a.strip() for a in args.split(",")):
            if arg.startswith("!"):
                forbidden.add(check_identifier(arg[1:], "field name"))
            elif arg in TYPE_NAMES or arg in ALIASES:
                allowed.add(ALIASES.get(arg, arg))
            else:
                raise SlotError(f"unknown type {arg!r} in {spec!r}")
        return FieldListSlot(frozenset(allowed) if allowed else None, frozenset(forbidden))
    raise SlotError(f"unknown slot type {kind!r}")
