"""Notations a string value can be written in, and the checks that tell them apart.

Each check takes a value and raises :class:`SlotError` with a one-line reason when the value is
not in that notation (or means something else in it); nothing here executes generated code.
The checks call only the standard library's own parsers on the value (``re.compile``,
``string.Formatter.parse``, ``codecs.lookup``, ``str.__mod__`` / ``str.format`` on probe
numbers and strings), which are pure.

    strftime   at least one strftime directive, every ``%x`` a known directive, and no
               tokens of another date notation (``YYYY``, ``DD``, ``MM``, ``yyyy``, ``HH``...)
               or a ``{...}`` format field
    regex      compiles with :func:`re.compile`, and is not glob-shaped (``*.txt``, ``app-*``:
               a ``*`` or ``?`` right after start, ``/``, ``-``, space or a letter run that a
               regex writer would not quantify)
    glob       no regex-only syntax (``^``, ``$``, ``+``, ``(``, ``|``, ``\\d``, ``.*``, ``{m,n}``)
               and no shell brace expansion (``{a,b}``), which :mod:`glob`/:mod:`fnmatch` do not do
    printf     ``%`` directives only (no ``{}`` fields); its signature is the kind of argument
               each directive consumes: ``n`` (a number: d i f e g x o c ...) or ``s`` (anything:
               s r a), positional or by ``%(name)`` key
    format     ``str.format`` fields only (no printf ``%d``); its signature is each field's key
               (position or name) and the kind of argument its spec needs: ``i`` (an int: d x
               o b c), ``n`` (a number: f e g %, or grouping) or ``s`` (anything)
    encoding   a codec name :func:`codecs.lookup` knows (text encodings only)
    mime       ``type/subtype`` with a registered top-level type
    path       a file-system path: not blank, no glob wildcards, not a URL
    format_spec  a format spec for ``format(x, spec)`` / ``f"{x:{spec}}"`` (``.2f``, ``>10``,
               ``,``), of kind ``n`` (applied to a number) or ``s`` (to text)
    timezone   an IANA time zone name ``zoneinfo`` can load (``Europe/Berlin``, ``UTC``)
    envvar     an environment variable name (letters, digits, ``_``; not starting with a digit)
    logfmt     a logging format: ``%(name)s`` keys that are LogRecord attributes only
    unit       a unit of measure, equal to the original one up to spelling (``MB`` =
               ``megabytes``; ``ms`` = ``milliseconds``): the code's factors depend on it
"""

from __future__ import annotations

import codecs
import datetime
import re
import string

from engine.templates.errors import SlotError

