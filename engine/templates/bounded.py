"""Limits on one template render: time, output size, and the sizes a body may ask for.

A template body comes from a person or an import file, so it may be hostile: nested huge loops
that print nothing, ``'x' * 10**9``, ``'a'.ljust(10**9)``. The Jinja2 sandbox stops attribute
escapes, not work. Invariants of every render through :func:`bounded`:

- It ends within ``RENDER_TIME_LIMIT_S`` of CPU-bound template work: a trace function, active
  only on the rendering thread and only for the render, checks the deadline on every line the
  compiled template runs and on every Python call it makes; past it, the render raises
  :class:`RenderTimeout`.
- Arithmetic and calls in a body cannot build a huge value: ``*`` and ``**`` with an operand or
  result size over ``MAX_VALUE_CHARS``, a call or filter given an integer over that size, or a
  format width with seven or more digits, are refused before any work.
- Output is capped by the caller (render.py: ``MAX_OUTPUT_CHARS``).
A normal render takes well under a millisecond; the trace function returns at once for frames
that are not template code, so it adds little.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import time
from collections.abc import Iterator
from typing import Any, Callable

from jinja2.sandbox import SandboxedEnvironment

from engine.templates.errors import RenderError

RENDER_TIME_LIMIT_S = 2.0
MAX_VALUE_CHARS = 1_000_000
_WIDE_FORMAT = re.compile(r"\d{7,}")
_TEMPLATE_FILE = "<template>"


class RenderTimeout(RenderError):
    """A render ran past its time limit."""


@contextlib.contextmanager
def bounded(limit_s: float = RENDER_TIME_LIMIT_S) -> Iterator[None]:
    """Run the enclosed render under a deadline (see the module invariants)."""
    deadline = time.monotonic() + limit_s
    previous = sys.gettrace()
    events = [0]

    def check() -> None:
        events[0] += 1
        if events[0] & 63 == 0 and time.monotonic() > deadline:  # the clock every 64 events
            sys.settrace(previous)
            raise RenderTimeout(f"rendering took longer than {limit_s:g} s; the template does too much work")

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            check()
        return local

    def global_trace(frame: Any, event: str, arg: Any) -> Any:
        check()
        return local if frame.f_code.co_filename == _TEMPLATE_FILE else None

    sys.settrace(global_trace)
    try:
        yield
    finally:
        sys.settrace(previous)


def _check_number(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_VALUE_CHARS:
        raise RenderError(f"a number given to a call in the template is too large ({MAX_VALUE_CHARS:,} at most)")


def _check_format(spec: Any) -> None:
    if isinstance(spec, str) and _WIDE_FORMAT.search(spec):
        raise RenderError("a format width in the template is too large")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox with size checks on ``*``, ``**``, ``%``, calls and filters (see module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right * abs(left).bit_length() > 100_000:
                raise RenderError("a power in the template is too large")
        elif operator == "*":
            length = max(_length(left), _length(right))
            times = right if _length(left) else left
            if length and isinstance(times, int) and length * times > MAX_VALUE_CHARS:
                raise RenderError(f"the template builds a value longer than {MAX_VALUE_CHARS:,}")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        for value in (*args, *kwargs.values()):
            _check_number(value)
        if getattr(__obj, "__name__", "") in ("format", "format_map"):
            _check_format(getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None))
        return super().call(__context, __obj, *args, **kwargs)


def checked_filter(fn: Callable[..., Any], *, value_at: int = 0) -> Callable[..., Any]:
    """A filter that refuses huge integer arguments (after the filtered value) first; the
    ``format`` filter also refuses a wide format string."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if fn.__name__ == "do_format" and len(args) > value_at:
            _check_format(args[value_at])
        for value in (*args[value_at + 1:], *kwargs.values()):
            _check_number(value)
        return fn(*args, **kwargs)

    return wrapper


__all__ = ["MAX_VALUE_CHARS", "RENDER_TIME_LIMIT_S", "BoundedSandbox", "RenderTimeout", "bounded", "checked_filter"]
