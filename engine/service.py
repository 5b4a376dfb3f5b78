"""The composition root: ``Engine`` wires config, store, budgets, cache and the provider chain.

The TUI and the CLI receive an ``Engine``; tests build one on a temporary directory with the
fake provider server. Everything slow (database, providers) is async and off the event loop;
``Engine.from_settings`` reconciles reservations a killed process left behind.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Callable

from engine import cache as response_cache
from engine.budget.book import BudgetBook, BudgetStatus, budget_refs, day_of
from engine.config import ResolvedConfig, load_config
from engine.config.schema import Settings
from engine.events import Emit, Event, Finished, LookupResult, ValidationDone
from engine.llm.chain import ChainRequest, CooldownBoard, ProviderChain, Sleep
from engine.paths import Paths
from engine.store.db import Store, sqlite_url
from engine.store.models import LedgerEntry
from engine.text import clean_task, extract_code
from engine.validation import ValidationPolicy, validate_async

DEFAULT_PROJECT = "default"
DEFAULT_AGENT = "default"


@dataclass
class GenerationResult:
    request_id: str
    source: str  # learned | builtin | cache | llm
    code: str
    text: str
    provider: str = ""
    model: str = ""
    attempts: int = 0
    cost_micros: int = 0
    saved_micros: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    events: list[Event] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "request_id": self.request_id,
            "source": self.source,
            "provider": self.provider,
            "model": self.model,
            "attempts": self.attempts,
            "cost_usd": self.cost_micros / 1e6,
            "saved_usd": self.saved_micros / 1e6,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "code": self.code,
            "events": [e.to_dict() for e in self.events],
        }
        data.update(self.extra)
        return data


def build_messages(settings: Settings, task: str) -> list[dict[str, str]]:
    """System and user messages. The task is substituted literally: braces in it stay inert."""
    prompt = settings.prompts.task.replace("{language}", settings.generation.language).replace("{task}", task)
    return [{"role": "system", "content": settings.prompts.system}, {"role": "user", "content": prompt}]


class Engine:
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
        self.board = CooldownBoard()
        self.chain = ProviderChain(store, self.book, board=self.board, sleep=sleep, environ=environ)

    @classmethod
    def from_settings(cls, paths: Paths | None = None, *, url: str | None = None, reconcile: bool = True, **kwargs: Any) -> "Engine":
        """Open the configured store (migrating it) and reconcile orphaned reservations."""
        paths = paths or Paths.from_env()
        system = load_config(paths, environ=kwargs.get("environ"))
        url = url or system.settings.store.url or sqlite_url(paths.ensure().default_db)
        store = Store.open(url)
        engine = cls(paths, store, **kwargs)
        if reconcile:
            store.call(engine.book.reconcile)
        return engine

    def close(self) -> None:
        self.store.close()

    # -- configuration ------------------------------------------------------------------------

    def config(self, project: str | None = None, agent: str | None = None) -> ResolvedConfig:
        return load_config(self.paths, project, agent, environ=self.environ)

    # -- generation ---------------------------------------------------------------------------

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
        emit: Emit | None = None,
    ) -> GenerationResult:
        """Answer ``task`` from the cheapest source that can: cache, then the provider chain."""
        task = clean_task(task)
        project = project or DEFAULT_PROJECT
        agent = agent or DEFAULT_AGENT
        resolved = self.config(project, agent)
        settings = resolved.settings
        events: list[Event] = []

        def record(event: Event) -> None:
            events.append(event)
            if emit is not None:
                emit(event)

        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        messages = build_messages(settings, task)
        max_tokens = max_tokens or settings.generation.max_tokens
        key = response_cache.cache_key(
            system=messages[0]["content"],
            prompt=messages[1]["content"],
            models=[settings.providers[n].model for n in settings.chain.order],
            params={"max_tokens": max_tokens, "temperature": settings.generation.temperature},
            prompt_version=settings.prompts.version,
        )
        if settings.cache.enabled and use_cache:
            hit = await self.store.run(response_cache.get, key, self.clock())
            record(LookupResult("cache", hit is not None, f"{hit.hits} hits" if hit else ""))
            if hit is not None:
                latency = int((time.perf_counter() - started) * 1000)
                await self.store.run(
                    self._record_free, request_id, project, agent, "cache", hit.provider, hit.model,
                    hit.cost_micros, latency,
                )
                record(Finished("cache", 0.0, hit.cost_micros / 1e6))
                return GenerationResult(
                    request_id, "cache", hit.code, hit.text, hit.provider, hit.model, 0, 0, hit.cost_micros,
                    0, 0, latency, events,
                )
        refs = budget_refs(settings, project, agent, self.clock())
        result = await self.chain.complete(
            settings,
            ChainRequest(
                messages, max_tokens, settings.generation.temperature, request_id, project, agent, refs,
                stream=stream, confirmed=confirmed,
            ),
            record,
        )
        code = extract_code(result.text, settings.generation.language)
        report = await validate_async(code, policy=validation_policy(settings))
        record(ValidationDone(report.ok, report.score, len(report.findings)))
        if settings.cache.enabled and code.strip() and report.ok:
            await self.store.run(
                response_cache.put, key, provider=result.provider, model=result.model, text=result.text, code=code,
                tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_micros=result.cost_micros,
                ttl_s=settings.cache.ttl_s, max_entries=settings.cache.max_entries, now=self.clock(),
            )
        latency = int((time.perf_counter() - started) * 1000)
        record(Finished("llm", result.cost_micros / 1e6, 0.0))
        return GenerationResult(
            request_id, "llm", code, result.text, result.provider, result.model, result.attempts,
            result.cost_micros, 0, result.tokens_in, result.tokens_out, latency, events,
            extra={"validation": report.to_dict()},
        )

    async def generate_events(self, task: str, **kwargs: Any) -> AsyncIterator[Event | GenerationResult]:
        """The same as ``generate``, as an async stream of events ending with the result."""
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
                    return
        finally:
            if not job.done():
                job.cancel()

    def _record_free(
        self, request_id: str, project: str, agent: str, source: str, provider: str, model: str,
        saved: int, latency: int,
    ) -> None:
        now = self.clock()
        LedgerEntry.create(
            ts=now, day=day_of(now), request_id=request_id, project=project, agent=agent, source=source,
            provider=provider, model=model, saved_micros=saved, latency_ms=latency, outcome="ok",
            owner=self.book.owner,
        )

    # -- budgets ------------------------------------------------------------------------------

    async def budget_status(self, project: str | None = None, agent: str | None = None) -> list[BudgetStatus]:
        project = project or DEFAULT_PROJECT
        agent = agent or DEFAULT_AGENT
        settings = self.config(project, agent).settings
        refs = budget_refs(settings, project, agent, self.clock())
        return await self.store.run(self.book.status, refs, settings.alerts.thresholds())


def validation_policy(settings: Settings) -> ValidationPolicy:
    v = settings.validation
    return ValidationPolicy(
        block_severity=v.block_severity, min_type_hint_coverage=v.min_type_hint_coverage,
        min_docstring_coverage=v.min_docstring_coverage, coverage_blocks=v.coverage_blocks,
    )
