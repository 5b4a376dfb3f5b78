"""Tier 2, the response cache (a ``CoderAgent`` mixin): the probe that opens every request, the
cached answer's checks, serving a hit, and storing a validated answer.

Invariants: the probe is one database hop (stamp, cached answer, remembered report, and, when
needed, the learned candidates), and books a non-critical hit whose remembered report passes in
that same hop (a cache hit here; a template answer through ``TemplateTier._template_now``); a cached answer is served only if it passes validation now (rules may have changed
since it was stored) and, for a critical request, an approving review of that exact code; a hit
is booked (count + ledger row) exactly once; only validated answers are cached, each with its
report remembered (``engine.validation_memo``), so a later hit in a new process needs no Bandit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from engine import cache as response_cache
from engine.context import RequestContext
from engine.events import Event, Finished, LookupResult, ValidationDone
from engine.llm.price_map import savings_micros
from engine.money import micros_to_usd
from engine.pipeline_values import Checked, Plan, prompt_chars
from engine.result import GenerationResult
from engine.reviews import Subject
from engine.tiers.base import Gate, TierAgent
from engine.validation import CodeValidator, ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.templates import TemplateIndex

__all__ = ["CacheTier", "Probe", "put_cached", "record_cache_hit"]


def record_cache_hit(
    key: str, now: float, ledger: tuple[Any, ...], code: str, policy: ValidationPolicy, report: ValidationReport | None
) -> None:
    """A cache hit's count and ledger row, and the report it computed (if any), in one hop."""
    response_cache.record_hit(key, now, ledger)
    if report is not None:
        from engine import validation_memo

        validation_memo.remember(code, policy, report)


def put_cached(key: str, *, policy: ValidationPolicy, report: ValidationReport, **answer: Any) -> None:
    """Cache a validated answer and remember its report (a later hit in a new process then
    needs no Bandit), in one hop."""
    from engine import validation_memo

    response_cache.put(key, **answer)
    validation_memo.remember(str(answer["code"]), policy, report)


class Probe(NamedTuple):
    """What the probe's one hop found (``CacheTier._probe``)."""

    stamp: tuple[int, ...]
    cached: response_cache.CachedAnswer | None
    candidates: TemplateIndex | None  # the learned templates that could match (None: not looked up)
    memo: ValidationReport | None  # the report remembered for the cached code
    booked: tuple[Any, ...] | None  # the cache hit's ledger row, when the probe booked it
    served: Any = None  # a template answer served and booked in the probe (ServedInProbe)
    near: TemplateIndex | None = None  # candidates + near misses, when nothing can match


class CacheTier(TierAgent):
    """The response-cache steps of ``CoderAgent`` (``_probe``, ``_check_cached``, ``_from_cache``)."""

    def _hit_ledger(self, ctx: RequestContext, plan: Plan, cached: response_cache.CachedAnswer) -> tuple[Any, ...]:
        """A cache hit's ledger row (``response_cache.record_hit``): what it saved, its latency now."""
        saved = savings_micros(ctx.settings, prompt_chars(plan.messages), len(cached.code), self.engine.environ)
        return (
            ctx.request_id,
            ctx.project,
            ctx.agent,
            cached.provider,
            cached.model,
            saved,
            ctx.elapsed_ms(),
            self.engine.book.owner,
        )

    def _probe(
        self,
        key: str,
        caching: bool,
        task: str | None,
        critical: bool,
        policy: ValidationPolicy,
        hit_ledger: Callable[[response_cache.CachedAnswer], tuple[Any, ...]] | None = None,
        template_now: Callable[[TemplateIndex], tuple[Any, bool]] | None = None,
    ) -> Probe:
        from engine import validation_memo
        from engine.learning.stamp import read_stamp  # the library itself only when templates are looked up

        stamp = read_stamp()
        cached = response_cache.peek(key, self.engine.clock()) if caching else None
        memo = validation_memo.recall(cached.code, policy) if cached is not None else None
        booked = None
        if cached is not None and not critical and memo is not None and memo.ok and hit_ledger is not None:
            booked = hit_ledger(cached)  # served for sure (run: the early, non-critical path): book it now
            response_cache.record_hit(key, self.engine.clock(), booked)
        if task is None or (cached is not None and not critical):
            return Probe(stamp, cached, None, memo, booked)
        library = self.engine.library
        candidates = library.lookup(task, stamp)
        if template_now is None or critical:
            return Probe(stamp, cached, candidates, memo, booked)
        # a non-critical template answer whose remembered report passes: served and booked here
        # (engine.tiers.templates.TemplateTier._template_now), so a template hit is one hop too
        served, matched = template_now(candidates)
        # no template matches and nothing is cached: the request will be paid for, so the near
        # misses it shows (and routing reads) are read in this hop too
        near = library.near_index(task, stamp) if not matched and cached is None else None
        return Probe(stamp, cached, candidates, memo, booked, served, near)

    async def _check_cached(
        self,
        cached: response_cache.CachedAnswer,
        plan: Plan,
        gate: Gate,
        memo: ValidationReport | None = None,
        fresh: list[ValidationReport] | None = None,
    ) -> Checked | None:
        """The cached answer's validation (checked again: rules may have changed since it was
        stored; ``memo`` is the report remembered for exactly this code, policy and validator, see
        engine.validation_memo) and, for a critical request, its review; None when it must not be
        served."""
        record = gate.ctx.emit
        report = memo
        if report is None:
            report = await CodeValidator(plan.policy).validate_async(cached.code)
            if fresh is not None:
                fresh.append(report)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        if not report.ok:
            record(LookupResult("cache", False, f"cached answer now fails validation ({report.blocking[0].rule_id})"))
            return None
        review = None
        if gate.decision.critical:
            review = await gate.review(cached.code, Subject("cache", plan.key, 0, cached.provider))
            if review.get("verdict") != "approve":
                record(LookupResult("cache", False, f"critical request, review {review.get('verdict')}: not served"))
                return None
        return Checked(report, review)

    async def _from_cache(
        self,
        ctx: RequestContext,
        plan: Plan,
        cached: response_cache.CachedAnswer | None,
        checked: Checked | None,
        gate: Gate,
        events: list[Event],
        fresh: list[ValidationReport],
        booked: tuple[Any, ...] | None = None,
    ) -> GenerationResult | None:
        """Serve the cached answer if it passed its checks (and book the hit, unless the probe
        ``booked`` it already: its ledger row); None on a miss."""
        if cached is None:
            ctx.emit(LookupResult("cache", False))
            return None
        if checked is None:
            return None
        ctx.emit(LookupResult("cache", True, f"{cached.hits} earlier hits"))
        ledger = booked
        if ledger is None:
            ledger = self._hit_ledger(ctx, plan, cached)
            await self.store.run(
                record_cache_hit,
                plan.key,
                self.engine.clock(),
                ledger,
                cached.code,
                plan.policy,
                fresh[0] if fresh else None,
            )
        saved, latency = int(ledger[5]), int(ledger[6])
        ctx.emit(Finished("cache", micros_to_usd(gate.cost_micros), micros_to_usd(saved)))
        return GenerationResult(
            request_id=ctx.request_id,
            source="cache",
            code=cached.code,
            text=cached.text,
            provider=cached.provider,
            model=cached.model,
            cost_micros=gate.cost_micros,
            saved_micros=saved,
            latency_ms=latency,
            events=events,
            critical=ctx.critical,
            validation=checked.report,
            review=checked.review,
        )
