"""The routing step on the answer path (see :mod:`engine.learning.router` for the rules).

:func:`try_route` is called by the pipeline after every template and the cache missed and
before a paid generation. It makes at most one small paid call (the router question), and
serves only after every deterministic guard and validation passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import TemplarError
from engine.events import Emit, LookupResult, ValidationDone
from engine.learning.router import (
    candidate_bindings,
    estimated_usd,
    guard_problem,
    router_messages,
    said_yes,
)
from engine.money import micros_to_usd
from engine.templates import TemplateIndex, TemplateSpec
from engine.templates.matcher import Similar
from engine.templates.pattern import TaskPattern
from engine.validation import CodeValidator, ValidationPolicy, ValidationReport

if TYPE_CHECKING:
    from engine.config.schema import Settings
    from engine.service import Engine


@dataclass(frozen=True)
class Routed:
    code: str
    extra: dict[str, Any]
    cost_micros: int
    saved_micros: int  # net of the router call
    report: ValidationReport | None = None  # the rendered code's validation


#: How many of the closest templates are tried, best first; the first whose bindings and guards
#: pass is the one the router is asked about (one question at most, whatever the number).
CANDIDATES = 3


def _first_passing(
    near: Sequence[Similar], task: str, record: Emit
) -> tuple[tuple[TemplateSpec, TaskPattern, float], dict[str, Any], str] | None:
    """The closest template whose bindings render and whose guards hold (each refusal recorded)."""
    for candidate in near:
        spec, pattern = candidate.template, candidate.pattern
        bindings = candidate_bindings(spec, task, pattern)
        if bindings is None:
            record(LookupResult("routed", False, f"{spec.name}: the task's values do not fit its slots"))
            continue
        try:
            code = spec.render(bindings)
        except Exception as exc:  # noqa: BLE001 - bindings the template refuses: no question asked
            record(LookupResult("routed", False, f"{spec.name}: {exc}"))
            continue
        problem = guard_problem(spec, pattern, bindings, task, code)
        if problem is not None:  # the guards run before the call too: a refused "yes" is not worth paying for
            record(LookupResult("routed", False, f"{spec.name}: {problem}"))
            continue
        return (spec, pattern, candidate.score), bindings, code
    return None


async def try_route(
    engine: Engine,
    settings: Settings,
    task: str,
    index: TemplateIndex,
    policy: ValidationPolicy,
    request_id: str,
    project: str,
    agent: str,
    refs: Any,
    confirmed: bool,
    record: Emit,
) -> Routed | None:
    """Ask the router about the closest learned template; the answer if it may be served."""
    from engine.feedback import canonical_bindings, record_template_answer
    from engine.llm.chain import ChainRequest
    from engine.llm.price_map import estimated_price, savings_micros
    from engine.pipeline import build_messages, cheapest_first

    rules = settings.learning
    if not rules.route_paraphrases or rules.route_max_usd <= 0:
        return None
    near = index.similar(task, limit=CANDIDATES, min_score=rules.route_min_similarity)
    chosen = _first_passing(near, task, record)
    if chosen is None:
        return None
    (spec, pattern, score), bindings, code = chosen
    order = cheapest_first(settings, list(settings.chain.order))
    messages = router_messages(task, pattern.text, bindings)
    model = settings.providers[order[0]].model if order else ""
    if not order or estimated_usd(messages, estimated_price(settings, model)) > rules.route_max_usd:
        record(LookupResult("routed", False, "the router call would exceed learning.route_max_usd"))
        return None
    request = ChainRequest(
        messages=messages,
        max_tokens=3,
        temperature=0.0,
        request_id=request_id,
        project=project,
        agent=agent,
        refs=refs,
        confirmed=confirmed,
        source="route",
        order=order[:1],
    )
    try:
        answer = await engine.chain.complete(settings, request, record)
    except TemplarError as exc:
        record(LookupResult("routed", False, f"router: {exc}"))
        return None
    if not said_yes(answer.text):
        record(LookupResult("routed", False, f"router said no to {spec.name}"))
        return None
    report = await CodeValidator(policy).validate_async(code)
    record(ValidationDone(report.ok, report.score, len(report.findings)))
    if not report.ok:
        record(LookupResult("routed", False, f"{spec.name}: validation failed"))
        return None
    saved = savings_micros(
        settings, sum(len(m["content"]) for m in build_messages(settings, task)), len(code), engine.environ
    )
    net = max(0, saved - answer.cost_micros)
    await engine.store.run(
        record_template_answer,
        engine.clock(),
        "routed",
        request_id,
        project,
        agent,
        spec.name,
        spec.version,
        canonical_bindings(dict(bindings)),
        net,
        engine.book.owner,
    )
    record(LookupResult("routed", True, f"{spec.name} v{spec.version}: router said yes, guards passed"))
    extra = {
        "template_id": int(spec.name.removeprefix("learned-")) if spec.name.startswith("learned-") else spec.name,
        "template_version": spec.version,
        "pattern": pattern.text,
        "bindings": dict(bindings),
        "explanation": f"[routed] similarity {score:.2f}",
        "validation": report.to_dict(),
        "router_cost_usd": micros_to_usd(answer.cost_micros),
        "net_saved_usd": micros_to_usd(net),
    }
    return Routed(code, extra, answer.cost_micros, net, report)


__all__ = ["Routed", "try_route"]
