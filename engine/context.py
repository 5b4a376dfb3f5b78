"""What one generation request carries through the pipeline: ``RequestContext``.

The pipeline, its reviews and its side calls all need the same facts about the request they
serve (its id, project and agent, the resolved settings, the budgets it counts against,
whether the person confirmed a paid call, whether it is critical, where events go). They
travel together in one frozen value instead of one by one through every function.

Invariants: a context is built once per request (``RequestContext.build`` stamps the request
id and start time) and never changes afterwards; paid calls made on its behalf are booked to
its ``refs`` under its ``request_id``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from engine.budget.book import BudgetRef, budget_refs
from engine.config.schema import Settings
from engine.critical import CriticalDecision, decide_critical
from engine.events import Emit
from engine.llm.chain import AfterAnswer, ChainRequest

__all__ = ["RequestContext"]


@dataclass(frozen=True, kw_only=True)
class RequestContext:
    """One request's identity, settings and options (immutable).

    ``emit`` receives every event of the request (the pipeline records them for the result
    too); ``started`` is a ``time.perf_counter()`` stamp for latencies; ``max_tokens`` is the
    request's answer budget (the setting unless the caller asked for another)."""

    request_id: str
    task: str
    project: str
    agent: str
    settings: Settings
    refs: tuple[BudgetRef, ...]
    critical: CriticalDecision
    emit: Emit
    confirmed: bool = False
    stream: bool = False
    max_tokens: int
    use_cache: bool = True
    use_templates: bool = True
    started: float = 0.0

    @classmethod
    def build(
        cls,
        task: str,
        *,
        project: str,
        agent: str,
        settings: Settings,
        now: float,
        emit: Emit,
        confirmed: bool = False,
        stream: bool = False,
        max_tokens: int | None = None,
        use_cache: bool = True,
        use_templates: bool = True,
        critical: bool | None = None,
    ) -> RequestContext:
        """A fresh request: new id, budgets for ``now`` (epoch seconds), critical decided."""
        return cls(
            request_id=str(uuid.uuid4()),
            task=task,
            project=project,
            agent=agent,
            settings=settings,
            refs=tuple(budget_refs(settings, project, agent, now)),
            critical=decide_critical(settings, task, critical),
            emit=emit,
            confirmed=confirmed,
            stream=stream,
            max_tokens=max_tokens or settings.generation.max_tokens,
            use_cache=use_cache,
            use_templates=use_templates,
            started=time.perf_counter(),
        )

    @property
    def is_critical(self) -> bool:
        return self.critical.critical

    def elapsed_ms(self) -> int:
        """Milliseconds since the request started."""
        return int((time.perf_counter() - self.started) * 1000)

    def chain_request(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        source: str = "llm",
        stream: bool = False,
        exclude: tuple[str, ...] = (),
        order: tuple[str, ...] | None = None,
        after: AfterAnswer | None = None,
    ) -> ChainRequest:
        """A provider-chain call booked to this request (its id, scope, budgets, confirmation)."""
        return ChainRequest(
            messages=messages,
            max_tokens=self.max_tokens if max_tokens is None else max_tokens,
            temperature=self.settings.generation.temperature if temperature is None else temperature,
            request_id=self.request_id,
            project=self.project,
            agent=self.agent,
            refs=list(self.refs),
            stream=stream,
            confirmed=self.confirmed,
            source=source,
            exclude=exclude,
            order=order,
            after=after,
        )
