"""Tier 3, the provider chain (a ``CoderAgent`` mixin): pay for an answer, validate and repair
it, review it when critical, cache it, and queue what it can teach.

Invariants: every paid step is admitted by the request's ``RequestCap`` on its worst case first
(``--max-usd``), and a repair the cap does not admit stops the loop and says why
(``max_usd_stopped``); repairs stop at ``validation.max_repairs``; only a deliverable answer (valid
and, when critical, approved) is cached or offered for learning; the result's cost counts the
answer, its repairs and every review the request paid for; learning runs in the background and
never delays or loses the answer. litellm is reached only through ``engine.llm`` (lazily).
"""

from __future__ import annotations

import functools
from typing import Any

from engine.config.schema import Settings
from engine.context import RequestContext
from engine.cost_cap import SUGGEST_MAX_TOKENS, RequestCap, step_worst_micros
from engine.errors import TemplarError
from engine.events import Event, Finished, ValidationDone
from engine.llm.chain import AfterAnswer, ChainResult, DbWork
from engine.llm.price_map import estimated_price
from engine.money import micros_to_usd
from engine.pipeline_values import PaidAnswer, Plan
from engine.prompts import repair_message
from engine.result import GenerationResult, NearMiss
from engine.reviews import Subject
from engine.text import extract_code
from engine.tiers.base import Gate, TierAgent
from engine.tiers.cache import put_cached
from engine.validation import CodeValidator, ValidationReport

__all__ = ["PaidTier", "cheapest_first"]


def cheapest_first(settings: Settings, names: list[str]) -> tuple[str, ...]:
    def price(name: str) -> float:
        pair = estimated_price(settings, settings.providers[name].model)
        return float("inf") if pair is None else pair[0] + pair[1]

    return tuple(sorted(names, key=price))