_STRFTIME_DIRECTIVES = frozenset("aAwdbBmyYHIpMSfzZjUWcxXGuV%")
_STRFTIME_RE = re.compile(r"%([-#_^0]?)(.)", re.DOTALL)
_OTHER_DATE_TOKEN = re.compile(r"(?<![A-Za-z%])(?:[Yy]{2,4}|DD?|dd|MM|mm|HH|hh|SS|ss|SSS)(?![A-Za-z])")
_GLOB_SHAPED_REGEX = re.compile(r"(?:^|[/\s\-_,;])[*?]|^[\w.\-/ ]*[A-Za-z0-9]\*[\w.\-/ ]*$")
_REGEX_ONLY = re.compile(r"[\^$+|()]|\\[dDwWsSbBAZ]|\.[*+?]|\{\d*,?\d*\}|\(\?")
_REGEX_META = re.compile(r"[.^$*+?{}\[\]|()\\]")
_PATTERN_LOOK = re.compile(r"\\[dDwWsSbB.^$*+?()\[\]{}|]|\.[*+]|^\^.|\[[^\]]*-[^\]]*\]")
_BRACES = re.compile(r"\{[^{}]*,[^{}]*\}")
_MIME_TOP = frozenset({"application", "audio", "font", "image", "message", "model", "multipart", "text", "video"})
_MIME_RE = re.compile(r"([a-z]+)/[a-z0-9][a-z0-9.+\-]{0,126}(?:\s*;\s*[a-z0-9\-]+=[\w.\-]+)*")
_PRINTF_RE = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?(?P<flags>[#0\- +]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
    r"[hlL]?(?P<conv>.?)",
    re.DOTALL,
)
_NUMERIC_PRINTF = frozenset("diouxXeEfFgGc")
_ANY_PRINTF = frozenset("sra")
_NUMERIC_FORMAT_TYPES = frozenset("bcdoxXneEfFgG%")
_INT_FORMAT_TYPES = frozenset("bcdoxX")
MAX_WIDTH = 200
_PROBES: dict[str, object] = {"i": 7, "n": 1.5, "s": "x", "t": datetime.datetime(2024, 1, 2, 3, 4, 5)}
#: Which spec kinds may format an argument of a kind: an int takes any spec, text only "s".
_COMPATIBLE = {"i": frozenset("ins"), "n": frozenset("ns"), "s": frozenset("s"), "t": frozenset("t")}
_FORMAT_SPEC_RE = re.compile(
    r"(?:.?[<>=^])?[+\- ]?z?#?0?(?P<width>\d+)?(?P<group>[,_])?(?:\.(?P<prec>\d+))?(?P<type>[a-zA-Z%])?"
)
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

#: Every notation name, as spelled in a slot type.
NOTATIONS = (
    "strftime",
    "regex",
    "glob",
    "printf",
    "format",
    "encoding",
    "mime",
    "path",
    "format_spec",
    "unit",
    "envvar",
    "logfmt",
    "timezone",
)
_TZ_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]{0,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,2}")


def check_timezone(value: str) -> None:
    """An IANA time zone (loads one tz file, on first use of that name only)."""
    if not _TZ_RE.fullmatch(value):
        raise SlotError(f"{value!r} is not a time zone name such as Europe/Berlin")
    import zoneinfo  # local: only a timezone slot needs it

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise SlotError(f"{value!r} is not a time zone Python knows") from exc


_ENVVAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_LOG_RECORD_KEYS = frozenset(
    {
        "asctime",
        "created",
        "filename",
        "funcName",
        "levelname",
        "levelno",
        "lineno",
        "message",
        "module",
        "msecs",
        "name",
        "pathname",
        "process",
        "processName",
        "relativeCreated",
        "thread",
        "threadName",
        "taskName",
    }
)


def check_envvar(value: str) -> None:
    """An environment variable name."""
    if not _ENVVAR_RE.fullmatch(value):
        raise SlotError(f"{value!r} is not an environment variable name")


def check_logfmt(value: str) -> None:
    """A %-style logging format whose keys are LogRecord attributes."""
    signature = printf_signature(value)
    keys = [item.partition("=")[0] for item in signature.split(",") if item]
    if not keys or any("=" not in item for item in signature.split(",")):
        raise SlotError(f"{value!r} is not a logging format: use %(name)s keys such as %(message)s")
    unknown = sorted(set(keys) - _LOG_RECORD_KEYS)
    if unknown:
        raise SlotError(f"{value!r} uses %({unknown[0]})s, which is not a log record attribute")


