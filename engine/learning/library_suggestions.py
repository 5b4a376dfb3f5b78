"""The suggestion half of the learned-template library: queue, fill, review, accept, reject.

Invariants: a template exists only after ``review.check`` passed (round trip, validation,
generalisation); a suggestion that fails stays pending with the reason; accepting writes the
template and its TemplateVersion row in one write transaction, and code no person read is held
for one when it has any security finding. Synchronous, on the database thread; a mixin of
:class:`engine.learning.library.TemplateLibrary` (its methods take the library as ``self``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from engine.errors import BadInput, NotFound
from engine.learning.alias_store import accept_alias, alias_preview
from engine.learning.body import Param
from engine.learning.library_views import (
    SuggestionView,
    TemplateView,
    _suggestion_view,
    _template_view,
    params_to_json,
)
from engine.learning.review import (
    HeldForReview,
    Preview,
    check,
    held_for_a_person,
    literal_in_pattern,
    rename_in_pattern,
)
from engine.logs import get_logger
from engine.safe_text import name_problem
from engine.store.db import write_transaction
from engine.store.models import Suggestion, Template, TemplateVersion
from engine.validation import CodeValidator

if TYPE_CHECKING:
    from engine.learning.library import TemplateLibrary

_log = get_logger("learning")


class SuggestionsMixin:
    """Suggestions and their review; ``accept`` turns one into a template (or a new version)."""

    validator_factory: Any  # set by TemplateLibrary.__init__: makes a CodeValidator

    def add_suggestion(
        self,
        *,
        task: str,
        code: str,
        pattern: str,
        params: list[Param],
        confidence: float,
        reason: str,
        provider: str,
        model: str,
        cost_micros: int,
        request_id: str,
        project: str,
        agent: str,
        name: str = "",
        status: str = "pending",
    ) -> SuggestionView:
        """A new suggestion; ``status="queued"`` reserves the row for learning that runs later
        (:mod:`engine.learning.learner`), which fills it with :meth:`fill_suggestion`."""
        row = Suggestion.create(
            created=time.time(),
            status=status,
            name=name[:64],
            project=project,
            agent=agent,
            task=task,
            code=code,
            pattern=pattern,
            params=params_to_json(params),
            confidence=confidence,
            reason=reason,
            provider=provider,
            model=model,
            cost_micros=cost_micros,
            request_id=request_id,
        )
        return _suggestion_view(row)

    def fill_suggestion(
        self,
        suggestion_id: int,
        *,
        pattern: str,
        params: list[Param],
        name: str,
        confidence: float,
        reason: str,
        provider: str,
        model: str,
        alias_of: int | None = None,
    ) -> SuggestionView:
        """Give a queued suggestion its parameterisation; it becomes pending (for review).
        ``alias_of``: the wording is an alias of that template (:mod:`engine.learning.aliases`)."""
        Suggestion.update(
            status="pending",
            pattern=pattern,
            params=params_to_json(params),
            name=name[:64],
            confidence=confidence,
            reason=reason,
            provider=provider,
            model=model,
            template=alias_of,
        ).where((Suggestion.id == suggestion_id) & (Suggestion.status == "queued")).execute()
        return self.suggestion(suggestion_id)

    def suggestions(self, status: str | None = "pending") -> list[SuggestionView]:
        query = Suggestion.select().order_by(Suggestion.id)
        if status:
            query = query.where(Suggestion.status == status)
        return [_suggestion_view(r) for r in query]

    def pending_count(self) -> int:
        return Suggestion.select().where(Suggestion.status == "pending").count()

    def suggestion(self, suggestion_id: int) -> SuggestionView:
        row = Suggestion.get_or_none(Suggestion.id == suggestion_id)
        if row is None:
            raise NotFound(f"no suggestion {suggestion_id}")
        return _suggestion_view(row)

    def preview(self, s: SuggestionView, validator: CodeValidator | None = None) -> Preview:
        if s.alias_of is not None:
            return alias_preview(cast("TemplateLibrary", self), s)
        preview = check(s.task, s.code, s.pattern, list(s.params), validator or self.validator_factory())
        if not preview.ok and not s.pattern and s.provider:
            # The model's answer gave no pattern (not JSON, or no "pattern"): that is why, not what
            # the fallback to a no-parameter template of the task's wording ran into.
            why = (
                s.reason.split("; ")[0].split(" (")[0]
                if s.reason.startswith("the suggestion ")
                else "the suggestion had no pattern"
            )
            reason = (
                f"{why} (the model's answer could not be read); as a template without parameters: "
                f"{preview.reason}; give a pattern in review to make a template by hand"
            )
            preview = replace(preview, reason=reason)
        return preview

    def edit(
        self,
        suggestion_id: int,
        *,
        pattern: str | None = None,
        rename: dict[str, str] | None = None,
        retype: dict[str, str] | None = None,
        drop: list[str] | None = None,
    ) -> SuggestionView:
        """Apply review edits: rename or retype parameters, drop (reject) some, edit the pattern."""
        s = self.suggestion(suggestion_id)
        if s.status != "pending":
            raise BadInput(f"suggestion {suggestion_id} is {s.status}, not pending")
        params = list(s.params)
        new_pattern = s.pattern if pattern is None else pattern
        names = {p.name for p in params}
        for old, new in (rename or {}).items():
            if old not in names:
                raise BadInput(f"suggestion {suggestion_id} has no parameter {old!r}")
            if not new.isidentifier() or new in names - {old}:
                raise BadInput(f"cannot rename {old!r} to {new!r}")
            params = [Param(new, p.type, p.value, p.description, p.confidence) if p.name == old else p for p in params]
            new_pattern = rename_in_pattern(new_pattern, old, new)
            names = {p.name for p in params}
        for name, type_ in (retype or {}).items():
            if name not in names:
                raise BadInput(f"suggestion {suggestion_id} has no parameter {name!r}")
            params = [
                Param(p.name, type_, p.value, p.description, p.confidence) if p.name == name else p for p in params
            ]
        for name in drop or []:
            victim = next((p for p in params if p.name == name), None)
            if victim is None:
                raise BadInput(f"suggestion {suggestion_id} has no parameter {name!r}")
            new_pattern = literal_in_pattern(new_pattern, victim, s.task)
            params = [p for p in params if p.name != name]
        Suggestion.update(pattern=new_pattern, params=params_to_json(params)).where(
            Suggestion.id == suggestion_id
        ).execute()
        return self.suggestion(suggestion_id)

    def reject(self, suggestion_id: int, reason: str = "rejected in review") -> SuggestionView:
        s = self.suggestion(suggestion_id)
        if s.status != "pending":
            raise BadInput(f"suggestion {suggestion_id} is {s.status}, not pending")
        Suggestion.update(status="rejected", reason=reason).where(Suggestion.id == suggestion_id).execute()
        return self.suggestion(suggestion_id)

    def accept(
        self, suggestion_id: int, counterfactual_micros: int | None = None, *, unseen: bool = False
    ) -> TemplateView:
        """Store the suggestion as a template (or a new version of one), or keep it pending with the reason.

        ``unseen``: no person read the code (the auto-accept policy, ``--accept-all``); then code
        with ANY security finding, whatever its severity, is held for a person instead.
        """
        s = self.suggestion(suggestion_id)
        if s.status != "pending":
            raise BadInput(f"suggestion {suggestion_id} is {s.status}, not pending")
        if s.alias_of is not None:
            return accept_alias(cast("TemplateLibrary", self), s)
        preview = self.preview(s)
        if not preview.ok:
            Suggestion.update(reason=preview.reason).where(Suggestion.id == suggestion_id).execute()
            raise BadInput(f"suggestion {suggestion_id} cannot become a template: {preview.reason}")
        held = held_for_a_person(preview) if unseen else ""
        if held:
            Suggestion.update(reason=held).where(Suggestion.id == suggestion_id).execute()
            raise HeldForReview(f"suggestion {suggestion_id} was not accepted automatically: {held}")
        now = time.time()
        cost = s.cost_micros if counterfactual_micros is None else counterfactual_micros
        with write_transaction(Template._meta.database):
            if Suggestion.get_by_id(suggestion_id).status != "pending":
                raise BadInput(f"suggestion {suggestion_id} was accepted or rejected meanwhile")
            existing = (
                Template.select().where((Template.pattern == preview.pattern) & (Template.status == "active")).first()
            )
            if existing is None:
                row = Template.create(
                    name=_name_from(s),
                    pattern=preview.pattern,
                    body=preview.body,
                    params=params_to_json(list(preview.params or s.params)),
                    status="active",
                    version=1,
                    quality=preview.score,
                    counterfactual_micros=cost,
                    created=now,
                    updated=now,
                )
                TemplateVersion.create(
                    template=row,
                    version=1,
                    pattern=row.pattern,
                    body=row.body,
                    params=row.params,
                    quality=row.quality,
                    created=now,
                    reason=f"learned from suggestion {s.id}",
                )
            elif preview.score > existing.quality:
                version = existing.version + 1
                Template.update(
                    body=preview.body,
                    params=params_to_json(list(preview.params or s.params)),
                    version=version,
                    quality=preview.score,
                    updated=now,
                    counterfactual_micros=max(cost, existing.counterfactual_micros),
                ).where(Template.id == existing.id).execute()
                TemplateVersion.create(
                    template=existing.id,
                    version=version,
                    pattern=preview.pattern,
                    body=preview.body,
                    params=params_to_json(list(preview.params or s.params)),
                    quality=preview.score,
                    created=now,
                    reason=f"better validated generation (score {preview.score} > {existing.quality}) "
                    f"from suggestion {s.id}",
                )
                row = Template.get_by_id(existing.id)
            else:
                row = existing
            Suggestion.update(status="accepted", reason="", template=row.id).where(Suggestion.id == s.id).execute()
        _log.info("template %s (%s) learned from suggestion %s, version %s", row.id, row.name, s.id, row.version)
        return _template_view(Template.get_by_id(row.id), versions=True)


def _name_from(s: SuggestionView) -> str:
    if s.name and s.name != "learned" and name_problem(s.name) is None:  # a model's name may be hostile
        return s.name
    words = [w for w in s.pattern.split() if w.isalpha()][:4]
    return "_".join(words).lower()[:60] or f"template_{s.id}"
