"""Views of the learned-template library's rows: ``SuggestionView`` and ``TemplateView``.

Invariant: rows never leave the library; callers get these frozen dataclasses, built here from
``Suggestion`` / ``Template`` rows (parameters stored as JSON, read back as :class:`Param`).
The functions here only read; the library (:mod:`engine.learning.library`) does the writing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.learning.body import Param
from engine.learning.review import spec_for
from engine.money import micros_to_usd
from engine.store.models import Suggestion, Template, TemplateAlias, TemplateVersion
from engine.templates import TemplateSpec

PREFIX = "learned-"


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