_UNITS: dict[str, tuple[str, ...]] = {
    "B": ("bytes", "byte"),
    "KB": ("kB", "kilobytes", "kilobyte"),
    "KiB": ("kibibytes",),
    "MB": ("megabytes", "megabyte"),
    "MiB": ("mebibytes",),
    "GB": ("gigabytes", "gigabyte"),
    "GiB": ("gibibytes",),
    "TB": ("terabytes", "terabyte"),
    "TiB": ("tebibytes",),
    "ns": ("nanoseconds", "nanosecond"),
    "us": ("µs", "microseconds", "microsecond"),
    "ms": ("msec", "milliseconds", "millisecond"),
    "sec": ("seconds", "second", "secs"),
    "min": ("minutes", "minute", "mins"),
    "hr": ("hours", "hour", "hrs"),
    "day": ("days",),
    "mm": ("millimeters", "millimetres"),
    "cm": ("centimeters", "centimetres"),
    "meter": ("meters", "metres", "metre"),
    "km": ("kilometers", "kilometres"),
    "inch": ("inches", "in."),
    "ft": ("feet", "foot"),
    "mi": ("miles", "mile"),
    "mg": ("milligrams",),
    "gram": ("grams",),
    "kg": ("kilograms", "kilogram", "kgs"),
    "lb": ("lbs", "pounds", "pound"),
    "oz": ("ounces", "ounce"),
    "°C": ("celsius", "Celsius", "degC"),
    "°F": ("fahrenheit", "Fahrenheit", "degF"),
    "kelvin": ("Kelvin", "degK"),
    "kph": ("km/h", "kmh"),
    "mph": ("miles per hour",),
    "Hz": ("hertz",),
    "kHz": ("kilohertz",),
    "MHz": ("megahertz",),
    "GHz": ("gigahertz",),
}
UNIT_SPELLINGS: dict[str, str] = {alias: unit for unit, aliases in _UNITS.items() for alias in (unit, *aliases)}


def unit_of(value: str) -> str | None:
    """The canonical unit a value names (``None`` if it is not a unit of measure)."""
    return UNIT_SPELLINGS.get(value.strip())


def check_unit(value: str, unit: str) -> None:
    """``value`` names ``unit`` (in any of its spellings)."""
    if unit_of(value) != unit:
        raise SlotError(f"{value!r} is not the unit {unit} the code converts with")


def _check_spec_size(m: re.Match[str], value: str) -> None:
    """Probing formats a value: a width of 10**9 would allocate a gigabyte, so cap it."""
    if int(m.group("width") or 0) > MAX_WIDTH or int(m.group("prec") or 0) > MAX_WIDTH:
        raise SlotError(f"{value!r} asks for a width or precision above {MAX_WIDTH}")


def _spec_kind(m: re.Match[str]) -> str:
    if m.group("type") in _INT_FORMAT_TYPES:
        return "i"
    return "n" if m.group("type") in _NUMERIC_FORMAT_TYPES or m.group("group") else "s"


def _date_spec(spec: str) -> bool:
    """A ``{:%Y-%m-%d}`` spec: an strftime format applied to a date or datetime."""
    if "%" not in spec:
        return False
    try:
        check_strftime(spec)
    except SlotError:
        return False
    return True


def format_spec_kind(value: str) -> str:
    """``i`` (an int), ``n`` (a number), ``t`` (a date: an strftime spec) or ``s`` (anything):
    what a format spec applies to."""
    if _date_spec(value):
        return "t"
    m = _FORMAT_SPEC_RE.fullmatch(value)
    if m is None or "{" in value:
        raise SlotError(f"{value!r} is not a format spec such as .2f or >10")
    _check_spec_size(m, value)
    return _spec_kind(m)


_WHAT = {"i": "an integer", "n": "a number", "s": "text"}


def check_format_spec(value: str, kind: str) -> None:
    """A format spec that formats a value of ``kind`` (probed with 1.5 or "x")."""
    if kind == "t":
        if not _date_spec(value):
            raise SlotError(f"{value!r} is not an strftime spec for the date the code formats")
        return
    if format_spec_kind(value) == "t":  # a date spec where the code formats a number or text
        raise SlotError(f"{value!r} is a date format, but the code formats {_WHAT.get(kind, 'another value')}")
    try:
        format(_PROBES[kind], value)
    except (ValueError, TypeError, KeyError) as exc:
        raise SlotError(f"{value!r} cannot format the value the code passes: {exc}") from exc


