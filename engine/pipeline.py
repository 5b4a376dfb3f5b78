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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine import cache as response_cache
from engine.config.schema import Settings
from engine.context import RequestContext
from engine.errors import TemplarError
from engine.config.trust import warning as untrusted_warning
from engine.events import ConfigWarning, Emit, Event, Finished, LookupResult, TemplateLearned, ValidationDone
from engine.learning.suggest import build_messages as suggestion_messages
from engine.learning.suggest import parse_suggestion
from engine.learning.zeroslot import has_no_values, zero_slot_name, zero_slot_pattern
from engine.llm.chain import ChainResult
from engine.feedback import canonical_bindings, record_free_failure, record_template_answer
from engine.llm.price_map import estimated_price, savings_micros
from engine.money import micros_to_usd
from engine.result import GenerationResult, NearMiss, TemplateAnswer
from engine.reviews import REVIEW_SYSTEM, Subject, approval, learned_author, review_cost_micros
from engine.templates import TemplateIndex, load_builtin_pack
from engine.text import clean_task, extract_code
from engine.validation import CodeValidator, ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["REVIEW_SYSTEM", "CoderAgent", "build_messages", "validation_policy"]


@functools.cache
def builtin_index() -> TemplateIndex:
    return TemplateIndex(load_builtin_pack())


def validation_policy(settings: Settings) -> ValidationPolicy:
    v = settings.validation
    return ValidationPolicy(
        block_severity=v.block_severity, min_type_hint_coverage=v.min_type_hint_coverage,
        min_docstring_coverage=v.min_docstring_coverage, coverage_blocks=v.coverage_blocks,
    )


def build_messages(settings: Settings, task: str) -> list[dict[str, str]]:
    """System and user messages. The task is substituted literally: braces in it stay inert."""
    prompt = settings.prompts.task.replace("{language}", settings.generation.language).replace("{task}", task)
    return [{"role": "system", "content": settings.prompts.system}, {"role": "user", "content": prompt}]


def repair_message(report: ValidationReport) -> dict[str, str]:
    lines = [f"- line {f.line}: {f.rule_id} {f.message}" for f in report.blocking[:10]]
    return {
        "role": "user",
        "content": "The code failed validation with these blocking findings:\n" + "\n".join(lines)
        + "\nReturn the corrected, complete code in one fenced block.",
    }


def cheapest_first(settings: Settings, names: list[str]) -> tuple[str, ...]:
    def price(name: str) -> float:
        pair = estimated_price(settings, settings.providers[name].model)
        return float("inf") if pair is None else pair[0] + pair[1]

    return tuple(sorted(names, key=price))


