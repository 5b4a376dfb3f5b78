"""The learned-template library: suggestions, review, templates, versions, uses, retirement.

Invariants: a template exists only after ``review.check`` passed (round trip, validation,
generalisation); a suggestion that fails stays pending with the reason; every template change
writes a TemplateVersion row; a template that keeps failing is retired with a recorded reason.
Functions here are synchronous and run on the database thread; rows never leave this module
(views are dataclasses).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from peewee import DatabaseError

from engine.errors import BadInput, NotFound
from engine.feedback import Negatives
from engine.learning import anchors
from engine.learning.alias_store import (
    accept_alias,
    active_alias_specs,
    alias_preview,
    find_alias,
)
from engine.learning.aliases import AliasProposal
from engine.learning.body import Param
from engine.learning.review import (
    HeldForReview,
    Preview,
    check,
    held_for_a_person,
    literal_in_pattern,
    rename_in_pattern,
    spec_for,
)
from engine.learning.stamp import STAMP_SQL, read_stamp  # noqa: F401 - STAMP_SQL: re-exported
from engine.logs import get_logger
from engine.money import micros_to_usd
from engine.safe_text import name_problem
from engine.store.db import write_transaction
from engine.store.models import Suggestion, Template, TemplateAlias, TemplateVersion
from engine.templates import TemplateIndex, TemplateSpec
from engine.templates.normalize import NormalizedTask
from engine.validation import CodeValidator

PREFIX = "learned-"
_log = get_logger("learning")


def params_from_json(text: str) -> list[Param]:
    out = []
    for item in json.loads(text or "[]"):
        value = item.get("value")
        if item["type"].split("(", 1)[0] == "field_list":
            value = [tuple(v) for v in value]
        out.append(
            Param(item["name"], item["type"], value, item.get("description", ""), float(item.get("confidence", 0.0)))
        )
    return out


def params_to_json(params: list[Param]) -> str:
    return json.dumps([p.to_dict() for p in params], ensure_ascii=False)


@dataclass(frozen=True)
class SuggestionView:
    id: int
    status: str
    created: float
    name: str
    project: str
    agent: str
    task: str
    code: str
    pattern: str
    params: tuple[Param, ...]
    confidence: float
    reason: str
    provider: str
    model: str
    cost_micros: int
    template_id: int | None

    @property
    def alias_of(self) -> int | None:
        """The template this wording is an alias of ("same as template N"), while pending."""
        return self.template_id if self.status == "pending" else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "created": self.created,
            "name": self.name,
            "project": self.project,
            "agent": self.agent,
            "task": self.task,
            "code": self.code,
            "pattern": self.pattern,
            "params": [p.to_dict() for p in self.params],
            "confidence": self.confidence,
            "reason": self.reason,
            "provider": self.provider,
            "model": self.model,
            "cost_usd": micros_to_usd(self.cost_micros),
            "template_id": self.template_id,
            "alias_of": self.alias_of,
        }


@dataclass(frozen=True)
class TemplateView:
    id: int
    name: str
    pattern: str
    body: str
    params: tuple[Param, ...]
    status: str
    version: int
    uses: int
    failures: int
    saved_micros: int
    quality: int
    counterfactual_micros: int
    created: float
    updated: float
    retired_reason: str | None
    versions: tuple[dict[str, Any], ...] = field(default=())
    aliases: tuple[dict[str, Any], ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.id}"

    def to_dict(self, with_body: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "pattern": self.pattern,
            "status": self.status,
            "version": self.version,
            "uses": self.uses,
            "failures": self.failures,
            "saved_usd": micros_to_usd(self.saved_micros),
            "quality": self.quality,
            "counterfactual_usd": micros_to_usd(self.counterfactual_micros),
            "created": self.created,
            "updated": self.updated,
            "retired_reason": self.retired_reason,
            "params": [p.to_dict() for p in self.params],
        }
        if with_body:
            data["body"] = self.body
            data["versions"] = list(self.versions)
            data["aliases"] = list(self.aliases)
        return data

    def spec(self) -> TemplateSpec:
        return spec_for(self.key, self.pattern, self.body, list(self.params), None, self.version)


def _suggestion_view(row: Suggestion) -> SuggestionView:
    return SuggestionView(
        row.id,
        row.status,
        row.created,
        row.name,
        row.project,
        row.agent,
        row.task,
        row.code,
        row.pattern,
        tuple(params_from_json(row.params)),
        row.confidence,
        row.reason,
        row.provider,
        row.model,
        row.cost_micros,
        row.template_id,  # type: ignore[attr-defined]  # the FK 'template' as its raw id
    )


def _template_view(row: Template, versions: bool = False) -> TemplateView:
    history: tuple[dict[str, Any], ...] = ()
    if versions:
        history = tuple(
            {"version": v.version, "pattern": v.pattern, "quality": v.quality, "created": v.created, "reason": v.reason}
            for v in TemplateVersion.select()
            .where(TemplateVersion.template == row.id)
            .order_by(TemplateVersion.version)
        )
    aliases: tuple[dict[str, Any], ...] = ()
    if versions:
        aliases = tuple(
            {
                "id": a.id,
                "pattern": a.pattern,
                "hits": a.hits,
                "status": a.status,
                "fixed": json.loads(a.fixed),
                "suggestion": a.suggestion,
                "created": a.created,
            }
            for a in TemplateAlias.select().where(TemplateAlias.template == row.id).order_by(TemplateAlias.id)
        )
    return TemplateView(
        row.id,
        row.name,
        row.pattern,
        row.body,
        tuple(params_from_json(row.params)),
        row.status,
        row.version,
        row.uses,
        row.failures,
        row.saved_micros,
        row.quality,
        row.counterfactual_micros,
        row.created,
        row.updated,
        row.retired_reason,
        history,
        aliases,
    )


class TemplateLibrary:
    """Learned templates over the store, with an in-memory match index kept fresh by a stamp."""

    def __init__(self, validator_factory: Any = CodeValidator) -> None:
        self.validator_factory = validator_factory
        self._index: TemplateIndex | None = None
        self._stamp: tuple[int, ...] | None = None
        self._negatives = Negatives()
        self._anchors = anchors.AnchorCache()
        self._alias_ids: dict[tuple[str, str], int] = {}
        self._alias_specs: list[TemplateSpec] = []  # active aliases, as of the anchor cache's stamp

    # -- suggestions --------------------------------------------------------------------------

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
            return alias_preview(self, s)
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
            return accept_alias(self, s)
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

    def stamp(self) -> tuple[int, ...]:
        """Changes whenever a template is added, changed or retired, or an answer is reported
        wrong, by any process on any machine: every such change writes a version or report row
        (ids, unlike clocks, only grow).

        Three primary-key reads, whatever the library's size (a COUNT scanned the whole table:
        ~45 ms per request at 100k templates). The engine never deletes a template (retiring
        writes a version row); one deleted by hand is noticed at the next change or restart."""
        return read_stamp()

    def refusal(self, template: str, version: int, bindings: dict[str, Any]) -> str | None:
        """Why a match (learned or built-in) must not be served: its bindings were reported wrong
        for that template version, or reports retired it. In memory; current as of the last
        ``index``/``cached_index`` check (the stamp covers reports)."""
        return self._negatives.refusal(template, version, bindings)

    def cached_index(self, stamp: tuple[int, ...]) -> TemplateIndex | None:
        """The in-memory index if it is still current for ``stamp`` (no database work)."""
        return self._index if self._index is not None and stamp == self._stamp else None

    def index(self) -> TemplateIndex:
        """The match index of active learned templates, rebuilt only when the table changed
        (so a template accepted by another process is served on the next request)."""
        stamp = self.stamp()
        if self._index is None or stamp != self._stamp:
            specs = []
            for view in self.templates("active"):
                try:
                    specs.append(view.spec())
                except Exception:  # noqa: BLE001 - a broken row must not stop matching
                    continue
            alias_specs, self._alias_ids = active_alias_specs()
            self._index = TemplateIndex(specs + alias_specs)
            self._negatives = Negatives.load()
            self._stamp = stamp
        return self._index

    def lookup(self, task: str, stamp: tuple[int, ...] | None = None, *, near: bool = False) -> TemplateIndex:
        """A match index over the learned templates that could match ``task`` (the persisted
        anchor index, :mod:`engine.learning.anchors`): ``lookup(task).match(task)`` equals
        ``index().match(task)``, but reads only the candidates, whatever the library's size.
        No database work when this process already read the task's keys under ``stamp``."""
        stamp = self.stamp() if stamp is None else stamp
        cache = self._anchors
        if cache.stamp != stamp:
            kind, done = anchors.current()
            if kind != anchors.scheme() or done < stamp[1]:
                try:
                    anchors.sync(Template._meta.database, _spec_or_none, stamp[1])
                except DatabaseError as exc:  # e.g. a read-only store: the whole library, as before
                    _log.warning(
                        "anchor index not updated (%s); matching against the whole library", type(exc).__name__
                    )
                    return self.index()
            cache.reset(stamp)
            self._negatives = Negatives.load()
            # aliases are few: all of them, beside the candidates (accepting one moves the stamp)
            self._alias_specs, self._alias_ids = active_alias_specs()
        nt = NormalizedTask(task)
        if nt.too_long or not nt.words:
            return TemplateIndex()
        missing, found = cache.candidates(nt)
        if missing:
            cache.read(missing)
            found = cache.candidates(nt)[1]
        if near:
            extra = {k for k in anchors.near_keys(nt.words) if k not in cache.entries}
            if extra:
                cache.read(extra)
            found |= cache.near(nt)
        index = cache.index_for(found, _spec_or_none)
        if self._alias_specs:
            index = TemplateIndex([*index, *self._alias_specs])
        return index

    def near_index(self, task: str, stamp: tuple[int, ...] | None = None) -> TemplateIndex:
        """``lookup`` plus the templates filed under the task's keys that it misses by some
        words: enough for the "similar templates" list of a paid call without loading the
        whole library (``index``, still used by ``templates similar``)."""
        return self.lookup(task, stamp, near=True)

    def alias_id(self, template: str, pattern: str) -> int | None:
        """The alias whose pattern this is (in memory, as of the last index build)."""
        return self._alias_ids.get((template, pattern))

    def count_alias_hit(self, template: str, pattern: str) -> None:
        alias = self._alias_ids.get((template, pattern))
        if alias is not None:
            TemplateAlias.update(hits=TemplateAlias.hits + 1).where(TemplateAlias.id == alias).execute()

    def find_alias(self, task: str, code: str) -> AliasProposal | None:
        """An active template that renders ``code`` for this wording (see engine.learning.aliases)."""
        return find_alias(self, task, code)

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


def _spec_or_none(row: Template) -> TemplateSpec | None:
    try:
        return _template_view(row).spec()
    except Exception:  # noqa: BLE001 - a broken row must not stop matching (as in index())
        return None


def _name_from(s: SuggestionView) -> str:
    if s.name and s.name != "learned" and name_problem(s.name) is None:  # a model's name may be hostile
        return s.name
    words = [w for w in s.pattern.split() if w.isalpha()][:4]
    return "_".join(words).lower()[:60] or f"template_{s.id}"
