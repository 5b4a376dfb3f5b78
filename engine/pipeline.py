"""The hybrid pipeline (CoderAgent): the cheapest source that answers correctly wins.

    learned template -> built-in template -> response cache -> provider chain (+ repairs)
                     -> validation (+ cross-provider review for critical work)
                     -> parameterization suggestion (the answer may become a template)

Invariants: no answer is returned unvalidated (a template render or cache entry that fails
validation counts as a miss and the pipeline moves on); the match path makes no LLM call and
never imports litellm unless the request is critical and no verdict is on record; a critical
request (``engine.critical``) is served by a template or the cache only with an approving review
of that exact code (``engine.reviews``), else the next tier answers; only validated answers are
cached; suggestion or review trouble never loses the answer the user paid for. Whether the
final answer is deliverable is decided once, by ``engine.delivery``. A non-critical exact repeat
(same cache key) whose cached answer passes validation is served before any template lookup,
so a new process never loads the learned library for it.

This module orders the tiers (``CoderAgent.run``); each tier lives in ``engine.tiers`` (templates,
cache, paid) with its own invariants. The names other modules import from here stay here.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from engine.config.trust import warning as untrusted_warning
from engine.context import RequestContext
from engine.cost_cap import RequestCap
from engine.events import ConfigWarning, Emit, Event
from engine.pipeline_values import Plan, answer_cache_key, near_misses
from engine.prompts import build_messages, repair_message, validation_policy
from engine.result import GenerationResult
from engine.reviews import REVIEW_SYSTEM
from engine.text import clean_task
from engine.tiers.base import Gate
from engine.tiers.cache import CacheTier
from engine.tiers.paid import PaidTier, cheapest_first
from engine.tiers.templates import TemplateTier, builtin_index
from engine.validation import ValidationReport

if TYPE_CHECKING:
    from engine.service import Engine
    from engine.templates import TemplateIndex

__all__ = [
    "REVIEW_SYSTEM",
    "CoderAgent",
    "answer_cache_key",
    "build_messages",
    "builtin_index",
    "cheapest_first",
    "repair_message",
    "validation_policy",
]


class CoderAgent(TemplateTier, CacheTier, PaidTier):
    """Runs one request through the pipeline for an ``Engine``.

    ``run`` tries the tiers in order, each a named step: ``_from_templates``, ``_from_cache``,
    ``_from_llm`` (``_ask`` + ``_repair`` + ``_review_paid``), then ``_learn`` offers a paid
    answer as a template. The steps are mixed in from ``engine.tiers`` (``TemplateTier``,
    ``CacheTier``, ``PaidTier``). Each step reads the request from its ``RequestContext``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = engine.store

    async def run(
        self,
        task: str,
        *,
        project: str,
        agent: str,
        stream: bool = False,
        max_tokens: int | None = None,
        confirmed: bool = False,
        use_cache: bool = True,
        use_templates: bool = True,
        critical: bool | None = None,
        emit: Emit | None = None,
        max_usd: float | None = None,
    ) -> GenerationResult:
        events: list[Event] = []
        ctx = self._context(
            clean_task(task),
            events,
            emit,
            project=project,
            agent=agent,
            stream=stream,
            max_tokens=max_tokens,
            confirmed=confirmed,
            use_cache=use_cache,
            use_templates=use_templates,
            critical=critical,
        )
        plan = Plan.of(ctx)
        gate = Gate(self, ctx, RequestCap.of(max_usd))  # --max-usd: each paid step admitted by its worst case
        # One database hop answers: is the learned index current, is the answer cached (with the
        # validation report remembered for its code), and, unless a non-critical cached answer
        # comes first, which learned templates could match (the anchor index, engine.learning.anchors)
        # A non-critical hit whose remembered report passes is served whatever follows: the probe
        # books it (count + ledger row) in the same hop, so such a hit is one round trip. So is a
        # non-critical template answer that renders to code with a passing remembered report.
        stamp, cached, candidates, memo, booked, served, near = await self.store.run(
            self._probe,
            plan.key,
            plan.caching,
            ctx.task if ctx.use_templates else None,
            ctx.is_critical,
            plan.policy,
            functools.partial(self._hit_ledger, ctx, plan),
            functools.partial(self._template_now, ctx, plan),
        )
        if served is not None:  # a template answer the probe could serve and book in its hop
            return self._template_result(ctx, self._replay(ctx, served), gate, events)
        fresh: list[ValidationReport] = []  # a report this request computed, remembered with the hit
        # a non-critical exact repeat first: no template lookup (critical ones keep the tier order,
        # which decides what gets reviewed)
        early = plan.caching and cached is not None and not ctx.is_critical
        checked = await self._check_cached(cached, plan, gate, memo, fresh) if early and cached else None
        indexes: list[tuple[str, TemplateIndex]] = []
        if ctx.use_templates and checked is None:
            indexes = await self._indexes(ctx.task, stamp, candidates)
            hit = await self._from_templates(ctx, indexes, plan, gate)
            if hit is not None:
                return self._template_result(ctx, hit, gate, events)
        if plan.caching:
            if cached is not None and not early:
                checked = await self._check_cached(cached, plan, gate, memo, fresh)
            served = await self._from_cache(ctx, plan, cached, checked, gate, events, fresh, booked)
            if served is not None:
                return served
        if indexes:  # near misses: the candidates plus the templates the task misses by some words
            if near is None:
                near = await self.store.run(self.engine.library.near_index, ctx.task, stamp)
            indexes[0] = ("learned", near)
            routed = await self._route(ctx, indexes, plan) if not ctx.is_critical else None
            if routed is not None:
                return self._routed_result(ctx, routed, events)
        return await self._from_llm(ctx, plan, gate, near_misses(ctx.task, indexes), events)

    def _context(
        self,
        task: str,
        events: list[Event],
        emit: Emit | None,
        *,
        project: str,
        agent: str,
        stream: bool,
        max_tokens: int | None,
        confirmed: bool,
        use_cache: bool,
        use_templates: bool,
        critical: bool | None,
    ) -> RequestContext:
        """The request's context; its ``emit`` records every event (for the result) and forwards it."""

        def record(event: Event) -> None:
            events.append(event)
            if emit is not None:
                emit(event)

        resolved = self.engine.config(project, agent)
        for route in resolved.untrusted:  # provider overrides nobody trusted: not honoured, said aloud
            record(ConfigWarning(untrusted_warning(route, project)))
        return RequestContext.build(
            task,
            project=project,
            agent=agent,
            settings=resolved.settings,
            now=self.engine.clock(),
            emit=record,
            confirmed=confirmed,
            stream=stream,
            max_tokens=max_tokens,
            use_cache=use_cache,
            use_templates=use_templates,
            critical=critical,
        )
