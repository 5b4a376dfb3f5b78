"""Values the pipeline's steps hand each other (``engine.pipeline``): the request's plan, checked
code, a template hit, a paid answer with its running totals.

Invariants: all frozen; amounts are integer micro-dollars; a ``PaidAnswer``'s totals cover the
first answer and every repair, never reviews or suggestions (the pipeline adds those).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine import cache as response_cache
from engine.config.schema import Settings
from engine.context import RequestContext
from engine.llm.chain import ChainResult
from engine.prompts import build_messages, validation_policy
from engine.result import NearMiss, TemplateAnswer
from engine.validation import ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.templates import TemplateIndex

__all__ = ["Checked", "PaidAnswer", "Plan", "TemplateHit", "json_bindings", "near_misses", "prompt_chars"]


@dataclass(frozen=True)
class Plan:
    """What the request asks the tiers: the prompt, its cache key, the validation policy."""

    messages: list[dict[str, str]]
    key: str
    caching: bool
    policy: ValidationPolicy

    @classmethod
    def of(cls, ctx: RequestContext) -> Plan:
        settings = ctx.settings
        messages = build_messages(settings, ctx.task)
        key = answer_cache_key(settings, messages, ctx.max_tokens)
        return cls(messages, key, settings.cache.enabled and ctx.use_cache, validation_policy(settings))


def answer_cache_key(settings: Settings, messages: list[dict[str, str]], max_tokens: int) -> str:
    """The response-cache key of a request (also used by ``engine.dry_run``)."""
    return response_cache.cache_key(
        system=messages[0]["content"],
        prompt=messages[1]["content"],
        models=[settings.providers[n].model for n in settings.chain.order],
        params={"max_tokens": max_tokens, "temperature": settings.generation.temperature},
        prompt_version=settings.prompts.version,
    )


@dataclass(frozen=True)
class Checked:
    """Code that passed validation and, for a critical request, its approving review."""

    report: ValidationReport
    review: dict[str, Any] | None


@dataclass(frozen=True)
class TemplateHit:
    source: str  # learned | builtin
    code: str
    answer: TemplateAnswer
    checked: Checked
    saved_micros: int


@dataclass(frozen=True)
class PaidAnswer:
    """The latest paid answer with its code and report, and the totals over it and its repairs."""

    answer: ChainResult
    code: str
    report: ValidationReport
    repairs: int
    attempts: int
    tokens_in: int
    tokens_out: int
    cost_micros: int

    @classmethod
    def first(cls, answer: ChainResult, checked: tuple[str, ValidationReport]) -> PaidAnswer:
        code, report = checked
        return cls(answer, code, report, 0, answer.attempts, answer.tokens_in, answer.tokens_out, answer.cost_micros)

    def repaired(self, fixed: ChainResult, checked: tuple[str, ValidationReport]) -> PaidAnswer:
        code, report = checked
        return PaidAnswer(
            fixed,
            code,
            report,
            self.repairs + 1,
            self.attempts + fixed.attempts,
            self.tokens_in + fixed.tokens_in,
            self.tokens_out + fixed.tokens_out,
            self.cost_micros + fixed.cost_micros,
        )


def near_misses(task: str, indexes: list[tuple[str, TemplateIndex]]) -> tuple[NearMiss, ...]:
    """Templates that almost matched: worth computing only when we are about to pay."""
    return tuple(
        NearMiss(source, near.template.name, near.pattern.text, round(near.score, 3))
        for source, index in indexes
        for near in index.similar(task, limit=3)
    )


def json_bindings(bindings: dict[str, Any]) -> dict[str, Any]:
    """Slot values as JSON has them: a list of pairs becomes a list of 2-item lists."""
    return {
        k: ([list(x) for x in v] if isinstance(v, list) and v and isinstance(v[0], tuple) else v)
        for k, v in bindings.items()
    }


def prompt_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)
