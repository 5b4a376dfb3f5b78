"""Learning: paid answers become templates after a parameterization is suggested and reviewed.

The names below are imported on first use: importing a light submodule (``engine.learning.stamp``)
must not load the library, matching and Jinja (a cache hit needs none of them)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.learning.body import Param, build_body, round_trip
    from engine.learning.library import SuggestionView, TemplateLibrary, TemplateView
    from engine.learning.review import Preview, check

_HOME = {
    "Param": "body",
    "build_body": "body",
    "round_trip": "body",
    "SuggestionView": "library",
    "TemplateLibrary": "library",
    "TemplateView": "library",
    "Preview": "review",
    "check": "review",
}


def __getattr__(name: str) -> object:
    if name in _HOME:
        return getattr(importlib.import_module(f"engine.learning.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Param", "Preview", "SuggestionView", "TemplateLibrary", "TemplateView", "build_body", "check", "round_trip"]
