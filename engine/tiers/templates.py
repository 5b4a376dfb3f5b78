"""Tier 1, templates (a ``CoderAgent`` mixin): the learned library, then the built-in pack, and,
on a miss, optional routing of a paraphrase to the closest learned template.

Invariants: a template answer is rendered, validated and, for a critical request, approved by a
review of that exact code before it is served; a template with wrong-answer feedback for these
bindings is refused; a render or validation failure is a miss (booked as a $0 failure in the
ledger, and against the learned template's retirement count), never an error; a served answer is
booked ($0 ledger row, template stats, alias hit) with what it saved; the built-in index is built
once per process (``builtin_index``); no LLM call except the opt-in router
(``learning.route_paraphrases``), which is never used for a critical request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.context import RequestContext
from engine.events import Event, Finished, LookupResult, ValidationDone
from engine.feedback import canonical_bindings, record_free_failure, record_template_answer
from engine.llm.price_map import savings_micros
from engine.money import micros_to_usd
from engine.pipeline_values import Checked, Plan, TemplateHit, json_bindings, prompt_chars
from engine.result import GenerationResult, TemplateAnswer
from engine.reviews import Subject, learned_author
from engine.tiers.base import Gate, TierAgent
from engine.validation import CodeValidator, ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.learning.library import TemplateLibrary
    from engine.learning.routing import Routed
    from engine.templates import TemplateIndex
    from engine.templates.pattern import Match

__all__ = ["ServedInProbe", "TemplateTier", "book_template_answer", "builtin_index"]


@functools.cache
def builtin_index() -> TemplateIndex:
    from engine.templates import TemplateIndex, load_builtin_pack  # not on a cache hit's path

    return TemplateIndex(load_builtin_pack())


@dataclass(frozen=True)
class ServedInProbe:
    """A template answer the probe served and booked in its own hop (``_template_now``); the
    events it stands for are emitted afterwards, on the event loop (``_replay``)."""

    source: str
    missed: tuple[str, ...]  # the indexes tried before it, without a match
    code: str
    answer: TemplateAnswer
    report: ValidationReport
    saved: int
    detail: str


def book_template_answer(
    ledger: tuple[Any, ...],
    library: TemplateLibrary | None,
    pattern: str,
    memo: tuple[str, ValidationPolicy, ValidationReport] | None,
) -> None:
    """A served template answer in one hop: its ledger row and template stats
    (``record_template_answer``), the alias hit when a learned template (``library`` given)
    answered through an alias pattern, and the validation report it computed (remembered, so the
    next render of exactly this code needs no validator run)."""
    record_template_answer(*ledger)
    if library is not None:
        library.count_alias_hit(ledger[5], pattern)  # a no-op unless ``pattern`` is an alias
    if memo is not None:
        from engine import validation_memo

        validation_memo.remember(*memo)


def _answer(source: str, match: Match, bindings: dict[str, Any]) -> TemplateAnswer:
    """What a template answer says about its template (a learned one by id)."""
    spec = match.template
    assert spec is not None
    template_id = int(spec.name.removeprefix("learned-")) if source == "learned" else None
    return TemplateAnswer(
        spec.name if template_id is None else template_id,
        spec.version,
        match.pattern.text,
        json_bindings(bindings),
        match.explanation,
    )


class TemplateTier(TierAgent):
    """The template steps of ``CoderAgent``: ``_from_templates`` (``_template`` per index),
    ``_route`` for a paraphrase, and their results."""

    async def _indexes(
        self, task: str, stamp: tuple[int, ...], candidates: TemplateIndex | None
    ) -> list[tuple[str, TemplateIndex]]:
        """The learned templates that could match ``task`` (from the probe, or looked up now), then
        the built-in pack."""
        library = self.engine.library
        learned = candidates if candidates is not None else await self.store.run(library.lookup, task, stamp)
        return [("learned", learned), ("builtin", builtin_index())]

    async def _from_templates(
        self, ctx: RequestContext, indexes: list[tuple[str, TemplateIndex]], plan: Plan, gate: Gate
    ) -> TemplateHit | None:
        for source, index in indexes:
            hit = await self._template(ctx, source, index, plan, gate)
            if hit is not None:
                return hit
        return None

    def _template_result(
        self, ctx: RequestContext, hit: TemplateHit, gate: Gate, events: list[Event]
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

    # -- templates, served inside the probe's hop -----------------------------------------------

    def _template_now(
        self, ctx: RequestContext, plan: Plan, candidates: TemplateIndex
    ) -> tuple[ServedInProbe | None, bool]:
        """On the database thread, inside the probe (non-critical requests only): the first
        template that matches, when nothing about it is unusual -- not refused by feedback, it
        renders, and the report remembered for exactly this code and policy
        (``engine.validation_memo``) passes -- is booked here and served. Anything else gives
        None and the normal steps run (and emit) as before. The flag says whether any template
        matched (False: the request goes on to the cache or a paid call). Safe: the remembered report is the
        report validating the code now would give (its key holds the validator's version, the
        policy and the code's hash), and a critical request never takes this path (it is reviewed)."""
        from engine import validation_memo

        missed: list[str] = []
        for source, index in (("learned", candidates), ("builtin", builtin_index())):
            match = index.match(ctx.task)
            if match is None:
                missed.append(source)
                continue
            spec = match.template
            assert spec is not None
            bindings = dict(match.bindings)
            if self.engine.library.refusal(spec.name, spec.version, bindings):
                return None, True
            try:
                code = spec.render(match.bindings)
            except Exception:  # noqa: BLE001 - the normal steps book the failure
                return None, True
            report = validation_memo.recall(code, plan.policy)
            if report is None or not report.ok:
                return None, True
            answer = _answer(source, match, bindings)
            booking, saved = self._booking(ctx, plan, source, spec.name, answer, bindings, code)
            book_template_answer(*booking, None)
            detail = f"{spec.name} v{spec.version}: {match.explanation}"
            return ServedInProbe(source, tuple(missed), code, answer, report, saved, detail), True
        return None, False

    def _replay(self, ctx: RequestContext, served: ServedInProbe) -> TemplateHit:
        """The events of a template answer served inside the probe, in the order the normal
        steps emit them."""
        for source in served.missed:
            ctx.emit(LookupResult(source, False))
        report = served.report
        ctx.emit(ValidationDone(report.ok, report.score, len(report.findings)))
        ctx.emit(LookupResult(served.source, True, served.detail))
        return TemplateHit(served.source, served.code, served.answer, Checked(report, None), served.saved)

    def _booking(
        self,
        ctx: RequestContext,
        plan: Plan,
        source: str,
        name: str,
        answer: TemplateAnswer,
        bindings: dict[str, Any],
        code: str,
    ) -> tuple[tuple[tuple[Any, ...], TemplateLibrary | None, str], int]:
        """``book_template_answer``'s arguments but the report (the ledger row, the library for a
        learned answer's alias hit, the pattern), and what the answer saved."""
        saved = savings_micros(ctx.settings, prompt_chars(plan.messages), len(code), self.engine.environ)
        ledger = (
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
        return (ledger, self.engine.library if source == "learned" else None, answer.pattern), saved

    # -- templates: one index -----------------------------------------------------------------

    async def _template(
        self,
        ctx: RequestContext,
        source: str,
        index: TemplateIndex,
        plan: Plan,
        gate: Gate,
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
        answer = _answer(source, match, bindings)
        booking, saved = self._booking(ctx, plan, source, spec.name, answer, bindings, code)
        await self.store.run(book_template_answer, *booking, (code, plan.policy, report))
        ctx.emit(LookupResult(source, True, f"{spec.name} v{spec.version}: {match.explanation}"))
        return TemplateHit(source, code, answer, Checked(report, review), saved)

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

    # -- paraphrase routing -------------------------------------------------------------------

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
