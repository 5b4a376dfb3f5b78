"""Capture the warnings one thread's own step emits, without swapping process-wide state.

Why not ``warnings.catch_warnings()``: it replaces ``warnings.filters`` with a copy on enter
and puts the old list back on exit, so a filter that ANOTHER thread adds in between is thrown
away. That is what made ``templar batch -c 8`` print ~144 pydantic warnings: the validator ran
in a worker thread while another thread imported litellm, whose import adds
``warnings.filterwarnings("ignore", ...)`` entries; the validator's exit dropped them.

Invariants of :func:`capture_own_warnings`:

* ``warnings.filters`` is never replaced. While a capture is active, one filter entry of our own
  (action ``"always"``, matching only the module name derived from the capture's file name) sits
  at the front of the list; it is inserted and removed IN PLACE, under a lock, with a reference
  count, so filters other threads add meanwhile survive.
* Warnings are routed by thread: a permanent ``warnings.showwarning`` hook (installed once, and
  re-installed if something else restored the default) hands a warning to the capture of the
  thread that emits it when its file name is the captured one (or, with ``everything=True``,
  any warning that thread emits); every other warning goes on to the previous hook unchanged
  (so pytest's or another ``catch_warnings(record=True)`` still sees it).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

_state_lock = threading.Lock()
_local = threading.local()
_active_filters: dict[str, tuple[tuple[Any, ...], int]] = {}


def _module_name(filename: str) -> str:
    """The module name the warnings machinery derives from a file name (``x.py`` -> ``x``)."""
    return filename[:-3] if filename.endswith(".py") else filename


def _hook(message: Any, category: Any, filename: Any, lineno: Any, file: Any = None, line: Any = None) -> None:
    sink = getattr(_local, "sink", None)
    if sink is not None and (sink[1] or filename == sink[0]):
        sink[2].append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        return
    if getattr(_local, "forwarding", False):  # a hook that wrapped ours called back into it
        warnings._showwarning_orig(message, category, filename, lineno, file, line)  # type: ignore[attr-defined]
        return
    _local.forwarding = True
    try:
        _hook.previous(message, category, filename, lineno, file, line)  # type: ignore[attr-defined]
    finally:
        _local.forwarding = False


_hook.previous = warnings.showwarning  # type: ignore[attr-defined]


def _ensure_hook() -> None:
    """Install the routing hook over whatever ``showwarning`` is current (idempotent)."""
    current = warnings.showwarning
    if current is not _hook:
        _hook.previous = current  # type: ignore[attr-defined]
        warnings.showwarning = _hook


def _add_filter(module: str) -> None:
    with _state_lock:
        _ensure_hook()
        entry, count = _active_filters.get(module, (None, 0))
        if entry is None:
            entry = ("always", None, Warning, re.compile(re.escape(module) + r"\Z"), 0)
            cast(list[Any], warnings.filters).insert(0, entry)
            warnings._filters_mutated()  # type: ignore[attr-defined]
        _active_filters[module] = (entry, count + 1)


def _remove_filter(module: str) -> None:
    with _state_lock:
        entry, count = _active_filters[module]
        if count > 1:
            _active_filters[module] = (entry, count - 1)
            return
        del _active_filters[module]
        filters = cast(list[Any], warnings.filters)  # a list at runtime; typeshed says Sequence
        for index, existing in enumerate(filters):
            if existing is entry:
                del filters[index]
                warnings._filters_mutated()  # type: ignore[attr-defined]
                break


@contextmanager
def capture_own_warnings(filename: str, *, everything: bool = False) -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings this thread emits for ``filename`` (all of them if ``everything``).

    Warnings for ``filename`` are always shown to the capture (even deprecation warnings the
    default filters ignore). Nothing is printed for captured warnings; other threads' warnings,
    and this thread's other warnings when not ``everything``, behave as if no capture existed.
    """
    caught: list[warnings.WarningMessage] = []
    outer = getattr(_local, "sink", None)
    module = _module_name(filename)
    _add_filter(module)
    _local.sink = (filename, everything, caught)
    try:
        yield caught
    finally:
        _local.sink = outer
        _remove_filter(module)
