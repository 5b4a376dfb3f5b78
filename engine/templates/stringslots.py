"""String slots: quoted task values, their escapes, degenerate values and notations.

Grammar (inside a pattern's braces)::

    string                      a quoted literal, '...' or "..." on one line; the value is the
                                text between the quotes with the task escapes decoded
                                (:mod:`engine.templates.escapes`: \\t \\n \\r \\\\ \\" \\')
    string(MIN..MAX)            ... whose length is within MIN..MAX (either bound optional)
    string(MIN..MAX,!blank)     ... and not whitespace only
    string(MIN..MAX,!pattern)   ... and not written as a glob or regex (``*.csv``, ``^\\d+$``):
                                the code compares it literally (a prefix, a suffix, a needle)
    strftime regex glob         a non-blank value in that notation (:mod:`engine.templates.notation`)
    encoding mime path envvar logfmt timezone
    printf(SIG) format(SIG)     a printf / str.format string that takes exactly the arguments
                                of SIG (``n`` a number, ``s`` anything; ``0=n,1=s`` or
                                ``name=s`` for fields), e.g. ``printf(n)``, ``format(0=n)``
    regex(groups=N,names=a|b)   a regex with exactly N capturing groups named a and b
    regex(literal)              a separator written as a regex: no metacharacters
    format_spec(i|n|s|t)        a format spec (``.2f``) for an int, a number, text, or a date
                                (``t``: an strftime spec such as ``%Y-%m-%d``)
    unit(U)                     a spelling of the unit of measure U (``unit(MB)``)

Invariants: a bound value is a ``str``; the only control characters it may hold are tab,
newline and carriage return (each can only come from an escape in the task, because a task has
none); every notation slot refuses empty values, and whitespace-only ones too except
``regex(literal)`` (a blank separator means something).
"""

from __future__ import annotations

import re

from engine.templates import notation
from engine.templates.errors import SlotError
from engine.templates.escapes import ESCAPED_CONTROLS, decode_task_string, is_quoted
from engine.templates.slotbase import SlotType

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SIGNATURE_RE = re.compile(r"(?:[A-Za-z0-9_]+=)?[inst](?:,(?:[A-Za-z0-9_]+=)?[inst])*|")
DEFAULT_MAX = 200


class StringSlot(SlotType):
    """A quoted string literal from the task; the value is the decoded text between quotes."""

    kind = "string"

    def __init__(
        self, min_len: int = 0, max_len: int = DEFAULT_MAX, nonblank: bool = False, literal: bool = False
    ) -> None:
        """Length bounds of the value; ``nonblank`` refuses whitespace-only values; ``literal``
        refuses values written as a glob or regex (the code compares them literally)."""
        self.min_len = min_len
        self.max_len = max_len
        self.nonblank = nonblank
        self.literal = literal

    @property
    def spec(self) -> str:
        """``string``, ``string(MIN..MAX)`` or ``string(MIN..MAX,!blank)``."""
        if (self.min_len, self.max_len, self.nonblank, self.literal) == (0, DEFAULT_MAX, False, False):
            return "string"
        flags = (",!blank" if self.nonblank else "") + (",!pattern" if self.literal else "")
        return f"string({self.min_len}..{self.max_len}{flags})"

    def parse(self, text: str) -> object:
        """Parse ``'...'`` or ``"..."`` (escape-aware) and decode the escapes."""
        if not is_quoted(text):
            raise SlotError(f"{text!r} is not a quoted string")
        return self.coerce(decode_task_string(text[1:-1]))

    def coerce(self, value: object) -> object:
        """Check a string value."""
        if not isinstance(value, str):
            raise SlotError(f"{value!r} is not a string")
        if any(ch not in ESCAPED_CONTROLS for ch in _CONTROL_RE.findall(value)):
            raise SlotError("control characters are not allowed in a string slot")
        if not self.min_len <= len(value) <= self.max_len:
            raise SlotError(f"string length must be {self.min_len}..{self.max_len}")
        if self.nonblank and not value.strip():
            raise SlotError("a blank (whitespace-only) value is not allowed here")
        if self.literal and notation.looks_like_pattern(value):
            raise SlotError(f"{value!r} is written as a glob or regex; the code compares it literally")
        self.check_notation(value)
        return value

    def check_notation(self, value: str) -> None:
        """Raise :class:`SlotError` if ``value`` is not in this slot's notation."""

    def variant(self, value: str) -> str:
        """Another valid value of this slot (for the generalisation check)."""
        for candidate in self.variant_candidates(value):
            if candidate == value:
                continue
            try:
                self.coerce(candidate)
            except SlotError:
                continue
            return candidate
        return value

    def variant_candidates(self, value: str) -> list[str]:
        """Values tried, in order, by :meth:`variant`."""
        return [f"{value} alt", "alt", "|", ",", "x"]


