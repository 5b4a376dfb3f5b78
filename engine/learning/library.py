"""The learned-template library: suggestions, review, templates, versions, uses, retirement.

``TemplateLibrary`` is composed of :class:`~engine.learning.library_suggestions.SuggestionsMixin`
(queue, review, accept) and :class:`~engine.learning.library_matching.MatchingMixin` (stamp,
indexes, aliases); this module holds its state and the template lifecycle (read, import, count
failures, retire). The views live in :mod:`engine.learning.library_views`; every name that was
importable from here still is.

Invariants: a template exists only after ``review.check`` passed (round trip, validation,
generalisation); a suggestion that fails stays pending with the reason; every template change
writes a TemplateVersion row; a template that keeps failing is retired with a recorded reason.
Functions here are synchronous and run on the database thread; rows never leave the library
(views are dataclasses).
"""

from __future__ import annotations

import time
from typing import Any

from engine.errors import NotFound
from engine.feedback import Negatives
from engine.learning import anchors
from engine.learning.library_matching import MatchingMixin, _spec_or_none
from engine.learning.library_suggestions import SuggestionsMixin, _name_from
from engine.learning.library_views import (
    PREFIX,
    SuggestionView,
    TemplateView,
    _suggestion_view,
    _template_view,
    params_from_json,
    params_to_json,
)
from engine.learning.stamp import STAMP_SQL, read_stamp
from engine.logs import get_logger
from engine.store.models import Template, TemplateVersion
from engine.templates import TemplateIndex, TemplateSpec
from engine.validation import CodeValidator

_log = get_logger("learning")


class TemplateLibrary(SuggestionsMixin, MatchingMixin):
    """Learned templates over the store, with an in-memory match index kept fresh by a stamp."""

    def __init__(self, validator_factory: Any = CodeValidator) -> None:
        self.validator_factory = validator_factory
        self._index: TemplateIndex | None = None
        self._stamp: tuple[int, ...] | None = None
        self._negatives = Negatives()
        self._anchors = anchors.AnchorCache()
        self._alias_ids: dict[tuple[str, str], int] = {}
        self._alias_specs: list[TemplateSpec] = []  # active aliases, as of the anchor cache's stamp

    # -- templates ----------------------------------------------------------------------------

    def templates(self, status: str | None = None) -> list[TemplateView]:
        query = Template.select().order_by(Template.id)
        if status:
            query = query.where(Template.status == status)
        return [_template_view(r) for r in query]

    def template(self, template_id: int) -> TemplateView:
        row = Template.get_or_none(Template.id == template_id)
        if row is None:
            raise NotFound(f"no template {template_id}")
        return _template_view(row, versions=True)

    def record_failure(self, template_id: int, reason: str, retire_after: int) -> bool:
        """Count a failed use; retire the template (with a version record) after ``retire_after``."""
        Template.update(failures=Template.failures + 1).where(Template.id == template_id).execute()
        row = Template.get_by_id(template_id)
        if row.status == "active" and row.failures >= retire_after:
            self.retire(template_id, f"retired automatically after {row.failures} failures (last: {reason})")
            return True
        return False

    def retire(self, template_id: int, reason: str) -> TemplateView:
        row = Template.get_or_none(Template.id == template_id)
        if row is None:
            raise NotFound(f"no template {template_id}")
        now = time.time()
        Template.update(status="retired", retired_reason=reason, updated=now).where(
            Template.id == template_id
        ).execute()
        TemplateVersion.create(
            template=template_id,
            version=row.version,
            pattern=row.pattern,
            body=row.body,
            params=row.params,
            quality=row.quality,
            created=now,
            reason=f"retired: {reason}",
        )
        _log.warning("template %s (%s) retired: %s", template_id, row.name, reason)
        return self.template(template_id)

    def add_template(self, spec_data: dict[str, Any], *, now: float | None = None) -> TemplateView:
        """Insert an imported template (already checked by the caller)."""
        now = now or time.time()
        row = Template.create(
            name=spec_data["name"],
            pattern=spec_data["pattern"],
            body=spec_data["body"],
            params=params_to_json(spec_data["params"]),
            status="active",
            version=int(spec_data.get("version", 1)),
            quality=int(spec_data.get("quality", 0)),
            counterfactual_micros=int(spec_data.get("counterfactual_micros", 0)),
            created=now,
            updated=now,
        )
        TemplateVersion.create(
            template=row,
            version=row.version,
            pattern=row.pattern,
            body=row.body,
            params=row.params,
            quality=row.quality,
            created=now,
            reason="imported",
        )
        return self.template(row.id)


__all__ = [
    "PREFIX",
    "STAMP_SQL",
    "SuggestionView",
    "TemplateLibrary",
    "TemplateView",
    "_name_from",
    "_spec_or_none",
    "_suggestion_view",
    "_template_view",
    "params_from_json",
    "params_to_json",
    "read_stamp",
]
