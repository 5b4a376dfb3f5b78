"""Suggestions through the one door: the review queue of paid answers that may become templates.

A suggestion is a paid answer with a proposed parameterization (pattern and typed parameters).
A person (or the ``--accept-all`` policy) reviews it: edits are stored on the suggestion at once,
``preview_suggestion`` runs exactly the checks accepting runs, ``accept_suggestion`` makes it a
template (or a new version of one) only if they pass, ``reject_suggestion`` discards it.

Invariants: every method returns frozen dataclasses (``SuggestionView``, ``Preview``,
``TemplateView``), never rows; database work runs on the store's thread; a preview runs the
validator in a worker thread, never on the caller's event loop; only a pending suggestion can be
edited, accepted or rejected (``BadInput`` otherwise); an unknown or impossible id is ``NotFound``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from typing import TYPE_CHECKING

from engine.api.templates import check_id

if TYPE_CHECKING:
    from engine.learning import TemplateLibrary
    from engine.learning.library import SuggestionView, TemplateView
    from engine.learning.review import HeldForReview, Preview
    from engine.store.db import Store


def slot_types() -> tuple[str, ...]:
    """The parameter types a reviewer can choose from (each may carry learned constraints)."""
    from engine.learning.suggest import SLOT_TYPES

    return tuple(SLOT_TYPES)


def describe_slot_constraints(slot_type: str) -> str:
    """What a parameter type's learned constraints keep fixed, in words: kind/modifier words,
    number ranges, orders ("" when it has none or the type does not parse)."""
    from engine.templates import SlotError, parse_slot_type
    from engine.templates.meaning import describe_constraints

    try:
        return describe_constraints(parse_slot_type(slot_type))
    except SlotError:
        return ""


class SuggestionsAPI:
    """The review queue (mixed into ``Engine``)."""

    store: Store
    library: TemplateLibrary

    async def pending_suggestions(self) -> list[SuggestionView]:
        """Every suggestion waiting for review, oldest first."""
        return await self.store.run(self.library.suggestions, "pending")

    async def pending_suggestion_count(self) -> int:
        """How many suggestions wait for review (one COUNT: cheap enough for a status bar)."""
        return await self.store.run(self.library.pending_count)

    async def get_suggestion(self, suggestion_id: int) -> SuggestionView:
        """One suggestion, whatever its status. Raises ``NotFound``."""
        check_id(suggestion_id, "suggestion")
        return await self.store.run(self.library.suggestion, suggestion_id)

    async def preview_suggestion(self, suggestion: SuggestionView, pattern: str | None = None) -> Preview:
        """The checks accepting would run, on ``suggestion`` as it is or with ``pattern`` instead
        of its own (a live check while a person types; nothing is stored). ``Preview.ok`` says
        whether it may be accepted, ``problems`` why not, ``findings`` what the validator saw."""
        shown = suggestion if pattern is None else dataclasses.replace(suggestion, pattern=pattern)
        if shown.alias_of is not None:  # reads its template's row: on the store's thread
            return await self.store.run(self.library.preview, shown)
        return await asyncio.to_thread(self.library.preview, shown)

    async def edit_suggestion(
        self,
        suggestion_id: int,
        *,
        pattern: str | None = None,
        rename: dict[str, str] | None = None,
        retype: dict[str, str] | None = None,
        drop: list[str] | None = None,
    ) -> SuggestionView:
        """Store review edits on a pending suggestion: a new ``pattern``, parameters renamed
        (old -> new) or retyped (name -> type), parameters dropped (their original text goes back
        into the pattern as a literal). Raises ``BadInput`` for an unknown parameter, a bad name,
        or a suggestion that is not pending; nothing is changed then."""
        check_id(suggestion_id, "suggestion")
        return await self.store.run(
            functools.partial(
                self.library.edit, suggestion_id, pattern=pattern, rename=rename, retype=retype, drop=drop
            )
        )

    async def accept_suggestion(self, suggestion_id: int, *, unseen: bool = False) -> TemplateView:
        """Make a pending suggestion a template (or a better version of the template with its
        pattern), if every review check passes. ``unseen`` (no person read the code: the
        auto-accept policy) holds code with any security finding: ``HeldForReview``. Raises
        ``BadInput`` with the reason when a check fails (the reason is kept on the suggestion)."""
        check_id(suggestion_id, "suggestion")
        return await self.store.run(functools.partial(self.library.accept, suggestion_id, unseen=unseen))

    async def reject_suggestion(self, suggestion_id: int, reason: str = "rejected in review") -> SuggestionView:
        """Discard a pending suggestion: no template is made. Raises ``BadInput`` if not pending."""
        check_id(suggestion_id, "suggestion")
        return await self.store.run(self.library.reject, suggestion_id, reason)


def __getattr__(name: str) -> object:
    """The review queue's types on first use: the template library is not imported by a cache hit."""
    if name == "SuggestionView":
        from engine.learning.library import SuggestionView

        return SuggestionView
    if name in ("HeldForReview", "Preview"):
        from engine.learning import review

        return getattr(review, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HeldForReview",
    "Preview",
    "SuggestionView",
    "SuggestionsAPI",
    "describe_slot_constraints",
    "slot_types",
]
