"""The typed API ``Engine`` offers its surfaces (the CLI, the app, scripts), one mixin per area.

``Engine`` inherits every mixin here; the CLI and the app call only these methods (plus events,
errors and the formatting helpers below), never the store, the template library or other
internals (``tests/test_one_door.py`` enforces it). Every method is async, typed, and returns
frozen dataclasses, never database rows.

- ``TemplatesAPI``: get, similar, built-in pack, retire, export, import (listing is
  ``Engine.templates``).
- ``SuggestionsAPI``: the review queue: pending, count, get, preview, edit, accept, reject.
- ``FeedbackAPI``: report a template answer as wrong.
- ``GenerateAPI``: what surfaces need around ``Engine.generate``.
- ``ConfigAPI`` (and ``ConfigDesk``, the same without a database), ``BudgetAPI``, ``StatsAPI``,
  ``DoctorAPI``, ``StoreAPI``: config show/explain/set/unset/export/import/trust, budgets,
  alerts and allocation, statistics, doctor and providers, store status and migration.

Invariant: importing a module here is cheap. Internals are imported inside the methods, so a
template or cache hit never loads the code behind ``templar stats`` or ``templar doctor``.
"""

from typing import TYPE_CHECKING

from engine.api.feedback import FeedbackAPI, WrongAnswer, clean_reason
from engine.api.generate import GenerateAPI, check_scope_name
from engine.api.suggestions import SuggestionsAPI, describe_slot_constraints, slot_types
from engine.api.templates import ExportResult, ImportResult, SimilarTemplate, TemplatesAPI

if TYPE_CHECKING:
    from engine.api.suggestions import HeldForReview, Preview, SuggestionView
    from engine.api.templates import TemplateView
    from engine.templates.spec import TemplateSpec  # what builtin_templates() returns

# types from the template library, imported on first use (a cache hit never loads the library)
_LAZY = {
    "HeldForReview": "engine.learning.review",
    "Preview": "engine.learning.review",
    "SuggestionView": "engine.learning.library",
    "TemplateView": "engine.learning.library",
    "TemplateSpec": "engine.templates.spec",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TemplateSpec",
    "ExportResult",
    "FeedbackAPI",
    "GenerateAPI",
    "HeldForReview",
    "ImportResult",
    "Preview",
    "SimilarTemplate",
    "SuggestionView",
    "SuggestionsAPI",
    "TemplateView",
    "TemplatesAPI",
    "WrongAnswer",
    "check_scope_name",
    "clean_reason",
    "describe_slot_constraints",
    "slot_types",
]
