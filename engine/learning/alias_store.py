"""Aliases in the store (migration 0011): finding, previewing, accepting and indexing them.

Synchronous; runs on the database thread like :mod:`engine.learning.library`, whose
``TemplateLibrary`` delegates here (kept apart so that module stays one responsibility).
An alias suggestion is a pending ``Suggestion`` whose ``template`` is already set: the wording
is "same as template N". Accepting it writes a ``TemplateAlias`` row and a ``TemplateVersion``
row (the version is unchanged; the row records the change and moves the library's stamp, so
every process rebuilds its index).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from engine.errors import BadInput
from engine.learning.aliases import (
    AliasProposal,
    alias_check,
    alias_pattern,
    alias_spec,
    captured_bindings,
)
from engine.learning.body import Param
from engine.learning.review import _SLOT, Preview
from engine.logs import get_logger
from engine.store.db import write_transaction
from engine.store.models import Suggestion, Template, TemplateAlias, TemplateVersion
from engine.templates import TemplateSpec

if TYPE_CHECKING:
    from engine.learning.library import SuggestionView, TemplateLibrary, TemplateView

PREFIX = "learned-"
_log = get_logger("learning")


def _params_with(params: list[Param], values: dict[str, Any]) -> list[Param]:
    return [Param(p.name, p.type, values.get(p.name, p.value), p.description, 1.0) for p in params]


def find_alias(library: TemplateLibrary, task: str, code: str, limit: int = 10) -> AliasProposal | None:
    """The first close active template that renders ``code`` byte for byte for this wording."""
    from engine.learning.library import params_from_json

    index = library.index()
    for near in index.similar(task, limit=limit, min_score=0.1):
        name = near.template.name
        if not name.startswith(PREFIX):
            continue
        row = Template.get_or_none((Template.id == int(name.removeprefix(PREFIX))) & (Template.status == "active"))
        if row is None:
            continue
        params = params_from_json(row.params)
        try:
            spec = TemplateSpec.from_dict(
                {
                    "name": name,
                    "version": row.version,
                    "patterns": [row.pattern],
                    "body": row.body,
                    "description": "",
                    "params": [{"name": p.name, "type": p.type} for p in params],
                }
            )
        except Exception:  # noqa: BLE001, S112 - a broken row is no alias target
            continue
        bindings = captured_bindings(spec, row.body, params, code)
        if bindings is None:
            continue
        full = _params_with(params, bindings)
        pattern = alias_pattern(task, code, full, bindings)
        if pattern is None or alias_check(task, code, name, row.version, row.body, pattern, full):
            continue
        return AliasProposal(row.id, pattern, full)
    return None


def alias_preview(library: TemplateLibrary, s: SuggestionView) -> Preview:
    """Review's view of an alias suggestion: the template's body, and whether the wording still
    renders the paid code through it."""
    row = Template.get_or_none(Template.id == s.alias_of)
    if row is None or row.status != "active":
        reason = f"template {s.alias_of} is no longer active"
        return Preview(False, reason, s.pattern, "", "", problems=(reason,), params=s.params)
    reason = alias_check(s.task, s.code, f"{PREFIX}{row.id}", row.version, row.body, s.pattern, list(s.params))
    report = library.validator_factory().validate(s.code)
    problems = (reason,) if reason else ()
    return Preview(
        not reason,
        reason,
        s.pattern,
        row.body,
        s.code if not reason else "",
        score=report.score,
        problems=problems,
        params=s.params,
        findings=report.findings,
    )


def accept_alias(library: TemplateLibrary, s: SuggestionView) -> TemplateView:
    """Make the reviewed wording an alias of its template; BadInput (kept pending) if it no longer holds."""
    from engine.learning.library import _template_view, params_to_json

    preview = alias_preview(library, s)
    if not preview.ok:
        Suggestion.update(reason=preview.reason).where(Suggestion.id == s.id).execute()
        raise BadInput(f"suggestion {s.id} cannot become an alias: {preview.reason}")
    slots = {m.group(1) for m in _SLOT.finditer(s.pattern)}
    fixed = {p.name: p.to_dict()["value"] for p in s.params if p.name not in slots}
    now = time.time()
    with write_transaction(Template._meta.database):
        if Suggestion.get_by_id(s.id).status != "pending":
            raise BadInput(f"suggestion {s.id} was accepted or rejected meanwhile")
        row = Template.get_by_id(s.alias_of)
        alias = TemplateAlias.create(
            template=row.id,
            pattern=s.pattern,
            fixed=json.dumps(fixed, ensure_ascii=False),
            status="active",
            hits=0,
            suggestion=s.id,
            created=now,
        )
        TemplateVersion.create(
            template=row.id,
            version=row.version,
            pattern=row.pattern,
            body=row.body,
            params=row.params,
            quality=row.quality,
            created=now,
            reason=f"alias {alias.id} added from suggestion {s.id}: {s.pattern}",
        )
        Suggestion.update(status="accepted", reason="", params=params_to_json(list(s.params))).where(
            Suggestion.id == s.id
        ).execute()
    _log.info("suggestion %s became alias %s of template %s", s.id, alias.id, row.id)
    return _template_view(Template.get_by_id(row.id), versions=True)


def active_alias_specs() -> tuple[list[TemplateSpec], dict[tuple[str, str], int]]:
    """A spec per active alias of an active template, and (template key, pattern) -> alias id."""
    from engine.learning.library import params_from_json

    specs: list[TemplateSpec] = []
    ids: dict[tuple[str, str], int] = {}
    aliases = list(TemplateAlias.select().where(TemplateAlias.status == "active").order_by(TemplateAlias.id))
    wanted = {a.template for a in aliases}
    rows = (
        {t.id: t for t in Template.select().where(Template.id.in_(wanted) & (Template.status == "active"))}
        if wanted
        else {}
    )
    for alias in aliases:
        row = rows.get(alias.template)
        if row is None:
            continue
        try:
            fixed = json.loads(alias.fixed or "{}")
            params = _params_with(params_from_json(row.params), fixed)
            spec = replace(
                alias_spec(f"{PREFIX}{row.id}", row.version, alias.pattern, params, row.body), alias=alias.id
            )
        except Exception as exc:  # noqa: BLE001 - a broken alias must not stop matching
            _log.warning("alias %s of template %s not indexed: %s", alias.id, alias.template, exc)
            continue
        specs.append(spec)
        ids[(spec.name, spec.patterns[0].text)] = alias.id
    return specs, ids


__all__ = ["accept_alias", "active_alias_specs", "alias_preview", "find_alias"]