class CoderAgent:
    """Runs one request through the pipeline for an ``Engine``."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.store = engine.store

    async def run(
        self, task: str, *, project: str, agent: str, stream: bool = False, max_tokens: int | None = None,
        confirmed: bool = False, use_cache: bool = True, use_templates: bool = True, critical: bool | None = None,
        emit: Emit | None = None,
    ) -> GenerationResult:
        task = clean_task(task)
        resolved = self.engine.config(project, agent)
        settings = resolved.settings
        events: list[Event] = []

        def record(event: Event) -> None:
            events.append(event)
            if emit is not None:
                emit(event)

        for route in resolved.untrusted:  # provider overrides nobody trusted: not honoured, said aloud
            record(ConfigWarning(untrusted_warning(route, project)))

        ctx = RequestContext.build(
            task, project=project, agent=agent, settings=settings, now=self.engine.clock(), emit=record,
            confirmed=confirmed, stream=stream, max_tokens=max_tokens, use_cache=use_cache,
            use_templates=use_templates, critical=critical,
        )
        request_id, decision = ctx.request_id, ctx.critical
        max_tokens = ctx.max_tokens
        policy = validation_policy(settings)
        messages = build_messages(settings, task)
        similar: list[NearMiss] = []
        gate = _Gate(self, ctx)

        key = response_cache.cache_key(
            system=messages[0]["content"], prompt=messages[1]["content"],
            models=[settings.providers[n].model for n in settings.chain.order],
            params={"max_tokens": max_tokens, "temperature": settings.generation.temperature},
            prompt_version=settings.prompts.version,
        )
        caching = settings.cache.enabled and use_cache
        library = self.engine.library
        # One database hop answers both: is the learned index current, and is the answer cached?
        stamp, cached = await self.store.run(self._probe, key, caching)
        # a non-critical exact repeat first: no template lookup (critical ones keep the tier order,
        # which decides what gets reviewed)
        early = caching and cached is not None and not decision.critical
        checked = await self._check_cached(cached, key, policy, gate, record) if early and cached else None
        indexes: list[tuple[str, TemplateIndex]] = []
        if use_templates and checked is None:
            learned = library.cached_index(stamp) or await self.store.run(library.index)
            indexes = [("learned", learned), ("builtin", builtin_index())]
            for source, index in indexes:
                hit = await self._template(ctx, source, index, policy, gate)
                if hit is not None:
                    latency = ctx.elapsed_ms()
                    record(Finished(source, micros_to_usd(gate.cost_micros), micros_to_usd(hit.saved_micros)))
                    return GenerationResult(request_id=request_id, source=source, code=hit.code, text=hit.code,
                                            cost_micros=gate.cost_micros, saved_micros=hit.saved_micros,
                                            latency_ms=latency, events=events, critical=decision,
                                            validation=hit.checked.report, review=hit.checked.review,
                                            template=hit.answer)
        if caching:
            if cached is not None and not early:
                checked = await self._check_cached(cached, key, policy, gate, record)
            if cached is None:
                record(LookupResult("cache", False))
            if cached is not None and checked is not None:
                record(LookupResult("cache", True, f"{cached.hits} earlier hits"))
                latency = ctx.elapsed_ms()
                saved = savings_micros(settings, _prompt_chars(messages), len(cached.code), self.engine.environ)
                await self.store.run(
                    response_cache.record_hit, key, self.engine.clock(),
                    (request_id, project, agent, cached.provider, cached.model, saved, latency,
                     self.engine.book.owner),
                )
                record(Finished("cache", micros_to_usd(gate.cost_micros), micros_to_usd(saved)))
                return GenerationResult(request_id=request_id, source="cache", code=cached.code, text=cached.text,
                                        provider=cached.provider, model=cached.model, cost_micros=gate.cost_micros,
                                        saved_micros=saved, latency_ms=latency, events=events, critical=decision,
                                        validation=checked.report, review=checked.review)
        for source, index in indexes:  # near misses are worth computing only when we are about to pay
            for near in index.similar(task, limit=3):
                similar.append(NearMiss(source, near.template.name, near.pattern.text, round(near.score, 3)))

        base = ctx.chain_request(messages, stream=stream)
        result = await self.engine.chain.complete(settings, base, record)
        total_cost, tokens_in, tokens_out, attempts = result.cost_micros, result.tokens_in, result.tokens_out, result.attempts
        total_cost += gate.cost_micros  # reviews of cheaper tiers' answers that were not approved
        code = extract_code(result.text, settings.generation.language)
        report = await CodeValidator(policy).validate_async(code)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        repairs = 0
        while not report.ok and repairs < settings.validation.max_repairs:
            repairs += 1
            repair = ctx.chain_request(
                messages + [{"role": "assistant", "content": result.text}, repair_message(report)], stream=stream,
                source="repair",
            )
            try:
                fixed = await self.engine.chain.complete(settings, repair, record)
            except TemplarError:
                break
            total_cost += fixed.cost_micros
            tokens_in, tokens_out, attempts = tokens_in + fixed.tokens_in, tokens_out + fixed.tokens_out, attempts + fixed.attempts
            result = ChainResult(text=fixed.text, provider=fixed.provider, model=fixed.model, attempts=attempts,
                                 tokens_in=tokens_in, tokens_out=tokens_out, cost_micros=total_cost,
                                 latency_ms=fixed.latency_ms, usage_measured=fixed.usage_measured)
            code = extract_code(fixed.text, settings.generation.language)
            report = await CodeValidator(policy).validate_async(code)
            record(ValidationDone(report.ok, report.score, len(report.findings)))

        review = None
        if report.ok and decision.critical:
            before = gate.cost_micros
            review = await gate.review(code, Subject("llm", key, 0, result.provider))
            total_cost += gate.cost_micros - before
        ok = report.ok and (review is None or review.get("verdict") == "approve")
        if ok and settings.cache.enabled and code.strip():
            await self.store.run(
                response_cache.put, key, provider=result.provider, model=result.model, text=result.text, code=code,
                tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_micros=result.cost_micros,
                ttl_s=settings.cache.ttl_s, max_entries=settings.cache.max_entries, now=self.engine.clock(),
            )
        suggestion_id = None
        if ok and settings.learning.enabled:
            suggestion_id, cost = await self._suggest(ctx, code, result)
            total_cost += cost
        latency = ctx.elapsed_ms()
        record(Finished("llm", micros_to_usd(total_cost), 0.0))
        return GenerationResult(
            request_id=request_id, source="llm", code=code, text=result.text, provider=result.provider,
            model=result.model, attempts=attempts, cost_micros=total_cost, saved_micros=0, tokens_in=tokens_in,
            tokens_out=tokens_out, latency_ms=latency, events=events, critical=decision, validation=report,
            repairs=repairs, review=review, suggestion_id=suggestion_id, similar=tuple(similar),
        )

    async def _check_cached(self, cached: response_cache.CachedAnswer, key: str, policy: ValidationPolicy,
                            gate: _Gate, record: Emit) -> _Checked | None:
        """The cached answer's validation (checked again: rules may have changed since it was
        stored) and, for a critical request, its review; None when it must not be served."""
        report = await CodeValidator(policy).validate_async(cached.code)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        if not report.ok:
            record(LookupResult("cache", False, f"cached answer now fails validation ({report.blocking[0].rule_id})"))
            return None
        review = None
        if gate.decision.critical:
            review = await gate.review(cached.code, Subject("cache", key, 0, cached.provider))
            if review.get("verdict") != "approve":
                record(LookupResult("cache", False, f"critical request, review {review.get('verdict')}: not served"))
                return None
        return _Checked(report, review)

    # -- templates ----------------------------------------------------------------------------

    def _probe(self, key: str, caching: bool) -> tuple[tuple[int, int], response_cache.CachedAnswer | None]:
        stamp = self.engine.library.stamp()
        return stamp, response_cache.peek(key, self.engine.clock()) if caching else None

    async def _template(
        self, ctx: RequestContext, source: str, index: TemplateIndex, policy: ValidationPolicy, gate: _Gate,
    ) -> _TemplateHit | None:
        library = self.engine.library
        record = ctx.emit
        match = index.match(ctx.task)
        if match is None:
            record(LookupResult(source, False))
            return None
        spec = match.template
        assert spec is not None
        refused = library.refusal(spec.name, spec.version, match.bindings)  # wrong-answer feedback
        if refused:
            record(LookupResult(source, False, refused))
            return None
        template_id = int(spec.name.removeprefix("learned-")) if source == "learned" else None
        try:
            code = spec.render(match.bindings)
        except Exception as exc:  # noqa: BLE001 - a broken template must not break the request
            await self._template_failed(ctx, source, spec.name, template_id, f"render failed: {exc}")
            return None
        report = await CodeValidator(policy).validate_async(code)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        if not report.ok:
            await self._template_failed(ctx, source, spec.name, template_id,
                                        f"validation failed: {report.blocking[0].rule_id}")
            return None
        review = None
        if gate.decision.critical:
            author = await self.store.run(learned_author, template_id) if template_id is not None else ""
            review = await gate.review(code, Subject(source, spec.name, spec.version, author))
            if review.get("verdict") != "approve":
                record(LookupResult(source, False, f"{spec.name} v{spec.version}: critical request, review "
                                    f"{review.get('verdict')}: not served"))
                return None
        settings = ctx.settings
        saved = savings_micros(settings, _prompt_chars(build_messages(settings, ctx.task)), len(code),
                               self.engine.environ)
        await self.store.run(record_template_answer, self.engine.clock(), source, ctx.request_id, ctx.project,
                             ctx.agent, spec.name, spec.version, canonical_bindings(match.bindings), saved,
                             self.engine.book.owner)
        record(LookupResult(source, True, f"{spec.name} v{spec.version}: {match.explanation}"))
        bindings = {k: ([list(x) for x in v] if isinstance(v, list) and v and isinstance(v[0], tuple) else v)
                    for k, v in match.bindings.items()}
        answer = TemplateAnswer(template_id if template_id is not None else spec.name, spec.version,
                                match.pattern.text, bindings, match.explanation)
        return _TemplateHit(code, answer, _Checked(report, review), saved)

    async def _template_failed(self, ctx: RequestContext, source: str, template: str, template_id: int | None,
                               reason: str) -> None:
        ctx.emit(LookupResult(source, False, reason))
        # a failed $0 attempt: in the ledger, apart from paid calls
        await self.store.run(record_free_failure, self.engine.clock(), source, ctx.request_id, ctx.project, ctx.agent,
                             template, reason.split(" ", 1)[0], self.engine.book.owner)
        if template_id is not None:
            await self.store.run(self.engine.library.record_failure, template_id, reason,
                                 ctx.settings.learning.retire_after_failures)

    # -- paid side calls ----------------------------------------------------------------------

    async def _suggest(self, ctx: RequestContext, code: str, result: ChainResult) -> tuple[int | None, int]:
        """Offer the paid answer as a template: a suggestion (one cheap model call), or a zero-slot one."""
        settings, task, record = ctx.settings, ctx.task, ctx.emit
        if has_no_values(task):  # nothing to parameterise: a zero-slot template, no model call
            return await self._suggest_zero_slot(ctx, code, result)
        names = [settings.learning.suggest_provider] if settings.learning.suggest_provider else list(settings.chain.order)
        request = ctx.chain_request(suggestion_messages(task, code), max_tokens=800, temperature=0.0, source="suggest",
                                    order=cheapest_first(settings, names))
        try:
            answer = await self.engine.chain.complete(settings, request, record)
        except TemplarError as exc:
            record(TemplateLearned(0, f"no suggestion: {exc}"))
            return None, 0
        parsed = parse_suggestion(answer.text)
        library = self.engine.library
        view = await self.store.run(functools.partial(
            library.add_suggestion, task=task, code=code, pattern=parsed.pattern, params=parsed.params, name=parsed.name,
            confidence=parsed.confidence, reason="; ".join(parsed.problems), provider=answer.provider,
            model=answer.model, cost_micros=result.cost_micros, request_id=ctx.request_id, project=ctx.project,
            agent=ctx.agent,
        ))
        status = "pending"
        threshold = settings.learning.auto_accept_confidence
        if threshold > 0 and not parsed.problems and parsed.confidence >= threshold:
            try:
                await self.store.run(functools.partial(library.accept, view.id, unseen=True))
                status = "accepted"
            except TemplarError:
                status = "pending"
        record(TemplateLearned(view.id, status))
        return view.id, answer.cost_micros

    async def _suggest_zero_slot(self, ctx: RequestContext, code: str, result: ChainResult) -> tuple[int | None, int]:
        """Queue (or, under the auto-accept policy, accept) the task's canonical wording as a template."""
        library = self.engine.library
        task = ctx.task
        pattern = zero_slot_pattern(task)
        view = await self.store.run(functools.partial(
            library.add_suggestion, task=task, code=code, pattern=pattern or "", params=[], name=zero_slot_name(task),
            confidence=1.0 if pattern else 0.0, reason="" if pattern else "the task's wording cannot serve as a pattern",
            provider="", model="", cost_micros=result.cost_micros, request_id=ctx.request_id, project=ctx.project,
            agent=ctx.agent,
        ))
        status = "pending"
        threshold = ctx.settings.learning.auto_accept_confidence
        if pattern and threshold > 0:
            try:
                await self.store.run(library.accept, view.id)
                status = "accepted"
            except TemplarError:
                status = "pending"
        ctx.emit(TemplateLearned(view.id, status))
        return view.id, 0


@dataclass(frozen=True)
class _Checked:
    """Code that passed validation and, for a critical request, its approving review."""

    report: ValidationReport
    review: dict[str, Any] | None


@dataclass(frozen=True)
class _TemplateHit:
    code: str
    answer: TemplateAnswer
    checked: _Checked
    saved_micros: int


class _Gate:
    """The reviews one request needs before critical code is served; adds up what they cost."""

    def __init__(self, coder: CoderAgent, ctx: RequestContext) -> None:
        self.coder, self.ctx = coder, ctx
        self.decision = ctx.critical
        self.cost_micros = 0

    async def review(self, code: str, subject: Subject) -> dict[str, Any]:
        review = await approval(self.coder.engine, self.ctx, code, subject)
        self.cost_micros += review_cost_micros(review)
        return review


def _prompt_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)
