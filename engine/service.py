"""The composition root: ``Engine`` wires config, store, budgets, cache and the provider chain.

The TUI and the CLI receive an ``Engine``; tests build one on a temporary directory with the
fake provider server. Everything slow (database, providers) is async and off the event loop;
``Engine.from_settings`` reconciles reservations a killed process left behind.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.alerts import AlertDispatcher, Target
from engine.api import FeedbackAPI, GenerateAPI, SuggestionsAPI, TemplatesAPI
from engine.api.budget import BudgetAPI
from engine.api.config import ConfigAPI
from engine.api.doctor import DoctorAPI
from engine.api.stats import StatsAPI
from engine.api.store import StoreAPI
from engine.api.validate import ValidateAPI
from engine.budget.book import BudgetBook, BudgetStatus, budget_refs
from engine.config import ResolvedConfig, load_config
from engine.delivery import refusal
from engine.events import Emit, Event
from engine.llm.chain import CooldownBoard, ProviderChain, Sleep
from engine.paths import Paths
from engine.result import GenerationResult  # re-exported: `from engine.service import GenerationResult`
from engine.store.db import Store, sqlite_url

if TYPE_CHECKING:
    from engine.dry_run import DryRun
    from engine.learning.learner import Learner
    from engine.learning.library import TemplateLibrary, TemplateView
    from engine.pipeline import build_messages, validation_policy

DEFAULT_PROJECT = "default"
DEFAULT_AGENT = "default"


class Engine(
    TemplatesAPI,
    SuggestionsAPI,
    FeedbackAPI,
    GenerateAPI,
    ConfigAPI,
    BudgetAPI,
    StatsAPI,
    DoctorAPI,
    StoreAPI,
    ValidateAPI,
):
    """Everything Templar does, for one data directory and database."""

    def __init__(
        self,
        paths: Paths,
        store: Store,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.paths = paths
        self.store = store
        self.clock = clock
        self.environ = environ
        self.book = BudgetBook(store, clock=clock)
        self.board = CooldownBoard(store)
        self.chain = ProviderChain(store, self.book, board=self.board, sleep=sleep, clock=clock, environ=environ)
        self.alerts = AlertDispatcher()
        self._library: TemplateLibrary | None = None

    # The learned library and the learner are built on first use: a cache hit reads the library's
    # stamp (engine.learning.stamp) and nothing else of it, so it never imports matching or Jinja.
    @property
    def library(self) -> TemplateLibrary:
        if self._library is None:
            from engine.learning.library import TemplateLibrary

            self._library = TemplateLibrary()
        return self._library

    @library.setter
    def library(self, value: TemplateLibrary) -> None:
        self._library = value

    @functools.cached_property
    def learner(self) -> Learner:
        from engine.learning.learner import Learner

        return Learner(self)

    @classmethod
    def from_settings(
        cls,
        paths: Paths | None = None,
        *,
        url: str | None = None,
        reconcile: bool = True,
        unrecorded_ok: bool = False,
        **kwargs: Any,
    ) -> Engine:
        """Open the configured store (migrating it) and reconcile orphaned reservations.
        ``unrecorded_ok``: a read-only SQLite store opens as an in-memory copy (see Store.open)."""
        paths = paths or Paths.from_env()
        system = load_config(paths, environ=kwargs.get("environ"))
        url = url or system.settings.store.url or sqlite_url(paths.ensure().default_db)
        store = Store.open(url, unrecorded_ok=unrecorded_ok)
        engine = cls(paths, store, **kwargs)
        if reconcile:
            store.call(engine.book.reconcile)
        return engine

    def close(self, alert_timeout_s: float = 10.0) -> None:
        """Deliver the alerts still queued (bounded by ``alert_timeout_s``), then close the store."""
        self.alerts.drain(alert_timeout_s)
        self.store.close()

    async def settle_learning(self) -> None:
        """Wait until every paid answer's learning (running in the background) is done."""
        if "learner" in self.__dict__:  # none was built: nothing was scheduled
            await self.learner.settle()

    @property
    def log_file(self) -> Path:
        """Where the ``templar`` CLI and app write the log: ``templar.log`` in the data dir."""
        from engine.logs import log_path

        return log_path(self.paths.data_dir)

    # -- configuration ------------------------------------------------------------------------

    def config(self, project: str | None = None, agent: str | None = None) -> ResolvedConfig:
        return load_config(self.paths, project, agent, environ=self.environ)

    # -- generation ---------------------------------------------------------------------------

    def _alert_target(self, project: str, agent: str) -> Target:
        return Target.from_settings(self.config(project, agent).settings.alerts, self.environ)

    async def generate(
        self,
        task: str,
        *,
        project: str | None = None,
        agent: str | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        confirmed: bool = False,
        use_cache: bool = True,
        use_templates: bool = True,
        critical: bool | None = None,
        emit: Emit | None = None,
        raise_on_invalid: bool = True,
        max_usd: float | None = None,
    ) -> GenerationResult:
        """Answer ``task`` from the cheapest source that can (see ``engine.pipeline``).

        Raises ``ValidationFailed`` (with ``exc.result``) when the answer is not deliverable
        (``engine.delivery``); with ``raise_on_invalid=False`` it returns the result, whose
        ``ok`` is False, so a surface can show it as a failure. ``critical=True`` forces a
        review; ``False`` never downgrades a request that ``[critical]`` rules make critical.
        ``max_usd`` caps what this one request may pay in total (answer, repairs, review,
        suggestion; ``engine.cost_cap``): an answer whose worst case does not fit raises
        ``MaxCostExceeded`` (a ``BudgetRefused``) before any call; a later step that does not fit is
        skipped and said in the result. For what would answer without calling anything, see
        ``dry_run``.
        """
        project, agent = project or DEFAULT_PROJECT, agent or DEFAULT_AGENT
        emit = self.alerts.tap(
            emit, functools.partial(self._alert_target, project, agent), project=project, agent=agent
        )
        from engine.pipeline import CoderAgent  # not imported by the commands that never generate

        result = await CoderAgent(self).run(
            task,
            project=project,
            agent=agent,
            stream=stream,
            max_tokens=max_tokens,
            confirmed=confirmed,
            use_cache=use_cache,
            use_templates=use_templates,
            critical=critical,
            emit=emit,
            max_usd=max_usd,
        )
        delivery = result.delivery
        if raise_on_invalid and not delivery.ok:
            raise refusal(delivery, result)
        return result

    async def dry_run(
        self,
        task: str,
        *,
        project: str | None = None,
        agent: str | None = None,
        max_tokens: int | None = None,
        use_cache: bool = True,
        use_templates: bool = True,
        critical: bool | None = None,
    ) -> DryRun:
        """Which tier would answer ``task`` and, for a paid call, the provider and worst-case cost,
        without calling any provider or recording anything (``engine.dry_run``)."""
        from engine.dry_run import plan

        return await plan(
            self,
            task,
            project=project or DEFAULT_PROJECT,
            agent=agent or DEFAULT_AGENT,
            max_tokens=max_tokens,
            use_cache=use_cache,
            use_templates=use_templates,
            critical=critical,
        )

    async def generate_events(self, task: str, **kwargs: Any) -> AsyncIterator[Event | GenerationResult]:
        """The same as ``generate``, as an async stream of events ending with the result.

        Closing the stream early (or cancelling its consumer) cancels the generation and waits
        for it to finish unwinding, so any budget reservation is released before this returns.
        After the result, the events of the learning it scheduled (``TemplateLearned``) follow
        when that background work is done; a consumer may stop at the result."""
        queue: asyncio.Queue[Event | GenerationResult | BaseException] = asyncio.Queue()

        async def runner() -> None:
            try:
                queue.put_nowait(await self.generate(task, emit=queue.put_nowait, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - delivered to the consumer
                queue.put_nowait(exc)

        job = asyncio.create_task(runner())
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, GenerationResult):
                    sid = item.extra.get("suggestion_id")
                    if isinstance(sid, int):
                        await self.learner.wait(sid)
                    while not queue.empty():
                        late = queue.get_nowait()
                        if isinstance(late, Event):
                            yield late
                    return
        finally:
            if not job.done():
                job.cancel()
                await _settle(job)

    # -- feedback -----------------------------------------------------------------------------

    def report_wrong(self, request_id: str, reason: str) -> Any:
        """Record that a template answer was wrong: reverse its savings, never serve its bindings
        from that template version again, retire the template at ``learning.retire_after_wrong``
        reports (the answer's project and agent settings; see ``engine.feedback``). Returns a
        ``WrongAnswer``. Synchronous: call it from a thread or the CLI."""
        from engine.feedback import answer_scope, report_wrong

        project, agent = self.store.call(answer_scope, request_id) or (DEFAULT_PROJECT, DEFAULT_AGENT)
        retire_after = self.config(project or DEFAULT_PROJECT, agent or None).settings.learning.retire_after_wrong
        return self.store.call(
            report_wrong,
            request_id,
            reason,
            retire_after=retire_after,
            library=self.library,
            now=self.clock(),
            owner=self.book.owner,
        )

    # -- budgets ------------------------------------------------------------------------------

    def allocation(self, apply: bool = False, force: bool = False) -> dict[str, Any]:
        """The allocator's proposal, every figure explained (and, with ``apply``, written to the
        project files). A limit a person set is a cap it never raises without ``force``."""
        from engine.budget.proposal import propose

        return propose(self, apply=apply, force=force)

    async def budget_status(self, project: str | None = None, agent: str | None = None) -> list[BudgetStatus]:
        project = project or DEFAULT_PROJECT
        agent = agent or DEFAULT_AGENT
        settings = self.config(project, agent).settings
        refs = budget_refs(settings, project, agent, self.clock())
        return await self.store.run(self.book.status, refs, settings.alerts.thresholds())

    # -- reads --------------------------------------------------------------------------------

    async def templates(self, include_retired: bool = False) -> list[TemplateView]:
        """Learned templates, oldest first (active only unless ``include_retired``)."""
        return await self.store.run(self.library.templates, None if include_retired else "active")

    async def stats(
        self,
        since: float | None = None,
        by: str | None = None,
        *,
        false_hits: bool = True,
        fold_templates: bool = False,
    ) -> dict[str, Any]:
        """Calls, tokens, cost, savings, hit rates, latency and failures since ``since`` (epoch
        seconds; None = all time), optionally grouped ``by`` provider, model, project, agent, day or source.
        ``false_hits=False`` skips the per-template false-hit table (``false_hits`` is then None);
        ``fold_templates`` counts template answers as one ``-`` group of ``by="model"`` (a template's
        name is its ``model``), so the read follows the models, not the library."""
        from engine.stats import compute_stats

        return await self.store.run(compute_stats, since, by, with_false_hits=false_hits, fold_templates=fold_templates)


async def _settle(job: asyncio.Task[None]) -> None:
    """Wait until a cancelled ``job`` has finished (its reservations released), even if the
    waiting task is itself cancelled again meanwhile; a repeated cancel is re-raised after."""
    interrupted = False
    while not job.done():
        try:
            await asyncio.wait({job})
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


def __getattr__(name: str) -> Any:
    """``build_messages`` and ``validation_policy``, re-exported from ``engine.pipeline`` on first
    use: ``templar stats``, ``budget`` and the like do not import the generation pipeline."""
    if name in ("build_messages", "validation_policy"):
        from engine import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_AGENT", "DEFAULT_PROJECT", "Engine", "GenerationResult", "build_messages", "validation_policy"]
