"""Sandboxed rendering of template bodies.

Bodies are Jinja2 templates rendered by one :class:`~jinja2.sandbox.SandboxedEnvironment` with
``StrictUndefined`` (a missing parameter is an error, never an empty string),
``autoescape=False`` (we generate Python, not HTML), ``keep_trailing_newline=True``, and
``trim_blocks`` / ``lstrip_blocks`` (a ``{% ... %}`` line leaves no blank line behind).

Parameter values are data: Jinja2 never re-parses a value, so ``{{ ''.__class__ }}`` or
``{% import 'os' %}`` inside a value comes out as those characters. Filters for code:

    snake, camel, pascal, kebab, constant, humanize, plural   name helpers (engine.templates.naming)
    repr        a Python literal for str/int/float/bool/None and lists/tuples/dicts of them
    literal(prefix, quote)  a str as a one-line literal in a given style, e.g. ``r"..."``
                (raw only when the raw spelling means the same value; control characters,
                quotes and backslashes are escaped: a tab is written ``\\t``, never raw)
    doc         text made safe inside a triple-quoted docstring (one line, no quotes breakout)
    unoptional  "int | None" -> "int"
    type_imports  field list (or types) -> sorted import lines for the types used
and the test ``optional`` ("str | None" is optional).

Output is capped at :data:`MAX_OUTPUT_CHARS`, and every render runs under the limits of
:mod:`engine.templates.bounded` (a time limit; no huge values from ``*``, ``**``, ``%``, calls
or filters; no ``lipsum``). Compiled bodies are cached (LRU).
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Mapping
from threading import Lock

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from engine.templates import naming
from engine.templates.bounded import BoundedSandbox, bounded, checked_filter
from engine.templates.errors import RenderError
from engine.templates.escapes import python_literal
from engine.templates.typeexpr import type_imports

MAX_OUTPUT_CHARS = 1_000_000
_CACHE_SIZE = 512
_TAG_OPEN_RE = re.compile(r"\{(?=[{%#])")


def py_repr(value: object) -> str:
    """A Python literal for plain data; raise for anything else (or non-finite floats)."""
    if isinstance(value, str):
        literal = repr(value)
        if literal[0] == "'" and '"' not in value:  # prefer double quotes, like black/ruff
            literal = f'"{literal[1:-1]}"'
        return literal
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RenderError("non-finite float has no Python literal")
        return repr(value)
    if isinstance(value, (list, tuple)):
        items = ", ".join(py_repr(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_repr(k)}: {py_repr(v)}" for k, v in value.items()) + "}"
    raise RenderError(f"cannot write a {type(value).__name__} as a Python literal")


def str_literal(value: object, prefix: str = "", quote: str = '"') -> str:
    """A str as a Python literal in the style ``prefix`` + ``quote`` (see escapes)."""
    if not isinstance(value, str):
        raise RenderError(f"literal needs a str, not {type(value).__name__}")
    if prefix not in ("", "r", "R"):
        raise RenderError(f"bad literal prefix {prefix!r}")
    return python_literal(value, prefix, quote)


def doc_text(value: object) -> str:
    """Text safe inside a triple-quoted docstring: one line, no backslashes or quote runs."""
    text = " ".join(str(value).split())
    return text.replace("\\", "/").replace('"""', "'''").rstrip('"')


def unoptional(type_text: str) -> str:
    """Drop ``| None`` from a canonical type expression."""
    members = [m for m in type_text.split(" | ") if m != "None"]
    return " | ".join(members)


def is_optional(type_text: object) -> bool:
    """Whether a canonical type expression includes ``None``."""
    return "None" in str(type_text).split(" | ")


def escape_literal(text: str) -> str:
    """A body that renders to exactly ``text`` (for the constant parts of learned templates).

    Every ``{`` that would open a Jinja2 tag (``{{``, ``{%``, ``{#``) is emitted by an
    expression instead; nothing else changes, so dict literals and f-strings stay readable.
    """
    return _TAG_OPEN_RE.sub("{{ '{' }}", text)


def _make_env() -> SandboxedEnvironment:
    env = BoundedSandbox(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        snake=naming.snake,
        camel=naming.camel,
        pascal=naming.pascal,
        kebab=naming.kebab,
        constant=naming.constant,
        humanize=naming.humanize,
        plural=naming.plural,
        repr=py_repr,
        literal=str_literal,
        doc=doc_text,
        unoptional=unoptional,
        type_imports=type_imports,
    )
    env.tests["optional"] = is_optional
    for name, fn in list(env.filters.items()):  # huge widths and counts are refused before any work
        env.filters[name] = checked_filter(fn, value_at=1 if getattr(fn, "jinja_pass_arg", None) else 0)
    env.globals.pop("lipsum", None)  # text of any length on request: not for code templates
    return env


ENV = _make_env()
_cache: OrderedDict[str, Template] = OrderedDict()
_cache_lock = Lock()


def compile_body(body: str) -> Template:
    """Compile a body (cached); raise :class:`RenderError` on a syntax error."""
    with _cache_lock:
        template = _cache.get(body)
        if template is not None:
            _cache.move_to_end(body)
            return template
    try:
        template = ENV.from_string(body)
    except TemplateError as exc:
        raise RenderError(f"template syntax error: {exc}") from exc
    with _cache_lock:
        _cache[body] = template
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return template


def render_body(body: str, bindings: Mapping[str, object]) -> str:
    """Render a body with plain-data bindings in the sandbox.

    Raises :class:`RenderError` (with the Jinja2 error as ``__cause__``) on an undefined name,
    a sandbox violation, or output longer than :data:`MAX_OUTPUT_CHARS`.
    """
    template = compile_body(body)
    pieces: list[str] = []
    size = 0
    try:
        with bounded():  # a time limit on every render: at import, review and serve alike
            for piece in template.generate(dict(bindings)):
                size += len(piece)
                if size > MAX_OUTPUT_CHARS:
                    raise RenderError(f"rendered output exceeds {MAX_OUTPUT_CHARS} characters")
                pieces.append(piece)
    except RenderError:
        raise
    except Exception as exc:  # undefined names, sandbox refusals, errors in the body itself
        raise RenderError(f"rendering failed: {type(exc).__name__}: {exc}") from exc
    return "".join(pieces)