class PaidTier(TierAgent):
    """The paid steps of ``CoderAgent``: ``_from_llm`` (``_ask`` + ``_repair`` + ``_review_paid``,
    ``_cache_answer``, ``_learn``)."""

    async def _from_llm(
        self, ctx: RequestContext, plan: Plan, gate: Gate, similar: tuple[NearMiss, ...], events: list[Event]
    ) -> GenerationResult:
        """Pay for an answer (repairing it while it fails validation), review it if critical,
        cache it if deliverable, offer it as a template; the result counts every cost."""
        paid = await self._ask(ctx, plan, gate)
        review = await self._review_paid(ctx, plan, gate, paid)
        ok = paid.report.ok and (review is None or review.get("verdict") == "approve")
        if ok and ctx.is_critical:  # a non-critical valid answer was cached in its settle's hop (_checker)
            await self._cache_answer(ctx, plan, paid)
        suggestion_id, suggest_cost = await self._learn(ctx, paid, gate.cap) if ok else (None, 0)
        # every review this request paid for (earlier tiers' unapproved ones too) is part of its cost
        total = paid.cost_micros + gate.cost_micros + suggest_cost
        ctx.emit(Finished("llm", micros_to_usd(total), 0.0))
        answer = paid.answer
        return GenerationResult(
            request_id=ctx.request_id,
            source="llm",
            code=paid.code,
            text=answer.text,
            provider=answer.provider,
            model=answer.model,
            attempts=paid.attempts,
            cost_micros=total,
            tokens_in=paid.tokens_in,
            tokens_out=paid.tokens_out,
            latency_ms=ctx.elapsed_ms(),
            events=events,
            critical=ctx.critical,
            validation=paid.report,
            repairs=paid.repairs,
            review=review,
            suggestion_id=suggestion_id,
            similar=similar,
            max_usd_stopped=gate.stopped,
        )

    async def _ask(self, ctx: RequestContext, plan: Plan, gate: Gate) -> PaidAnswer:
        """The chain's answer, validated, and repaired (up to ``validation.max_repairs`` times, and
        while the request's ``max_usd`` admits another repair's worst case).

        Each answer is validated before the chain settles it (``ChainRequest.after``); a valid,
        non-critical answer is cached in the settle's own hop, so a paid answer is two database
        hops (reserve; settle + ledger + cache put). A critical answer is cached only after its
        review approves it (``_from_llm``)."""
        cap, environ = gate.cap, self.engine.environ
        cap.admit("answer", step_worst_micros(ctx.settings, plan.messages, ctx.max_tokens, environ))
        checks: list[tuple[str, ValidationReport]] = []
        answer = await self.engine.chain.complete(
            ctx.settings,
            ctx.chain_request(plan.messages, stream=ctx.stream, after=self._checker(ctx, plan, None, checks)),
            ctx.emit,
        )
        cap.spend(answer.cost_micros)
        paid = PaidAnswer.first(answer, checks[-1])  # the chain ran ``after`` on the answer it returns
        while not paid.report.ok and paid.repairs < ctx.settings.validation.max_repairs:
            worst = step_worst_micros(ctx.settings, self._repair_messages(plan, paid), ctx.max_tokens, environ)
            if not cap.fits(worst):
                gate.stopped = cap.why_not("repair", worst)
                break
            checks.clear()
            fixed = await self._repair(ctx, plan, paid, self._checker(ctx, plan, paid, checks))
            if fixed is None:
                break
            cap.spend(fixed.cost_micros)
            paid = paid.repaired(fixed, checks[-1])
        return paid

    def _checker(
        self, ctx: RequestContext, plan: Plan, before: PaidAnswer | None, checks: list[tuple[str, ValidationReport]]
    ) -> AfterAnswer:
        """The ``after`` hook of one chain call: validate the answer (kept in ``checks``) and,
        when it is valid, not critical and caching is on, hand back its cache put (with the totals
        over ``before``, the answer it repairs) for the settle's hop."""

        async def check(answer: ChainResult) -> DbWork | None:
            checked = await self._validate(ctx, plan, answer)
            checks.append(checked)
            code, report = checked
            paid = PaidAnswer.first(answer, checked) if before is None else before.repaired(answer, checked)
            if not (report.ok and ctx.settings.cache.enabled and not ctx.is_critical and code.strip()):
                return None
            return functools.partial(put_cached, plan.key, **self._cache_fields(ctx, plan, paid))

        return check

    @staticmethod
    def _repair_messages(plan: Plan, paid: PaidAnswer) -> list[dict[str, str]]:
        return plan.messages + [{"role": "assistant", "content": paid.answer.text}, repair_message(paid.report)]

    async def _validate(self, ctx: RequestContext, plan: Plan, answer: ChainResult) -> tuple[str, ValidationReport]:
        code = extract_code(answer.text, ctx.settings.generation.language)
        report = await CodeValidator(plan.policy).validate_async(code)
        ctx.emit(ValidationDone(report.ok, report.score, len(report.findings)))
        return code, report

    async def _repair(
        self, ctx: RequestContext, plan: Plan, paid: PaidAnswer, after: AfterAnswer | None = None
    ) -> ChainResult | None:
        """One repair call with the blocking findings; None when the chain cannot answer it."""
        messages = self._repair_messages(plan, paid)
        try:
            return await self.engine.chain.complete(
                ctx.settings, ctx.chain_request(messages, stream=ctx.stream, source="repair", after=after), ctx.emit
            )
        except TemplarError:
            return None

    async def _review_paid(
        self, ctx: RequestContext, plan: Plan, gate: Gate, paid: PaidAnswer
    ) -> dict[str, Any] | None:
        """A critical request's review of valid paid code (the gate adds up its cost); else None."""
        if not (paid.report.ok and ctx.is_critical):
            return None
        return await gate.review(paid.code, Subject("llm", plan.key, 0, paid.answer.provider))

    async def _cache_answer(self, ctx: RequestContext, plan: Plan, paid: PaidAnswer) -> None:
        """Cache a critical answer once its review approved it (any other valid answer was
        cached in its settle's hop: ``_checker``)."""
        if not (ctx.settings.cache.enabled and paid.code.strip()):
            return
        await self.store.run(put_cached, plan.key, **self._cache_fields(ctx, plan, paid))

    def _cache_fields(self, ctx: RequestContext, plan: Plan, paid: PaidAnswer) -> dict[str, Any]:
        settings = ctx.settings
        return {
            "provider": paid.answer.provider,
            "model": paid.answer.model,
            "text": paid.answer.text,
            "code": paid.code,
            "tokens_in": paid.tokens_in,
            "tokens_out": paid.tokens_out,
            "cost_micros": paid.cost_micros,
            "ttl_s": settings.cache.ttl_s,
            "max_entries": settings.cache.max_entries,
            "now": self.engine.clock(),
            "policy": plan.policy,
            "report": paid.report,
        }

    async def _learn(self, ctx: RequestContext, paid: PaidAnswer, cap: RequestCap) -> tuple[int | None, int]:
        """The learning step: queue what a deliverable paid answer can teach, when learning is on.
        The work runs in the background and never delays the answer (``engine.learning.learner``:
        alias, zero-slot, deterministic parameterisation, and a model only when those fail, and
        only when the request's ``max_usd`` admits the call). Returns the queued suggestion's id;
        its cost is booked when it is paid, not to this answer."""
        if not ctx.settings.learning.enabled:
            return None, 0
        worst = step_worst_micros(
            ctx.settings, [{"role": "user", "content": ctx.task + paid.code}], SUGGEST_MAX_TOKENS, self.engine.environ
        )
        from engine.learning.learner import LearningJob

        job = LearningJob(
            ctx.settings,
            ctx.task,
            paid.code,
            paid.cost_micros,
            ctx.refs,
            ctx.request_id,
            ctx.project,
            ctx.agent,
            ctx.confirmed,
            model_allowed=cap.fits(worst),
        )
        return await self.engine.learner.schedule(job, ctx.emit), 0