class NotationSlot(StringSlot):
    """A string in one notation; never empty (nor blank, unless a subclass says so)."""

    weight = 2
    checker = staticmethod(lambda value: None)
    examples: tuple[str, ...] = ()

    def __init__(self) -> None:
        """Non-empty, non-blank, at most 200 characters."""
        super().__init__(1, DEFAULT_MAX, nonblank=True)

    @property
    def spec(self) -> str:
        """The notation name."""
        return self.kind

    def check_notation(self, value: str) -> None:
        """Run the notation's checker."""
        type(self).checker(value)

    def variant_candidates(self, value: str) -> list[str]:
        """Known-good examples of the notation, then the value with a suffix."""
        return [*self.examples, f"{value}x"]


class StrftimeSlot(NotationSlot):
    """A strftime/strptime date format."""

    kind = "strftime"
    checker = staticmethod(notation.check_strftime)
    examples = ("%d.%m.%Y", "%Y%m%d")


class RegexSlot(NotationSlot):
    """A regular expression; optionally with exactly ``groups`` capturing groups named
    ``names`` (the code reads groups), or ``literal`` (no metacharacters: the code splits on
    a separator that happens to go through :mod:`re`)."""

    kind = "regex"
    checker = staticmethod(notation.check_regex)

    def __init__(self, groups: int | None = None, names: frozenset[str] = frozenset(), literal: bool = False) -> None:
        """See the class docstring."""
        super().__init__()
        self.groups = groups
        self.names = names
        self.literal = literal
        self.nonblank = not literal  # a blank separator (" ", a tab) means something

    @property
    def spec(self) -> str:
        """``regex``, ``regex(groups=1)``, ``regex(groups=2,names=day|month)``, ``regex(literal)``."""
        parts = [] if self.groups is None else [f"groups={self.groups}"]
        if self.names:
            parts.append("names=" + "|".join(sorted(self.names)))
        if self.literal:
            parts.append("literal")
        return f"regex({','.join(parts)})" if parts else "regex"

    def check_notation(self, value: str) -> None:
        """Compiles, not a glob, and the group shape the code relies on."""
        notation.check_regex(value)
        if self.literal and notation.has_regex_metachar(value):
            raise SlotError(f"{value!r} has regex metacharacters; the code expects a plain separator")
        compiled = re.compile(value)
        if self.groups is not None and compiled.groups != self.groups:
            raise SlotError(f"{value!r} has {compiled.groups} capturing group(s); the code reads {self.groups}")
        if set(compiled.groupindex) != set(self.names) and (self.names or self.groups is not None):
            raise SlotError(f"{value!r} names its groups {sorted(compiled.groupindex)}, not {sorted(self.names)}")

    def variant_candidates(self, value: str) -> list[str]:
        """The value followed by a literal: still a regex, other text, same groups."""
        return [f"{value}x", f"(?:{value})x", "x+"]

    @classmethod
    def from_args(cls, args: str) -> RegexSlot:
        """Parse ``groups=N``, ``names=a|b`` and ``literal`` items."""
        groups: int | None = None
        names: frozenset[str] = frozenset()
        literal = False
        for item in (a.strip() for a in args.split(",") if a.strip()):
            key, _, val = item.partition("=")
            if key == "groups" and val.isdigit():
                groups = int(val)
            elif key == "names" and all(n.isidentifier() for n in val.split("|")):
                names = frozenset(val.split("|"))
            elif item == "literal":
                literal = True
            else:
                raise SlotError(f"regex(...) takes groups=N, names=a|b and literal, not {item!r}")
        return cls(groups, names, literal)


class GlobSlot(NotationSlot):
    """A glob pattern."""

    kind = "glob"
    checker = staticmethod(notation.check_glob)

    def variant_candidates(self, value: str) -> list[str]:
        """Another glob."""
        return [f"x{value}", "*.txt"]


class EncodingSlot(NotationSlot):
    """A text encoding name."""

    kind = "encoding"
    checker = staticmethod(notation.check_encoding)
    examples = ("latin-1", "utf-8")


class MimeSlot(NotationSlot):
    """A MIME type."""

    kind = "mime"
    checker = staticmethod(notation.check_mime)
    examples = ("application/json", "text/plain")


class PathSlot(NotationSlot):
    """A file-system path."""

    kind = "path"
    checker = staticmethod(notation.check_path)

    def variant_candidates(self, value: str) -> list[str]:
        """The value with another suffix."""
        return [f"{value}.bak", "other.txt"]


class _SignatureSlot(NotationSlot):
    def __init__(self, signature: str) -> None:
        super().__init__()
        if not _SIGNATURE_RE.fullmatch(signature):
            raise SlotError(f"bad {self.kind} signature {signature!r}")
        self.signature = signature

    @property
    def spec(self) -> str:
        return f"{self.kind}({self.signature})"

    def variant_candidates(self, value: str) -> list[str]:
        return [f"{value} (done)", f"done: {value}"]