def check_strftime(value: str) -> None:
    """A strftime/strptime format (see the module docstring)."""
    directives = [m.group(2) for m in _STRFTIME_RE.finditer(value)]
    if not [d for d in directives if d != "%"]:
        raise SlotError(f"{value!r} has no strftime directive such as %Y or %d")
    unknown = sorted({d for d in directives if d not in _STRFTIME_DIRECTIVES})
    if unknown:
        raise SlotError(f"{value!r} uses %{unknown[0]}, which is not an strftime directive")
    bare = _STRFTIME_RE.sub(" ", value)
    other = _OTHER_DATE_TOKEN.search(bare)
    if other:
        raise SlotError(f"{value!r} mixes in {other.group()!r} from another date notation")
    if "{" in bare or "}" in bare:
        raise SlotError(f"{value!r} is a str.format field, not an strftime format")


def check_regex(value: str) -> None:
    """A regular expression that compiles and is not a glob in disguise."""
    try:
        re.compile(value)
    except (re.error, OverflowError, RecursionError) as exc:
        raise SlotError(f"{value!r} is not a valid regex: {exc}") from exc
    if _GLOB_SHAPED_REGEX.search(value) and not _REGEX_ONLY.search(value):
        raise SlotError(f"{value!r} looks like a glob, not a regex")


def looks_like_pattern(value: str) -> bool:
    """Whether a value meant literally is written as a glob or a regex instead (``*.csv``,
    ``^ERROR``, ``\\d+``, ``.*``)."""
    return "*" in value or _PATTERN_LOOK.search(value) is not None


def has_regex_metachar(value: str) -> bool:
    """Whether ``value`` has a regex metacharacter (so it is not a plain literal)."""
    return _REGEX_META.search(value) is not None


def check_glob(value: str) -> None:
    """A glob pattern for :mod:`glob` / :mod:`fnmatch` / ``Path.glob``."""
    if _BRACES.search(value):
        raise SlotError(f"{value!r} uses shell brace expansion, which Python globs do not do")
    found = _REGEX_ONLY.search(value)
    if found:
        raise SlotError(f"{value!r} uses regex syntax ({found.group()!r}), not glob syntax")
    if value.count("[") != value.count("]"):
        raise SlotError(f"{value!r} has an unbalanced [ ] set")


def printf_signature(value: str) -> str:
    """The argument kinds of a printf format: ``"n"``, ``"s,n"``, ``"key=s,count=n"``.

    Raises for an invalid directive, a ``{}`` field, or mixed positional and keyed directives.
    """
    kinds: list[str] = []
    keys: list[str] = []
    for m in _PRINTF_RE.finditer(value):
        conv = m.group("conv")
        if conv == "%" and m.group(0) == "%%":
            continue
        if conv in _NUMERIC_PRINTF:
            kind = "n"
        elif conv in _ANY_PRINTF:
            kind = "s"
        else:
            raise SlotError(f"{value!r} has an invalid printf directive {m.group(0)!r}")
        if "*" in (m.group("width") or "") + (m.group("prec") or ""):
            raise SlotError(f"{value!r} uses a '*' width, which takes an extra argument")
        key = m.group("key")
        if key is not None:
            if not key.isidentifier():
                raise SlotError(f"{value!r} has a bad printf key {key!r}")
            keys.append(f"{key}={kind}")
        else:
            kinds.append(kind)
    if keys and kinds:
        raise SlotError(f"{value!r} mixes keyed and positional printf directives")
    if _format_fields(value, strict=False):
        raise SlotError(f"{value!r} has str.format fields, not printf directives")
    return ",".join(sorted(set(keys)) if keys else kinds)


def _format_fields(value: str, *, strict: bool) -> list[tuple[str, str]]:
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as exc:
        if strict:
            raise SlotError(f"{value!r} is not a valid str.format string: {exc}") from exc
        return []
    return [(name, spec or "") for _lit, name, spec, _conv in parsed if name is not None]


