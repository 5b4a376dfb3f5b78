"""The app's modes, the single keys that switch to them (shown in the footer and the mode bar),
and their screens, imported only when first needed (the first frame imports only its own)."""

from __future__ import annotations

import importlib
from typing import Any

MODES: tuple[tuple[str, str, str], ...] = (
    ("g", "generate", "Generate"),
    ("l", "library", "Library"),
    ("b", "budget", "Budget"),
    ("c", "config", "Config"),
    ("r", "review", "Review"),
)
LABELS = {mode: label for _, mode, label in MODES}
SCREENS = {
    "generate": "tui.screens.generate:GenerateScreen",
    "library": "tui.screens.library:LibraryScreen",
    "budget": "tui.screens.budget:BudgetScreen",
    "config": "tui.screens.config:ConfigScreen",
    "review": "tui.screens.review:ReviewScreen",
}


def screen_class(mode: str) -> Any:
    module, name = SCREENS[mode].split(":")
    return getattr(importlib.import_module(module), name)


def screen_classes() -> dict[str, Any]:
    """Every mode's screen class (imports them all: for help and the command palette)."""
    return {mode: screen_class(mode) for mode in SCREENS}


def screen_factory(mode: str) -> Any:
    """What ``App.MODES`` holds for ``mode``: a callable that imports and builds the screen."""
    return lambda: screen_class(mode)()
