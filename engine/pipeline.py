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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine import cache as response_cache
from engine.config.schema import Settings
from engine.config.trust import warning as untrusted_warning
from engine.context import RequestContext
from engine.cost_cap import SUGGEST_MAX_TOKENS, RequestCap, review_worst_micros, step_worst_micros
from engine.errors import TemplarError
from engine.events import ConfigWarning, Emit, Event, Finished, LookupResult, ValidationDone
from engine.feedback import canonical_bindings, record_free_failure, record_template_answer
from engine.llm.chain import ChainResult
from engine.llm.price_map import estimated_price, savings_micros
from engine.money import micros_to_usd
from engine.pipeline_values import (
    Checked,
    PaidAnswer,
    Plan,
    TemplateHit,
    answer_cache_key,
    json_bindings,
    near_misses,
    prompt_chars,
)
from engine.prompts import build_messages, repair_message, validation_policy
from engine.result import GenerationResult, NearMiss, TemplateAnswer
from engine.reviews import (
    REVIEW_SYSTEM,
    Subject,
    approval,
    learned_author,
    recorded_verdict,
    review_cost_micros,
    verdict_key,
)
from engine.text import clean_task, extract_code
from engine.validation import CodeValidator, ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.learning.routing import Routed
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


def _record_cache_hit(
    key: str, now: float, ledger: tuple[Any, ...], code: str, policy: ValidationPolicy, report: ValidationReport | None
) -> None:
    """A cache hit's count and ledger row, and the report it computed (if any), in one hop."""
    response_cache.record_hit(key, now, ledger)
    if report is not None:
        from engine import validation_memo

        validation_memo.remember(code, policy, report)


def _put_cached(key: str, *, policy: ValidationPolicy, report: ValidationReport, **answer: Any) -> None:
    """Cache a validated answer and remember its report (a later hit in a new process then
    needs no Bandit), in one hop."""
    from engine import validation_memo

    response_cache.put(key, **answer)
    validation_memo.remember(str(answer["code"]), policy, report)


@functools.cache
def builtin_index() -> TemplateIndex:
    from engine.templates import TemplateIndex, load_builtin_pack  # not on a cache hit's path

    return TemplateIndex(load_builtin_pack())


def cheapest_first(settings: Settings, names: list[str]) -> tuple[str, ...]:
    def price(name: str) -> float:
        pair = estimated_price(settings, settings.providers[name].model)
        return float("inf") if pair is None else pair[0] + pair[1]

    return tuple(sorted(names, key=price))