def format_signature(value: str) -> str:
    """The fields of a ``str.format`` string: ``"0=n"``, ``"0=s,1=n"``, ``"name=s"``."""
    fields = _format_fields(value, strict=True)
    outside = "".join(literal for literal, *_ in string.Formatter().parse(value))
    if any(m.group("conv") in _NUMERIC_PRINTF | _ANY_PRINTF for m in _PRINTF_RE.finditer(outside.replace("%%", ""))):
        raise SlotError(f"{value!r} has printf directives, not str.format fields")
    kinds: dict[str, str] = {}
    auto = 0
    numbered = False
    for name, spec in fields:
        if "{" in spec:
            raise SlotError(f"{value!r} nests a field inside a format spec")
        if name == "":
            if numbered:
                raise SlotError(f"{value!r} mixes automatic and numbered fields")
            key = str(auto)
            auto += 1
        elif name.isdigit():
            if auto:
                raise SlotError(f"{value!r} mixes automatic and numbered fields")
            numbered = True
            key = str(int(name))
        elif name.isidentifier():
            key = name
        else:
            raise SlotError(f"{value!r} uses an attribute or index field {name!r}")
        if _date_spec(spec):
            kinds[key] = "t"
            continue
        m = _FORMAT_SPEC_RE.fullmatch(spec)
        if m is None:
            raise SlotError(f"{value!r} has an invalid format spec {spec!r}")
        _check_spec_size(m, value)
        kind = _spec_kind(m)  # a field used twice needs the stricter kind: i > n > s
        kinds[key] = max(kind, kinds.get(key, "s"), key="sni".index) if kinds.get(key) != "t" else "t"
    return ",".join(f"{k}={v}" for k, v in sorted(kinds.items()))


def check_printf_against(value: str, signature: str) -> None:
    """``value`` consumes exactly the arguments of ``signature`` (kinds compatible)."""
    mine = printf_signature(value)
    _same_arguments(value, mine, signature, "printf")


def check_format_against(value: str, signature: str) -> None:
    """``value`` uses exactly the fields of ``signature`` (kinds compatible)."""
    mine = format_signature(value)
    _same_arguments(value, mine, signature, "str.format")
    positional = [k for k in _parse_signature(signature) if k.isdigit()]
    probes = {k: _PROBES.get(v, "x") for k, v in _parse_signature(signature).items()}
    args = [probes[k] for k in sorted(positional, key=int)]
    named = {k: v for k, v in probes.items() if not k.isdigit()}
    try:
        value.format(*args, **named)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SlotError(f"{value!r} does not format the arguments the code passes: {exc}") from exc


def _parse_signature(signature: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, item in enumerate(x for x in signature.split(",") if x):
        key, sep, kind = item.partition("=")
        out[key if sep else str(i)] = kind if sep else key
    return out


def _same_arguments(value: str, mine: str, signature: str, what: str) -> None:
    want, have = _parse_signature(signature), _parse_signature(mine)
    if set(want) != set(have):
        raise SlotError(
            f"{value!r} takes {len(have)} {what} argument(s) {sorted(have)}, the code passes {len(want)} {sorted(want)}"
        )
    for key, kind in have.items():
        if kind not in _COMPATIBLE.get(want[key], frozenset("s")):
            raise SlotError(f"{value!r} formats argument {key} in a way the code's argument does not support")


def check_encoding(value: str) -> None:
    """A text codec Python knows."""
    try:
        info = codecs.lookup(value)
    except (LookupError, ValueError, TypeError) as exc:
        raise SlotError(f"{value!r} is not an encoding Python knows") from exc
    if not getattr(info, "_is_text_encoding", True):
        raise SlotError(f"{value!r} is not a text encoding")


def check_mime(value: str) -> None:
    """A MIME type ``type/subtype`` (optionally with parameters)."""
    m = _MIME_RE.fullmatch(value.lower())
    if m is None or m.group(1) not in _MIME_TOP:
        raise SlotError(f"{value!r} is not a MIME type such as text/csv")


def check_path(value: str) -> None:
    """A file-system path (not a glob, not a URL)."""
    if any(ch in value for ch in "*?["):
        raise SlotError(f"{value!r} has glob wildcards; a path names one file")
    if _URL_RE.match(value):
        raise SlotError(f"{value!r} is a URL, not a file path")
    if any(ch in value for ch in "\t\n\r\x00"):
        raise SlotError(f"{value!r} has control characters; a path would not")
