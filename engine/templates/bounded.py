"""Limits on one template render: time, output size, and the sizes a body may ask for.

A template body comes from a person or an import file, so it may be hostile: nested huge loops
that print nothing, ``'x' * 10**9``, ``'a'.ljust(10**9)``. The Jinja2 sandbox stops attribute
escapes, not work. Invariants of every render through :func:`bounded`:

- It ends within about ``RENDER_TIME_LIMIT_S`` of template work: one watchdog thread raises
  :class:`RenderTimeout` inside the rendering thread when its deadline passes (CPython's
  asynchronous exceptions, delivered at the next bytecode of the compiled template's loops),
  again every 0.1 s if the body swallows it; the render then fails with that error.
- Arithmetic and calls in a body cannot build a huge value: ``*`` and ``**`` with an operand or
  result size over ``MAX_VALUE_CHARS``, a call or filter given an integer over that size, or a
  format width with seven or more digits, are refused before any work.
- Output is capped by the caller (render.py: ``MAX_OUTPUT_CHARS``).
A render that ends in time pays only a registration under a lock (bench/render_limits.py).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from jinja2.sandbox import SandboxedEnvironment

from engine.templates.errors import RenderError

RENDER_TIME_LIMIT_S = 2.0
MAX_VALUE_CHARS = 1_000_000
_WIDE_FORMAT = re.compile(r"\d{7,}")


class RenderTimeout(RenderError):
    """A render ran past its time limit."""


def _interrupt(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` in thread ``thread_id`` at its next bytecode (None clears a pending one)."""
    import ctypes  # only when a render runs late: not on the template-hit path

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


class _Watchdog:
    """One daemon thread that interrupts renders past their deadline (costs nothing until then).

    A render registers (thread, deadline); past the deadline the watchdog raises RenderTimeout in
    that thread, and again every ``_REFIRE_S`` in case the body swallowed it, until the render
    unregisters. Unregistering clears an interrupt that is still pending, under the same lock."""

    _REFIRE_S = 0.1

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: dict[int, int] = {}  # token -> thread id
        self._fired: set[int] = set()
        self._heap: list[tuple[float, int]] = []
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def start(self, limit_s: float) -> int:
        token = next(self._tokens)
        with self._cond:
            self._active[token] = threading.get_ident()
            heapq.heappush(self._heap, (time.monotonic() + limit_s, token))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="templar-render-watchdog", daemon=True)
                self._thread.start()
            if self._heap[0][1] == token:
                self._cond.notify()
        return token

    def stop(self, token: int) -> bool:
        """Unregister; True when the render was interrupted (its deadline passed)."""
        with self._cond:
            thread_id = self._active.pop(token, None)
            fired = token in self._fired
            if fired:
                self._fired.discard(token)
                if thread_id is not None:
                    _interrupt(thread_id, None)
        return fired

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heapreplace(self._heap, (time.monotonic() + self._REFIRE_S, token))
                self._fired.add(token)
                _interrupt(self._active[token], RenderTimeout)


_WATCHDOG = _Watchdog()


class bounded:  # noqa: N801 - used as ``with bounded():``
    """Run the enclosed render under a deadline (see the module invariants)."""

    def __init__(self, limit_s: float = RENDER_TIME_LIMIT_S) -> None:
        self.limit_s = limit_s
        self._token = -1

    def __enter__(self) -> None:
        self._token = _WATCHDOG.start(self.limit_s)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Literal[False]:
        fired = False
        while True:  # the interrupt may land while unregistering: unregister again, it ends
            try:
                fired = _WATCHDOG.stop(self._token) or fired
                break
            except RenderTimeout:
                fired = True
        if fired:
            raise RenderTimeout(f"rendering took longer than {self.limit_s:g} s; the template does too much work")
        return False


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
        for value in (*args[value_at + 1 :], *kwargs.values()):
            _check_number(value)
        return fn(*args, **kwargs)

    return wrapper


__all__ = ["MAX_VALUE_CHARS", "RENDER_TIME_LIMIT_S", "BoundedSandbox", "RenderTimeout", "bounded", "checked_filter"]