class PrintfSlot(_SignatureSlot):
    """A printf-style format consuming exactly the arguments of its signature."""

    kind = "printf"

    def check_notation(self, value: str) -> None:
        """Same arguments, compatible kinds."""
        notation.check_printf_against(value, self.signature)


class FormatSlot(_SignatureSlot):
    """A ``str.format`` string using exactly the fields of its signature."""

    kind = "format"

    def check_notation(self, value: str) -> None:
        """Same fields, compatible kinds, and it formats probe arguments."""
        notation.check_format_against(value, self.signature)


class FormatSpecSlot(_SignatureSlot):
    """A format spec for ``format(x, spec)``; the signature is ``n`` or ``s``."""

    kind = "format_spec"

    def check_notation(self, value: str) -> None:
        """Formats a value of the signature's kind."""
        notation.check_format_spec(value, self.signature)

    def variant_candidates(self, value: str) -> list[str]:
        """Other specs of the same kind."""
        return [">12", ".3f", ","]


class UnitSlot(NotationSlot):
    """A unit of measure: only spellings of the original unit (the code's factors use it)."""

    kind = "unit"

    def __init__(self, unit: str) -> None:
        """``unit`` is the canonical unit name."""
        super().__init__()
        if notation.unit_of(unit) != unit:
            raise SlotError(f"unknown unit {unit!r}")
        self.unit = unit

    @property
    def spec(self) -> str:
        """``unit(MB)``."""
        return f"unit({self.unit})"

    def check_notation(self, value: str) -> None:
        """Another spelling of the same unit."""
        notation.check_unit(value, self.unit)

    def variant_candidates(self, value: str) -> list[str]:
        """Other spellings of the unit."""
        return [alias for alias, unit in notation.UNIT_SPELLINGS.items() if unit == self.unit]


class EnvVarSlot(NotationSlot):
    """An environment variable name."""

    kind = "envvar"
    checker = staticmethod(notation.check_envvar)
    examples = ("APP_SETTING", "OTHER_VALUE")


class LogFormatSlot(NotationSlot):
    """A %-style logging format (LogRecord attribute keys)."""

    kind = "logfmt"
    checker = staticmethod(notation.check_logfmt)
    examples = ("%(levelname)s %(message)s", "%(message)s")


class TimezoneSlot(NotationSlot):
    """An IANA time zone name."""

    kind = "timezone"
    checker = staticmethod(notation.check_timezone)
    examples = ("UTC", "Europe/Paris")


_SIMPLE: dict[str, type[NotationSlot]] = {
    cls.kind: cls
    for cls in (
        StrftimeSlot,
        RegexSlot,
        GlobSlot,
        EncodingSlot,
        MimeSlot,
        PathSlot,
        EnvVarSlot,
        LogFormatSlot,
        TimezoneSlot,
    )
}
#: Slot kinds this module parses.
STRING_KINDS = frozenset({"string", "printf", "format", "format_spec", "unit", *_SIMPLE})


def parse_string_type(kind: str, args: str | None) -> SlotType:
    """The slot type for ``kind(args)`` where ``kind`` is in :data:`STRING_KINDS`."""
    if kind == "regex" and args is not None:
        return RegexSlot.from_args(args)
    if kind in _SIMPLE:
        if args is not None:
            raise SlotError(f"slot type {kind} takes no arguments")
        return _SIMPLE[kind]()
    if kind == "printf":
        return PrintfSlot((args or "").replace(" ", ""))
    if kind == "format":
        return FormatSlot((args or "").replace(" ", ""))
    if kind == "format_spec":
        if args not in ("i", "n", "s", "t"):
            raise SlotError("format_spec takes i (ints), n (numbers), s (text) or t (dates)")
        return FormatSpecSlot(args)
    if kind == "unit":
        return UnitSlot((args or "").strip())
    if args is None:
        return StringSlot()
    parts = [a.strip() for a in args.split(",")]
    if any(p not in ("!blank", "!pattern") for p in parts[1:]):
        raise SlotError(f"string(...) takes MIN..MAX and the flags !blank, !pattern: {args!r}")
    lo, hi = _length_range(parts[0])
    return StringSlot(lo, hi, "!blank" in parts[1:], "!pattern" in parts[1:])


def _length_range(text: str) -> tuple[int, int]:
    if ".." not in text:
        raise SlotError("string(...) takes a length range MIN..MAX")
    lo_text, hi_text = (t.strip() for t in text.split("..", 1))
    try:
        lo = int(lo_text) if lo_text else 0
        hi = int(hi_text) if hi_text else DEFAULT_MAX
    except ValueError as exc:
        raise SlotError(f"bad string length range {text!r}") from exc
    if not 0 <= lo <= hi:
        raise SlotError(f"empty string length range {text!r}")
    return lo, hi
