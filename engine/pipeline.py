"""The hybrid pipeline (CoderAgent): the cheapest source that answers correctly wins.

    learned template -> built-in template -> response cache -> provider chain (+ repairs)
                     -> validation (+ cross-provider review for critical work)
                     -> learning, scheduled in the background (the answer may become a template)

Invariants: no answer is returned unvalidated (a template render or cache entry that fails
validation counts as a miss and the pipeline moves on); the match path makes no LLM call and
never imports litellm unless the request is critical and no verdict is on record; a critical
request (``engine.critical``) is served by a template or the cache only with an approving review
of that exact code (``engine.reviews``), else the next tier answers; only validated answers are
cached; suggestion or review trouble never loses the answer the user paid for, and learning
never delays it (``engine.learning.learner``). Whether the
final answer is deliverable is decided once, by ``engine.delivery``. A non-critical exact repeat
(same cache key) whose cached answer passes validation is served before any template lookup,
so a new process never loads the learned library for it.
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import TYPE_CHECKING, Any

from engine import cache as response_cache
from engine.budget.book import budget_refs
from engine.config.schema import Settings
from engine.critical import CriticalDecision, decide_critical
from engine.errors import TemplarError
from engine.config.trust import warning as untrusted_warning
from engine.events import ConfigWarning, Emit, Event, Finished, LookupResult, ValidationDone
from engine.learning.learner import LearningJob
from engine.learning.routing import Routed, try_route
from engine.llm.chain import ChainRequest, ChainResult
from engine.feedback import canonical_bindings, record_free_failure, record_template_answer
from engine.llm.price_map import estimated_price, savings_micros
from engine.reviews import REVIEW_SYSTEM, Subject, approval, learned_author
from engine.templates import TemplateIndex, load_builtin_pack
from engine.text import clean_task, extract_code
from engine.validation import CodeValidator, ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.service import Engine, GenerationResult

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
    ) -> "GenerationResult":
        from engine.service import GenerationResult

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

        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        policy = validation_policy(settings)
        messages = build_messages(settings, task)
        similar: list[dict[str, Any]] = []
        decision = decide_critical(settings, task, critical)
        refs = budget_refs(settings, project, agent, self.engine.clock())
        gate = _Gate(self, decision, settings, task, refs, request_id, project, agent, confirmed, record)

        max_tokens = max_tokens or settings.generation.max_tokens
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
                hit = await self._template(source, index, task, settings, policy, request_id, project, agent, record,
                                           gate)
                if hit is not None:
                    code, extra, saved = hit
                    latency = int((time.perf_counter() - started) * 1000)
                    record(Finished(source, gate.cost_micros / 1e6, saved / 1e6))
                    return GenerationResult(request_id, source, code, code, cost_micros=gate.cost_micros,
                                            saved_micros=saved, latency_ms=latency, events=events,
                                            extra={**extra, "critical": decision.to_dict()})
        if caching:
            if cached is not None and not early:
                checked = await self._check_cached(cached, key, policy, gate, record)
            if cached is None:
                record(LookupResult("cache", False))
            if cached is not None and checked is not None:
                record(LookupResult("cache", True, f"{cached.hits} earlier hits"))
                latency = int((time.perf_counter() - started) * 1000)
                saved = savings_micros(settings, _prompt_chars(messages), len(cached.code), self.engine.environ)
                await self.store.run(
                    response_cache.record_hit, key, self.engine.clock(),
                    (request_id, project, agent, cached.provider, cached.model, saved, latency,
                     self.engine.book.owner),
                )
                record(Finished("cache", gate.cost_micros / 1e6, saved / 1e6))
                return GenerationResult(request_id, "cache", cached.code, cached.text, cached.provider, cached.model,
                                        0, gate.cost_micros, saved, 0, 0, latency, events,
                                        extra={"validation": checked, "critical": decision.to_dict()})
        routed = await self._route(settings, task, indexes, policy, request_id, project, agent, refs, confirmed,
                                   record) if indexes and not decision.critical else None
        if routed is not None:
            latency = int((time.perf_counter() - started) * 1000)
            record(Finished("routed", routed.cost_micros / 1e6, routed.saved_micros / 1e6))
            return GenerationResult(request_id, "routed", routed.code, routed.code, cost_micros=routed.cost_micros,
                                    saved_micros=routed.saved_micros, latency_ms=latency, events=events,
                                    extra={**routed.extra, "critical": decision.to_dict()})
        for source, index in indexes:  # near misses are worth computing only when we are about to pay
            for near in index.similar(task, limit=3):
                similar.append({"source": source, "template": near.template.name, "pattern": near.pattern.text,
                                "score": round(near.score, 3)})

        base = ChainRequest(messages, max_tokens, settings.generation.temperature, request_id, project, agent, refs,
                            stream=stream, confirmed=confirmed)
        result = await self.engine.chain.complete(settings, base, record)
        total_cost, tokens_in, tokens_out, attempts = result.cost_micros, result.tokens_in, result.tokens_out, result.attempts
        total_cost += gate.cost_micros  # reviews of cheaper tiers' answers that were not approved
        code = extract_code(result.text, settings.generation.language)
        report = await CodeValidator(policy).validate_async(code)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        repairs = 0
        while not report.ok and repairs < settings.validation.max_repairs:
            repairs += 1
            repair = ChainRequest(
                messages + [{"role": "assistant", "content": result.text}, repair_message(report)], max_tokens,
                settings.generation.temperature, request_id, project, agent, refs, stream=stream,
                confirmed=confirmed, source="repair",
            )
            try:
                fixed = await self.engine.chain.complete(settings, repair, record)
            except TemplarError:
                break
            total_cost += fixed.cost_micros
            tokens_in, tokens_out, attempts = tokens_in + fixed.tokens_in, tokens_out + fixed.tokens_out, attempts + fixed.attempts
            result = ChainResult(fixed.text, fixed.provider, fixed.model, attempts, tokens_in, tokens_out, total_cost,
                                 fixed.latency_ms, fixed.usage_measured)
            code = extract_code(fixed.text, settings.generation.language)
            report = await CodeValidator(policy).validate_async(code)
            record(ValidationDone(report.ok, report.score, len(report.findings)))

        validation = report.to_dict()
        validation["repairs"] = repairs
        if report.ok and decision.critical:
            before = gate.cost_micros
            review = await gate.review(code, Subject("llm", key, 0, result.provider))
            total_cost += gate.cost_micros - before
            validation["review"] = review
            if review.get("verdict") != "approve":
                validation["ok"] = False
        ok = bool(validation["ok"])
        if ok and settings.cache.enabled and code.strip():
            await self.store.run(
                response_cache.put, key, provider=result.provider, model=result.model, text=result.text, code=code,
                tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_micros=result.cost_micros,
                ttl_s=settings.cache.ttl_s, max_entries=settings.cache.max_entries, now=self.engine.clock(),
            )
        suggestion_id = None
        if ok and settings.learning.enabled:
            suggestion_id = await self._schedule_learning(
                LearningJob(settings, task, code, result.cost_micros, refs, request_id, project, agent, confirmed), record)
        latency = int((time.perf_counter() - started) * 1000)
        record(Finished("llm", total_cost / 1e6, 0.0))
        return GenerationResult(
            request_id, "llm", code, result.text, result.provider, result.model, attempts, total_cost, 0,
            tokens_in, tokens_out, latency, events,
            extra={"validation": validation, "suggestion_id": suggestion_id, "similar": similar,
                   "critical": decision.to_dict()},
        )

    async def _check_cached(self, cached: response_cache.CachedAnswer, key: str, policy: ValidationPolicy,
                            gate: "_Gate", record: Emit) -> dict[str, Any] | None:
        """The cached answer's validation (checked again: rules may have changed since it was
        stored) and, for a critical request, its review; None when it must not be served."""
        report = await CodeValidator(policy).validate_async(cached.code)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        if not report.ok:
            record(LookupResult("cache", False, f"cached answer now fails validation ({report.blocking[0].rule_id})"))
            return None
        validation = report.to_dict()
        if gate.decision.critical:
            review = await gate.review(cached.code, Subject("cache", key, 0, cached.provider))
            validation["review"] = review
            if review.get("verdict") != "approve":
                record(LookupResult("cache", False, f"critical request, review {review.get('verdict')}: not served"))
                return None
        return validation

    # -- templates ----------------------------------------------------------------------------

    def _probe(self, key: str, caching: bool) -> tuple[tuple[int, int], response_cache.CachedAnswer | None]:
        stamp = self.engine.library.stamp()
        return stamp, response_cache.peek(key, self.engine.clock()) if caching else None

    async def _template(
        self, source: str, index: TemplateIndex, task: str, settings: Settings, policy: ValidationPolicy,
        request_id: str, project: str, agent: str, record: Emit, gate: "_Gate",
    ) -> tuple[str, dict[str, Any], int] | None:
        library = self.engine.library
        match = index.match(task)
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
        answer = (request_id, project, agent, spec.name)
        try:
            code = spec.render(match.bindings)
        except Exception as exc:  # noqa: BLE001 - a broken template must not break the request
            await self._template_failed(template_id, f"render failed: {exc}", settings, record, source, answer)
            return None
        report = await CodeValidator(policy).validate_async(code)
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        if not report.ok:
            await self._template_failed(template_id, f"validation failed: {report.blocking[0].rule_id}", settings,
                                        record, source, answer)
            return None
        validation = report.to_dict()
        if gate.decision.critical:
            author = await self.store.run(learned_author, template_id) if template_id is not None else ""
            review = await gate.review(code, Subject(source, spec.name, spec.version, author))
            validation["review"] = review
            if review.get("verdict") != "approve":
                record(LookupResult(source, False, f"{spec.name} v{spec.version}: critical request, review "
                                    f"{review.get('verdict')}: not served"))
                return None
        saved = savings_micros(settings, _prompt_chars(build_messages(settings, task)), len(code), self.engine.environ)
        await self.store.run(record_template_answer, self.engine.clock(), source, request_id, project, agent,
                             spec.name, spec.version, canonical_bindings(match.bindings), saved, self.engine.book.owner)
        if library.alias_id(spec.name, match.pattern.text) is not None:  # served through an alias: count it
            await self.store.run(library.count_alias_hit, spec.name, match.pattern.text)
        record(LookupResult(source, True, f"{spec.name} v{spec.version}: {match.explanation}"))
        bindings = {k: ([list(x) for x in v] if isinstance(v, list) and v and isinstance(v[0], tuple) else v)
                    for k, v in match.bindings.items()}
        extra = {
            "template_id": template_id if source == "learned" else spec.name,
            "template_version": spec.version,
            "pattern": match.pattern.text,
            "bindings": bindings,
            "explanation": match.explanation,
            "validation": validation,
        }
        return code, extra, saved

    async def _template_failed(self, template_id: int | None, reason: str, settings: Settings, record: Emit,
                               source: str, answer: tuple[str, str, str, str]) -> None:
        record(LookupResult(source, False, reason))
        request_id, project, agent, template = answer  # a failed $0 attempt: in the ledger, apart from paid calls
        await self.store.run(record_free_failure, self.engine.clock(), source, request_id, project, agent, template,
                             reason.split(" ", 1)[0], self.engine.book.owner)
        if template_id is not None:
            await self.store.run(self.engine.library.record_failure, template_id, reason,
                                 settings.learning.retire_after_failures)

    async def _route(self, settings: Settings, task: str, indexes: list[tuple[str, TemplateIndex]],
                     policy: ValidationPolicy, request_id: str, project: str, agent: str, refs: Any, confirmed: bool,
                     record: Emit) -> Routed | None:
        """Optional routing of a paraphrase to the closest learned template (off by default;
        ``engine.learning.routing``)."""
        if not settings.learning.route_paraphrases:
            return None
        learned = dict(indexes).get("learned")
        return None if learned is None else await try_route(
            self.engine, settings, task, learned, policy, request_id, project, agent, refs, confirmed, record)

    # -- learning (off the answer path) -----------------------------------------------------------

    async def _schedule_learning(self, job: LearningJob, record: Emit) -> int:
        """Queue what this paid answer can teach; the work runs in the background and never
        delays the answer (``engine.learning.learner``). Returns the queued suggestion's id."""
        return await self.engine.learner.schedule(job, record)


class _Gate:
    """The reviews one request needs before critical code is served; adds up what they cost."""

    def __init__(self, coder: CoderAgent, decision: CriticalDecision, settings: Settings, task: str, refs: Any,
                 request_id: str, project: str, agent: str, confirmed: bool, record: Emit) -> None:
        self.coder, self.decision, self.settings, self.task, self.refs = coder, decision, settings, task, refs
        self.request_id, self.project, self.agent, self.confirmed, self.record = request_id, project, agent, confirmed, record
        self.cost_micros = 0

    async def review(self, code: str, subject: Subject) -> dict[str, Any]:
        review = await approval(self.coder.engine, self.settings, self.task, code, subject, self.refs, self.request_id,
                                self.project, self.agent, self.confirmed, self.record)
        self.cost_micros += int(round(float(review.get("cost_usd") or 0.0) * 1e6))
        return review


def _prompt_chars(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages)
