"""The seven alert levels and what each does to paid calls.

    L0 ok        below notice
    L1 notice    informational
    L2 watch     informational
    L3 warning   prefer cheaper providers (the chain is re-ordered by price)
    L4 high      cheapest provider only
    L5 critical  paid calls need confirmation (``--yes`` headless, a modal in the TUI)
    L6 exhausted paid calls refused; templates and cache still answer

A level is computed from spent + reserved over the limit; admission of a new paid call is decided
separately, atomically, by the conditional update in ``BudgetBook.reserve``.
"""

from __future__ import annotations

from collections.abc import Sequence

LEVEL_NAMES = ("ok", "notice", "watch", "warning", "high", "critical", "exhausted")
LEVEL_ACTIONS = (
    "none",
    "none",
    "none",
    "prefer cheaper providers",
    "cheapest provider only",
    "paid calls need confirmation",
    "paid calls refused",
)
OK, NOTICE, WATCH, WARNING, HIGH, CRITICAL, EXHAUSTED = range(7)


def level_for(percent: float, thresholds: Sequence[float]) -> int:
    """The level for ``percent`` of a budget, given the six increasing thresholds (L1..L6)."""
    level = 0
    for index, threshold in enumerate(thresholds, start=1):
        if percent >= threshold:
            level = index
    return level


def level_label(level: int) -> str:
    return f"L{level} {LEVEL_NAMES[level]}"
