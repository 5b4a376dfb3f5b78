"""What a generation returns: ``GenerationResult``, with its facts as typed fields.

    result.source          learned | builtin | cache | llm
    result.validation      the ValidationReport of the code served (after any repairs)
    result.review          the cross-provider review of a critical answer (None otherwise)
    result.template        which template answered and with what bindings (template hits)
    result.saved_micros    what a template or cache hit saved, in micro-dollars

Invariants: amounts are integer micro-dollars (``engine.money`` converts them for display);
``to_dict()`` is the CLI's ``--json`` shape (keys and order as before this module existed);
whether the answer is deliverable is decided by ``engine.delivery`` alone (``result.delivery``).
This module imports neither the pipeline nor the service: both import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.critical import CriticalDecision
from engine.delivery import Delivery, assess
from engine.events import Event
from engine.money import micros_to_usd

if TYPE_CHECKING:  # an annotation only: `templar stats` and the like do not load the validator
    from engine.validation import ValidationReport

__all__ = ["NOT_CRITICAL", "GenerationResult", "NearMiss", "TemplateAnswer"]

NOT_CRITICAL = CriticalDecision(False, "")

JsonBindings = dict[str, Any]  # slot name -> JSON-safe value (pairs become 2-item lists)


@dataclass(frozen=True)
class TemplateAnswer:
    """The template that answered: ``template_id`` is a learned template's id or a built-in's name."""

    template_id: int | str
    version: int
    pattern: str
    bindings: JsonBindings
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id,
            "template_version": self.version,
            "pattern": self.pattern,
            "bindings": self.bindings,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class NearMiss:
    """A template that almost matched a task the LLM then answered (``score`` in 0..1)."""

    source: str  # learned | builtin
    template: str
    pattern: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "template": self.template, "pattern": self.pattern, "score": self.score}


@dataclass(kw_only=True)
class GenerationResult:
    """One answer and everything known about how it was produced (build it by keyword)."""

    request_id: str
    source: str  # learned | builtin | cache | llm
    code: str
    text: str
    provider: str = ""
    model: str = ""
    attempts: int = 0
    cost_micros: int = 0
    saved_micros: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    events: list[Event] = field(default_factory=list)
    critical: CriticalDecision = NOT_CRITICAL
    validation: ValidationReport | None = None
    repairs: int = 0  # repair rounds a paid answer took (llm only)
    review: dict[str, Any] | None = None  # {"verdict", "issues", "reviewer", "model", "cost_usd", ...}
    template: TemplateAnswer | None = None
    suggestion_id: int | None = None  # the suggestion a paid answer was queued as (llm only)
    similar: tuple[NearMiss, ...] = ()  # near-miss templates (llm only)
    max_usd_stopped: str = ""  # which paid step the request's max_usd cap skipped, and why
    router_cost_micros: int = 0  # what the paraphrase router's call cost (source "routed")

    @property
    def approved(self) -> bool | None:
        """The review's verdict as a yes/no; None when no review ran."""
        return None if self.review is None else self.review.get("verdict") == "approve"

    @property
    def validation_ok(self) -> bool:
        """The code passed validation and, when reviewed, the review approved it."""
        return self.validation is not None and self.validation.ok and self.approved is not False

    def validation_dict(self) -> dict[str, Any] | None:
        """The ``validation`` object of the JSON output (report, repairs, review)."""
        if self.validation is None:
            return None
        data = self.validation.to_dict()
        data["ok"] = self.validation_ok
        if self.source == "llm":
            data["repairs"] = self.repairs
        if self.review is not None:
            data["review"] = self.review
        if self.max_usd_stopped:
            data["max_usd_stopped"] = self.max_usd_stopped
        return data

    @property
    def extra(self) -> dict[str, Any]:
        """The typed fields as the one dict older callers read (``result.extra["template_id"]``).
        Read-only: a fresh dict on every access; prefer the fields."""
        data: dict[str, Any] = self.template.to_dict() if self.template is not None else {}
        validation = self.validation_dict()
        if validation is not None:
            data["validation"] = validation
        if self.source == "llm":
            data["suggestion_id"] = self.suggestion_id
            data["similar"] = [near.to_dict() for near in self.similar]
        if self.source == "routed":
            data["router_cost_usd"] = micros_to_usd(self.router_cost_micros)
            data["net_saved_usd"] = micros_to_usd(self.saved_micros)
        data["critical"] = self.critical.to_dict()
        return data

    @property
    def delivery(self) -> Delivery:
        """May this answer be handed over as a success? (``engine.delivery``, one rule for all.)"""
        return assess(self.source, self.code, self.extra)

    @property
    def ok(self) -> bool:
        return self.delivery.ok

    def to_dict(self) -> dict[str, Any]:
        extra = self.extra
        delivery = assess(self.source, self.code, extra)
        data = {
            "ok": delivery.ok,
            "request_id": self.request_id,
            "source": self.source,
            "provider": self.provider,
            "model": self.model,
            "attempts": self.attempts,
            "cost_usd": micros_to_usd(self.cost_micros),
            "saved_usd": micros_to_usd(self.saved_micros),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "code": self.code,
            "events": [e.to_dict() for e in self.events],
        }
        data.update(extra)
        if not delivery.ok:
            data["problem"] = delivery.to_dict()
        return data