class CoderAgent:
    """Runs one request through the pipeline for an ``Engine``.

    ``run`` tries the tiers in order, each a named step: ``_from_templates``, ``_from_cache``,
    ``_from_llm`` (``_ask`` + ``_repair`` + ``_review_paid``), then ``_learn`` offers a paid
    answer as a template. Each step reads the request from its ``RequestContext``."""

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
        gate = _Gate(self, ctx, RequestCap.of(max_usd))  # --max-usd: each paid step admitted by its worst case
        # One database hop answers: is the learned index current, is the answer cached (with the
        # validation report remembered for its code), and, unless a non-critical cached answer
        # comes first, which learned templates could match (the anchor index, engine.learning.anchors)
        # A non-critical hit whose remembered report passes is served whatever follows: the probe
        # books it (count + ledger row) in the same hop, so such a hit is one round trip.
        stamp, cached, candidates, memo, booked = await self.store.run(
            self._probe,
            plan.key,
            plan.caching,
            ctx.task if ctx.use_templates else None,
            ctx.is_critical,
            plan.policy,
            functools.partial(self._hit_ledger, ctx, plan),
        )
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
            indexes[0] = ("learned", await self.store.run(self.engine.library.near_index, ctx.task, stamp))
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

    # -- tier 1: templates --------------------------------------------------------------------

    async def _indexes(
        self, task: str, stamp: tuple[int, ...], candidates: TemplateIndex | None
    ) -> list[tuple[str, TemplateIndex]]:
        """The learned templates that could match ``task`` (from the probe, or looked up now), then
        the built-in pack."""
        library = self.engine.library
        learned = candidates if candidates is not None else await self.store.run(library.lookup, task, stamp)
        return [("learned", learned), ("builtin", builtin_index())]

    async def _from_templates(
        self, ctx: RequestContext, indexes: list[tuple[str, TemplateIndex]], plan: Plan, gate: _Gate
    ) -> TemplateHit | None:
        for source, index in indexes:
            hit = await self._template(ctx, source, index, plan, gate)
            if hit is not None:
                return hit
        return None

    def _template_result(
        self, ctx: RequestContext, hit: TemplateHit, gate: _Gate, events: list[Event]
    ) -> GenerationResult:
        ctx.emit(Finished(hit.source, micros_to_usd(gate.cost_micros), micros_to_usd(hit.saved_micros)))
        return GenerationResult(
            request_id=ctx.request_id,
            source=hit.source,
            code=hit.code,
            text=hit.code,
            cost_micros=gate.cost_micros,
            saved_micros=hit.saved_micros,
            latency_ms=ctx.elapsed_ms(),
            events=events,
            critical=ctx.critical,
            validation=hit.checked.report,
            review=hit.checked.review,
            template=hit.answer,
        )

    # -- tier 2: the response cache -----------------------------------------------------------

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
    ) -> tuple[
        tuple[int, ...],
        response_cache.CachedAnswer | None,
        TemplateIndex | None,
        ValidationReport | None,
        tuple[Any, ...] | None,
    ]:
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
            return stamp, cached, None, memo, booked
        return stamp, cached, self.engine.library.lookup(task, stamp), memo, booked

    async def _check_cached(
        self,
        cached: response_cache.CachedAnswer,
        plan: Plan,
        gate: _Gate,
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
        gate: _Gate,
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
                _record_cache_hit,
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

    # -- tier 3: the provider chain -----------------------------------------------------------

    async def _from_llm(
        self, ctx: RequestContext, plan: Plan, gate: _Gate, similar: tuple[NearMiss, ...], events: list[Event]
    ) -> GenerationResult:
        """Pay for an answer (repairing it while it fails validation), review it if critical,
        cache it if deliverable, offer it as a template; the result counts every cost."""
        paid = await self._ask(ctx, plan, gate)
        review = await self._review_paid(ctx, plan, gate, paid)
        ok = paid.report.ok and (review is None or review.get("verdict") == "approve")
        if ok:
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

    async def _ask(self, ctx: RequestContext, plan: Plan, gate: _Gate) -> PaidAnswer:
        """The chain's answer, validated, and repaired (up to ``validation.max_repairs`` times, and
        while the request's ``max_usd`` admits another repair's worst case)."""
        cap, environ = gate.cap, self.engine.environ
        cap.admit("answer", step_worst_micros(ctx.settings, plan.messages, ctx.max_tokens, environ))
        answer = await self.engine.chain.complete(
            ctx.settings, ctx.chain_request(plan.messages, stream=ctx.stream), ctx.emit
        )
        cap.spend(answer.cost_micros)
        paid = PaidAnswer.first(answer, await self._validate(ctx, plan, answer))
        while not paid.report.ok and paid.repairs < ctx.settings.validation.max_repairs:
            worst = step_worst_micros(ctx.settings, self._repair_messages(plan, paid), ctx.max_tokens, environ)
            if not cap.fits(worst):
                gate.stopped = cap.why_not("repair", worst)
                break
            fixed = await self._repair(ctx, plan, paid)
            if fixed is None:
                break
            cap.spend(fixed.cost_micros)
            paid = paid.repaired(fixed, await self._validate(ctx, plan, fixed))
        return paid

    @staticmethod
    def _repair_messages(plan: Plan, paid: PaidAnswer) -> list[dict[str, str]]:
        return plan.messages + [{"role": "assistant", "content": paid.answer.text}, repair_message(paid.report)]

    async def _validate(self, ctx: RequestContext, plan: Plan, answer: ChainResult) -> tuple[str, ValidationReport]:
        code = extract_code(answer.text, ctx.settings.generation.language)
        report = await CodeValidator(plan.policy).validate_async(code)
        ctx.emit(ValidationDone(report.ok, report.score, len(report.findings)))
        return code, report

    async def _repair(self, ctx: RequestContext, plan: Plan, paid: PaidAnswer) -> ChainResult | None:
        """One repair call with the blocking findings; None when the chain cannot answer it."""
        messages = self._repair_messages(plan, paid)
        try:
            return await self.engine.chain.complete(
                ctx.settings, ctx.chain_request(messages, stream=ctx.stream, source="repair"), ctx.emit
            )
        except TemplarError:
            return None

    async def _review_paid(
        self, ctx: RequestContext, plan: Plan, gate: _Gate, paid: PaidAnswer
    ) -> dict[str, Any] | None:
        """A critical request's review of valid paid code (the gate adds up its cost); else None."""
        if not (paid.report.ok and ctx.is_critical):
            return None
        return await gate.review(paid.code, Subject("llm", plan.key, 0, paid.answer.provider))

    async def _cache_answer(self, ctx: RequestContext, plan: Plan, paid: PaidAnswer) -> None:
        settings = ctx.settings
        if not (settings.cache.enabled and paid.code.strip()):
            return
        await self.store.run(
            _put_cached,
            plan.key,
            provider=paid.answer.provider,
            model=paid.answer.model,
            text=paid.answer.text,
            code=paid.code,
            tokens_in=paid.tokens_in,
            tokens_out=paid.tokens_out,
            cost_micros=paid.cost_micros,
            ttl_s=settings.cache.ttl_s,
            max_entries=settings.cache.max_entries,
            now=self.engine.clock(),
            policy=plan.policy,
            report=paid.report,
        )

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

    async def _route(self, ctx: RequestContext, indexes: list[tuple[str, TemplateIndex]], plan: Plan) -> Routed | None:
        """Optional routing of a paraphrase to the closest learned template (off by default;
        ``engine.learning.routing``)."""
        if not ctx.settings.learning.route_paraphrases:
            return None
        from engine.learning.routing import try_route

        learned = dict(indexes).get("learned")
        return (
            None
            if learned is None
            else await try_route(
                self.engine,
                ctx.settings,
                ctx.task,
                learned,
                plan.policy,
                ctx.request_id,
                ctx.project,
                ctx.agent,
                ctx.refs,
                ctx.confirmed,
                ctx.emit,
            )
        )

    def _routed_result(self, ctx: RequestContext, routed: Routed, events: list[Event]) -> GenerationResult:
        ctx.emit(Finished("routed", micros_to_usd(routed.cost_micros), micros_to_usd(routed.saved_micros)))
        extra = routed.extra
        answer = TemplateAnswer(
            extra["template_id"],
            extra["template_version"],
            extra["pattern"],
            json_bindings(extra["bindings"]),
            extra["explanation"],
        )
        return GenerationResult(
            request_id=ctx.request_id,
            source="routed",
            code=routed.code,
            text=routed.code,
            cost_micros=routed.cost_micros,
            saved_micros=routed.saved_micros,
            latency_ms=ctx.elapsed_ms(),
            events=events,
            critical=ctx.critical,
            validation=routed.report,
            template=answer,
            router_cost_micros=routed.cost_micros,
        )

    # -- templates: one index -----------------------------------------------------------------

    async def _template(
        self,
        ctx: RequestContext,
        source: str,
        index: TemplateIndex,
        plan: Plan,
        gate: _Gate,
    ) -> TemplateHit | None:
        """The template of ``index`` that answers the task, rendered, validated (and, for a
        critical request, approved by a review), or None to try the next tier."""
        match = index.match(ctx.task)
        if match is None:
            ctx.emit(LookupResult(source, False))
            return None
        spec = match.template
        assert spec is not None
        bindings = dict(match.bindings)
        refused = self.engine.library.refusal(spec.name, spec.version, bindings)  # wrong-answer feedback
        if refused:
            ctx.emit(LookupResult(source, False, refused))
            return None
        template_id = int(spec.name.removeprefix("learned-")) if source == "learned" else None
        try:
            code = spec.render(match.bindings)
        except Exception as exc:  # noqa: BLE001 - a broken template must not break the request
            await self._template_failed(ctx, source, spec.name, template_id, f"render failed: {exc}")
            return None
        report = await CodeValidator(plan.policy).validate_async(code)
        ctx.emit(ValidationDone(report.ok, report.score, len(report.findings)))
        if not report.ok:
            await self._template_failed(
                ctx, source, spec.name, template_id, f"validation failed: {report.blocking[0].rule_id}"
            )
            return None
        review = None
        if gate.decision.critical:
            author = await self.store.run(learned_author, template_id) if template_id is not None else ""
            review = await gate.review(code, Subject(source, spec.name, spec.version, author))
            if review.get("verdict") != "approve":
                ctx.emit(
                    LookupResult(
                        source,
                        False,
                        f"{spec.name} v{spec.version}: critical request, review {review.get('verdict')}: not served",
                    )
                )
                return None
        answer = TemplateAnswer(
            spec.name if template_id is None else template_id,
            spec.version,
            match.pattern.text,
            json_bindings(bindings),
            match.explanation,
        )
        saved = await self._book_template_answer(ctx, source, plan, answer, spec.name, bindings, len(code))
        ctx.emit(LookupResult(source, True, f"{spec.name} v{spec.version}: {match.explanation}"))
        return TemplateHit(source, code, answer, Checked(report, review), saved)

    async def _book_template_answer(
        self,
        ctx: RequestContext,
        source: str,
        plan: Plan,
        answer: TemplateAnswer,
        name: str,
        bindings: dict[str, Any],
        code_chars: int,
    ) -> int:
        """Record a $0 template answer (ledger and template stats); returns what it saved."""
        saved = savings_micros(ctx.settings, prompt_chars(plan.messages), code_chars, self.engine.environ)
        await self.store.run(
            record_template_answer,
            self.engine.clock(),
            source,
            ctx.request_id,
            ctx.project,
            ctx.agent,
            name,
            answer.version,
            canonical_bindings(bindings),
            saved,
            self.engine.book.owner,
        )
        library = self.engine.library
        if library.alias_id(name, answer.pattern) is not None:  # served through an alias: count it
            await self.store.run(library.count_alias_hit, name, answer.pattern)
        return saved

    async def _template_failed(
        self, ctx: RequestContext, source: str, template: str, template_id: int | None, reason: str
    ) -> None:
        ctx.emit(LookupResult(source, False, reason))
        # a failed $0 attempt: in the ledger, apart from paid calls
        await self.store.run(
            record_free_failure,
            self.engine.clock(),
            source,
            ctx.request_id,
            ctx.project,
            ctx.agent,
            template,
            reason.split(" ", 1)[0],
            self.engine.book.owner,
        )
        if template_id is not None:
            await self.store.run(
                self.engine.library.record_failure, template_id, reason, ctx.settings.learning.retire_after_failures
            )

    # -- paid side calls ----------------------------------------------------------------------


class _Gate:
    """The reviews one request needs before critical code is served; adds up what they cost."""

    def __init__(self, coder: CoderAgent, ctx: RequestContext, cap: RequestCap) -> None:
        self.coder, self.ctx, self.cap = coder, ctx, cap
        self.decision = ctx.critical
        self.cost_micros = 0
        self.stopped = ""  # which paid step max_usd skipped, and why

    async def review(self, code: str, subject: Subject) -> dict[str, Any]:
        ctx = self.ctx
        worst = review_worst_micros(ctx.settings, ctx.task, code, self.coder.engine.environ)
        if not self.cap.fits(worst) and not await self.coder.store.run(
            recorded_verdict, verdict_key(ctx.task, code), subject.author
        ):
            # max_usd leaves no room for a paid review and none is on record: not approved
            return {"verdict": "not reviewed", "issues": [self.cap.why_not("review", worst)], "cost_usd": 0.0}
        review = await approval(self.coder.engine, ctx, code, subject)
        cost = review_cost_micros(review)
        self.cost_micros += cost
        self.cap.spend(cost)
        return review
