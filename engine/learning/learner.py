"""Learning off the answer path: a validated paid answer becomes a suggestion in the background.

The pipeline calls :meth:`Learner.schedule` once the answer is final. ``schedule`` writes one
row (a ``queued`` suggestion holding the task and the code, so its id can be returned with the
answer) and starts the work as a background task; it never waits for it. The work, cheapest
first:

0. the code is what an existing template renders for this wording: an alias of it
   (:mod:`engine.learning.aliases`), no model call;
1. a task with no values: a zero-slot template (its canonical wording), no model call;
2. deterministic parameterisation (:mod:`engine.learning.literals`): the task's literals
   aligned with the code's, accepted only if the review checks pass; no model call;
3. otherwise a model, the cheapest provider, with a compact prompt
   (:func:`engine.learning.suggest.build_messages`).

The row then becomes ``pending`` (or is accepted under ``[learning] auto_accept_confidence``).

Who waits: the app and ``templar batch`` keep running, so the work finishes in the background
(batch awaits :meth:`Learner.settle` before it exits). ``templar generate`` prints the answer
first and then awaits ``settle`` before the process exits. A row left ``queued`` (the process
was killed, or the loop closed first) is processed by ``templar templates suggest``.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.errors import TemplarError
from engine.events import Emit, TemplateLearned
from engine.learning.body import Param
from engine.learning.literals import propose
from engine.learning.review import check
from engine.learning.suggest import build_messages, parse_suggestion
from engine.learning.zeroslot import has_no_values, zero_slot_name, zero_slot_pattern
from engine.logs import get_logger

if TYPE_CHECKING:
    from engine.config.schema import Settings
    from engine.service import Engine

_log = get_logger("learning")


def _ignore(_event: Any) -> None:
    return None


@dataclass(frozen=True)
class LearningJob:
    """One validated paid answer to learn from."""

    settings: Settings
    task: str
    code: str
    generation_cost_micros: int  # what the answer cost: a template's counterfactual saving
    refs: Any
    request_id: str
    project: str
    agent: str
    confirmed: bool = False
    model_allowed: bool = True  # False: the request's max_usd leaves no room for a suggestion call


class Learner:
    """Schedules and runs learning jobs for one ``Engine``; ``settle`` awaits the running ones."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._running: set[asyncio.Task[None]] = set()
        self._jobs: dict[int, asyncio.Task[None]] = {}

    async def schedule(self, job: LearningJob, record: Emit | None = None) -> int:
        """Queue ``job`` (one row) and start it in the background; returns the suggestion id."""
        view = await self.engine.store.run(
            functools.partial(
                self.engine.library.add_suggestion,
                task=job.task,
                code=job.code,
                pattern="",
                params=[],
                confidence=0.0,
                reason="queued: learning runs after the answer",
                provider="",
                model="",
                cost_micros=job.generation_cost_micros,
                request_id=job.request_id,
                project=job.project,
                agent=job.agent,
                status="queued",
            )
        )
        task = asyncio.get_running_loop().create_task(self._run(view.id, job, record or _ignore))
        self._running.add(task)
        self._jobs[view.id] = task
        task.add_done_callback(self._running.discard)
        task.add_done_callback(functools.partial(self._forget, view.id))
        return view.id

    def _forget(self, suggestion_id: int, _task: asyncio.Task[None]) -> None:
        self._jobs.pop(suggestion_id, None)

    async def wait(self, suggestion_id: int) -> None:
        """Wait for the job that fills ``suggestion_id`` (at once if none is running)."""
        task = self._jobs.get(suggestion_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def settle(self) -> None:
        """Wait for every scheduled job (new ones started meanwhile included)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    @property
    def busy(self) -> int:
        return len(self._running)

    async def _run(self, suggestion_id: int, job: LearningJob, record: Emit) -> None:
        try:
            status = await self.learn(suggestion_id, job, record)
        except Exception as exc:  # noqa: BLE001 - learning trouble never reaches the answer
            _log.warning("learning from request %s failed: %s", job.request_id, exc)
            return
        record(TemplateLearned(suggestion_id, status))

    async def learn(self, suggestion_id: int, job: LearningJob, record: Emit) -> str:
        """Fill the queued suggestion, cheapest way first; returns its status."""
        library = self.engine.library
        alias = await self.engine.store.run(library.find_alias, job.task, job.code)
        if alias is not None:  # the same code as an existing template: an alias, not a duplicate
            await self._fill(
                suggestion_id,
                pattern=alias.pattern,
                params=alias.params,
                name=f"alias of template {alias.template_id}",
                confidence=1.0,
                alias_of=alias.template_id,
            )
            return await self._maybe_accept(suggestion_id, job.settings, True, unseen=True)
        if has_no_values(job.task):  # nothing to parameterise: a zero-slot template, no model call
            pattern = zero_slot_pattern(job.task)
            await self._fill(
                suggestion_id,
                pattern=pattern or "",
                name=zero_slot_name(job.task),
                confidence=1.0 if pattern else 0.0,
                reason="" if pattern else "the task's wording cannot serve as a pattern",
            )
            return await self._maybe_accept(suggestion_id, job.settings, bool(pattern), unseen=False)
        proposal = propose(job.task, job.code) if job.settings.learning.deterministic else None
        if proposal is not None:
            preview = await asyncio.to_thread(
                check, job.task, job.code, proposal.pattern, proposal.params, library.validator_factory()
            )
            if preview.ok:
                await self._fill(
                    suggestion_id,
                    pattern=proposal.pattern,
                    params=proposal.params,
                    name=proposal.name,
                    confidence=proposal.confidence,
                )
                return await self._maybe_accept(suggestion_id, job.settings, True, unseen=True)
        return await self._ask_model(suggestion_id, job, record)

    async def _ask_model(self, suggestion_id: int, job: LearningJob, record: Emit) -> str:
        from engine.llm.chain import ChainRequest
        from engine.pipeline import cheapest_first

        settings = job.settings
        if not job.model_allowed:
            await self._fill(suggestion_id, reason="no suggestion: the request's max_usd leaves no room for the call")
            return "pending"
        names = (
            [settings.learning.suggest_provider] if settings.learning.suggest_provider else list(settings.chain.order)
        )
        request = ChainRequest(
            messages=build_messages(job.task, job.code),
            max_tokens=300,
            temperature=0.0,
            request_id=job.request_id,
            project=job.project,
            agent=job.agent,
            refs=job.refs,
            confirmed=job.confirmed,
            source="suggest",
            order=cheapest_first(settings, names),
        )
        try:
            answer = await self.engine.chain.complete(settings, request, record)
        except TemplarError as exc:
            await self._fill(suggestion_id, reason=f"no suggestion: {exc}")
            return "pending"
        parsed = parse_suggestion(answer.text)
        await self._fill(
            suggestion_id,
            pattern=parsed.pattern,
            params=parsed.params,
            name=parsed.name,
            confidence=parsed.confidence,
            reason="; ".join(parsed.problems),
            provider=answer.provider,
            model=answer.model,
        )
        threshold = settings.learning.auto_accept_confidence
        good = not parsed.problems and threshold > 0 and parsed.confidence >= threshold
        return await self._maybe_accept(suggestion_id, settings, good, unseen=True)

    async def _fill(
        self,
        suggestion_id: int,
        *,
        pattern: str = "",
        params: list[Param] | None = None,
        name: str = "",
        confidence: float = 0.0,
        reason: str = "",
        provider: str = "",
        model: str = "",
        alias_of: int | None = None,
    ) -> None:
        """Give the queued suggestion what this step found (an empty one: why there is none)."""
        await self.engine.store.run(
            functools.partial(
                self.engine.library.fill_suggestion,
                suggestion_id,
                pattern=pattern,
                params=list(params or []),
                name=name,
                confidence=confidence,
                reason=reason,
                provider=provider,
                model=model,
                alias_of=alias_of,
            )
        )

    async def _maybe_accept(self, suggestion_id: int, settings: Settings, eligible: bool, *, unseen: bool) -> str:
        """Accept under the auto-accept policy (``auto_accept_confidence > 0``), else leave pending."""
        if not eligible or settings.learning.auto_accept_confidence <= 0:
            return "pending"
        try:
            await self.engine.store.run(functools.partial(self.engine.library.accept, suggestion_id, unseen=unseen))
        except TemplarError:
            return "pending"
        return "accepted"

    async def process_queued(self, settings_for: Any) -> list[dict[str, Any]]:
        """Learn from every ``queued`` row left by an earlier process (``templar templates suggest``).
        ``settings_for(project, agent)`` gives the settings of the row's scope."""
        from engine.budget.book import budget_refs

        out = []
        for view in await self.engine.store.run(self.engine.library.suggestions, "queued"):
            settings = settings_for(view.project, view.agent)
            refs = budget_refs(settings, view.project, view.agent, self.engine.clock())
            job = LearningJob(
                settings,
                view.task,
                view.code,
                view.cost_micros,
                refs,
                str(uuid.uuid4()),
                view.project,
                view.agent,
                confirmed=True,
            )
            try:
                status = await self.learn(view.id, job, _ignore)
            except TemplarError as exc:
                status = f"failed: {exc}"
            out.append({"suggestion": view.id, "status": status})
        return out


__all__ = ["Learner", "LearningJob"]
