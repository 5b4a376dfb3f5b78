"""The provider chain: ordered providers, retries with backoff, cooldown, budget admission.

For each provider in order (re-ordered by price at L3, cut to the cheapest at L4):

    skip it if it is cooling down, has no API key, no known price, or too small a context
    for attempt in 1..N:
        reserve the worst case on every budget (atomic; refusal -> next provider)
        call litellm once (its own retries are off)
        success -> settle to the real cost, done
        failure -> release; retryable -> back off (2 s, 4 s, 8 s ... jittered, capped, or the
                   provider's Retry-After, capped) and try again; otherwise next provider

Time is bounded. Each attempt runs under a wall deadline (``asyncio.timeout``) of its provider's
``timeout_s``, streaming included, so a server dripping one byte a second cannot hold it. The
whole call has a wall deadline, ``chain.deadline_s``: no attempt runs and no backoff sleeps past
it, an attempt in flight is cut at it, and then the call fails with ``DeadlineExceeded``. A
Retry-After longer than ``chain.retry_after_max_s`` is not waited for: that key cools down for
the time asked and the next provider is tried at once. Cooldown records are per endpoint or per
credential (see ``engine.llm.cooldown``). Candidate selection and ordering live in
``engine.llm.selection``; cooldown, backoff and the retry decision in ``engine.llm.backoff``.

Invariants: every attempt is a ledger row and an event; every reservation is settled or
released before the next step, a timed-out attempt's included; the sleep and clock are
injectable, so tests check the backoff schedule and the deadlines without waiting.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from engine.budget.book import BudgetBook, BudgetRef, Held, LedgerFields
from engine.budget.levels import LEVEL_NAMES, WARNING
from engine.budget.refs import Crossing
from engine.budget.usage import judge_usage
from engine.config.schema import ProviderSettings, Settings
from engine.errors import BudgetRefused
from engine.events import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    BudgetLevelCrossed,
    Emit,
    Preparing,
    ProviderSkipped,
    StreamRestarted,
    TokensStreamed,
    UsageAnomaly,
)
from engine.llm import adapter
from engine.llm.backoff import BackoffMixin, Sleep
from engine.llm.cooldown import CooldownBoard, credential_key, health_key
from engine.llm.failures import AttemptTimedOut, classify
from engine.llm.outcome import (
    Answered,
    Candidate,
    ChainResult,
    Failed,
    MovedOn,
    Next,
    Outcome,
    Run,
    RunView,
    Settled,
    Target,
)
from engine.llm.pricing import how_to_price, price_for
from engine.llm.selection import (
    admit,
    cooldown_records,
    count_prompt_tokens,
    exhausted_error,
    reorder,
    window_reason,
)
from engine.logs import get_logger
from engine.money import micros_to_usd
from engine.scrub import remember_names, remember_value
from engine.store.db import Store

log = get_logger("chain")
budget_log = get_logger("budget")
__all__ = ["ChainRequest", "ChainResult", "CooldownBoard", "ProviderChain", "Sleep", "health_key"]


#: What ``ChainRequest.after`` returns: database work for the settle's hop, or None.
DbWork = Callable[[], object]
AfterAnswer = Callable[["ChainResult"], Awaitable[DbWork | None]]


def settle_with(settle: Callable[[], list[Crossing]], work: DbWork | None) -> list[Crossing]:
    """A paid answer's settle and the caller's database work (``ChainRequest.after``) in one hop;
    the settle is committed first, so a failing ``work`` never loses the ledger row."""
    crossings = settle()
    if work is not None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - the answer is paid and booked; the extra is not vital
            log.warning("after-settle work failed: %s: %s", type(exc).__name__, exc)
    return crossings


@dataclass(frozen=True)
class ChainRequest:
    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float
    request_id: str
    project: str
    agent: str
    refs: list[BudgetRef]
    stream: bool = False
    confirmed: bool = False
    source: str = "llm"
    exclude: tuple[str, ...] = ()  # provider names not to use (e.g. the author, for review)
    order: tuple[str, ...] | None = None  # override the configured order
    # run on a successful answer before it is settled; the database work it returns (e.g. caching
    # the validated answer) joins the settle's hop, so a paid answer is two hops: reserve, settle
    after: AfterAnswer | None = None


class ProviderChain(BackoffMixin):
    def __init__(
        self,
        store: Store,
        book: BudgetBook,
        *,
        board: CooldownBoard | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.store = store
        self.book = book
        self.board = board or CooldownBoard(store)
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.environ = environ

    def _key(self, provider: ProviderSettings) -> str | None:
        if not provider.api_key_env:
            return None
        env = os.environ if self.environ is None else self.environ
        value = env.get(provider.api_key_env) or ""
        remember_names([provider.api_key_env])
        remember_value(value)  # the scrubber masks any piece of it on every error path
        return value

    def _preflight(
        self, refs: list[BudgetRef], thresholds: list[float], watched: list[str]
    ) -> tuple[int, dict[str, tuple[int, float]]]:
        """One hop before any call: the budgets' alert level and the providers' health."""
        statuses = self.book.status(refs, thresholds)
        return max((s.level for s in statuses), default=0), self.board.state(watched)

    async def complete(self, settings: Settings, request: ChainRequest, emit: Emit) -> ChainResult:
        names = [n for n in (request.order or tuple(settings.chain.order)) if n not in request.exclude]
        candidates = [Candidate(n, settings.providers[n], None) for n in names]
        # the health of every candidate (the order may change below; the set does not)
        watched = [health_key(c.settings) for c in candidates]
        watched += [credential_key(c.settings, self._key(c.settings)) for c in candidates]
        level, health = await self.store.run(self._preflight, request.refs, settings.alerts.thresholds(), watched)
        admit(settings, request.request_id, request.confirmed, level)
        keyed = [c for c in candidates if self._key(c.settings) != ""]
        if keyed and not adapter.is_loaded():
            emit(Preparing("loading the LLM client (first paid call in this process: a few seconds)"))
            await asyncio.to_thread(adapter.litellm)  # seconds of CPU: never on the caller's loop
        unpriced: list[str] = []
        for cand in keyed:  # a provider without its key is skipped anyway: pricing it is wasted work
            cand.price = price_for(cand.settings.model, settings)
            if cand.price is None:
                unpriced.append(cand.settings.model)
        if level >= WARNING:
            candidates = reorder(candidates, level, emit)
        run = Run(deadline=self.clock() + settings.chain.deadline_s)
        run.health = health
        for cand in candidates:
            if self.clock() >= run.deadline:
                run.out_of_time = True
                break
            outcome = await self._try_provider(settings, request, cand, emit, run.view())
            if isinstance(outcome, Answered):
                return outcome.result
            run.fold(cand.name, outcome)
        raise exhausted_error(settings, run, unpriced, keyed)

    async def _release_late(self, reserving: asyncio.Future[Held]) -> None:
        try:
            held = await reserving
        except BaseException:  # noqa: BLE001 - refused or failed: nothing is held
            return
        await asyncio.shield(self.store.run(self.book.release, held, outcome="error", error_class="cancelled"))

    async def _try_provider(
        self,
        settings: Settings,
        request: ChainRequest,
        cand: Candidate,
        emit: Emit,
        run: RunView,
    ) -> Outcome:
        """Every attempt at one provider: ``Answered``, or ``MovedOn`` saying why not. Reads the
        run's state through ``run``; changes nothing of it (``complete`` folds the outcome in)."""
        target = await self._target(request, cand, run)
        if not isinstance(target, Target):
            shown, summary = target
            emit(ProviderSkipped(cand.name, cand.settings.model, shown))
            return MovedOn(reason=summary)
        api_key = target.api_key
        made, reason, timed_out = 0, None, False
        for attempt in range(1, settings.chain.attempts + 1):
            if run.deadline - self.clock() <= 0:
                return MovedOn(attempts=made, reason=reason, out_of_time=True)
            held = await self._reserve(request, target, attempt, emit)
            if isinstance(held, MovedOn):
                return MovedOn(attempts=made, reason=held.reason, refused=held.refused)
            made += 1
            step = await self._attempt(settings, request, target, attempt, held, emit, run.deadline)
            if isinstance(step, Settled):
                return Answered(
                    await self._answer(settings, request, target, attempt, held, step, emit, run.attempts + made)
                )
            reason = f"{step.failure.error_class} ({step.failure.message[:120]})"
            timed_out = timed_out or step.out_of_time
            after = await self._after_failure(settings, cand, api_key, step.failure, attempt, emit, run.deadline)
            if after is not Next.RETRY:
                return MovedOn(attempts=made, reason=reason, out_of_time=timed_out or after is Next.OUT_OF_TIME)
        return MovedOn(attempts=made, reason=reason, out_of_time=timed_out)

    async def _target(self, request: ChainRequest, cand: Candidate, run: RunView) -> Target | tuple[str, str]:
        """The provider ready to attempt, or why not to call it at all (the event's text, the
        summary's): cooling down, no key, no price, or a prompt its context window cannot take."""
        provider = cand.settings
        api_key = self._key(provider)
        records = cooldown_records(run, provider, api_key)
        wait = max(until for _, until in records) - self.clock()
        if wait > 0:
            reason = f"cooling down for {wait:.0f}s after repeated failures"
            return reason, reason
        if api_key == "":
            reason = f"no API key: set {provider.api_key_env}"
            return reason, reason
        if cand.price is None:
            return how_to_price(provider.model), "price unknown"
        prompt_tokens = await count_prompt_tokens(provider, request.messages)
        window = window_reason(provider, prompt_tokens)
        if window is not None:
            return window
        return Target(
            cand,
            cand.price,
            api_key,
            cand.price.cost(prompt_tokens, request.max_tokens),
            prompt_tokens,
            dirty=any(failures > 0 for failures, _ in records),
        )

    async def _reserve(self, request: ChainRequest, target: Target, attempt: int, emit: Emit) -> Held | MovedOn:
        """Hold the worst case on every budget, or say the budget refused (``MovedOn``)."""
        cand, provider = target.cand, target.cand.settings
        fields = LedgerFields(
            request_id=request.request_id,
            project=request.project,
            agent=request.agent,
            source=request.source,
            provider=cand.name,
            model=provider.model,
            attempt=attempt,
            tokens_in=target.prompt_tokens,
        )
        reserving = asyncio.ensure_future(self.store.run(self.book.reserve, request.refs, target.worst, fields))
        try:
            held = await asyncio.shield(reserving)
        except asyncio.CancelledError:
            # cancelled while the reservation was being written: it still lands on the DB
            # thread, so wait for it and give it back instead of leaving it held
            await self._release_late(reserving)
            raise
        except BudgetRefused as exc:
            budget_log.warning("%s (%s) refused by budget: %s", cand.name, provider.model, exc)
            emit(ProviderSkipped(cand.name, provider.model, f"budget: {exc}"))
            return MovedOn(reason=f"budget: {exc}", refused=str(exc))
        emit(AttemptStarted(cand.name, provider.model, attempt, micros_to_usd(target.worst), request.source))
        return held

    async def _attempt(
        self,
        settings: Settings,
        request: ChainRequest,
        target: Target,
        attempt: int,
        held: Held,
        emit: Emit,
        deadline: float,
    ) -> Settled | Failed:
        """One call under its wall deadline; a failure releases ``held`` before returning."""
        cand, provider = target.cand, target.cand.settings
        started = time.perf_counter()
        streamed = False

        def on_text(piece: str) -> None:
            nonlocal streamed
            streamed = True
            emit(TokensStreamed(cand.name, piece))

        # the attempt's wall deadline: its timeout_s, or what is left of the chain's
        limit = min(provider.timeout_s, max(0.001, deadline - self.clock()))
        try:
            completion = await _call(
                provider, target.api_key, request, on_text if request.stream else None, limit, settings.chain.deadline_s
            )
        except asyncio.CancelledError:
            await asyncio.shield(self.store.run(self.book.release, held, outcome="error", error_class="cancelled"))
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure is classified
            failure = classify(exc)
            await self.store.run(
                self.book.release, held, outcome="error", error_class=failure.error_class, latency_ms=_ms_since(started)
            )
            if streamed:
                emit(StreamRestarted(cand.name))
            log.warning(
                "%s (%s) attempt %d failed: %s: %s",
                cand.name,
                provider.model,
                attempt,
                failure.error_class,
                failure.message,
            )
            emit(
                AttemptFailed(
                    cand.name, provider.model, attempt, failure.error_class, failure.message, failure.retryable
                )
            )
            return Failed(failure, out_of_time=limit < provider.timeout_s and isinstance(exc, AttemptTimedOut))
        return Settled(completion, _ms_since(started))

    async def _answer(
        self,
        settings: Settings,
        request: ChainRequest,
        target: Target,
        attempt: int,
        held: Held,
        step: Settled,
        emit: Emit,
        attempts: int,
    ) -> ChainResult:
        """Settle a successful attempt to its real cost (usage is a claim: at most the worst case)."""
        cand, provider, completion = target.cand, target.cand.settings, step.completion
        claimed = target.price.cost(completion.tokens_in, completion.tokens_out)
        # the book charges at most the worst case (and records an anomaly); the same judgement
        # gives what this attempt reports
        usage = judge_usage(
            claimed, completion.tokens_in, completion.tokens_out, held.amount_micros, measured=completion.usage_measured
        )
        settle = functools.partial(
            self.book.settle,
            held,
            claimed,
            refs=request.refs,
            thresholds=settings.alerts.thresholds(),
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            latency_ms=step.latency_ms,
            estimated=not completion.usage_measured,
        )
        result = ChainResult(
            text=completion.text,
            provider=cand.name,
            model=provider.model,
            attempts=attempts,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost_micros=usage.charge_micros,
            latency_ms=step.latency_ms,
            usage_measured=completion.usage_measured and usage.believed,
        )
        emit(
            AttemptSucceeded(
                cand.name,
                provider.model,
                attempt,
                usage.tokens_in,
                usage.tokens_out,
                micros_to_usd(usage.charge_micros),
                step.latency_ms,
            )
        )
        if usage.anomaly is not None:
            emit(
                UsageAnomaly(
                    cand.name,
                    provider.model,
                    usage.anomaly,
                    claimed if isinstance(claimed, int) else None,
                    usage.charge_micros,
                )
            )
        work: DbWork | None = None
        if request.after is not None:
            try:
                work = await request.after(result)
            except BaseException:  # cancelled or failed while the caller checked the answer: settle anyway
                await asyncio.shield(self.store.run(settle))
                raise
        crossings = await self.store.run(settle_with, settle, work)
        if target.dirty or attempt > 1:  # a success must clear failures recorded by anyone
            await self.store.run(self.board.succeeded, health_key(provider), credential_key(provider, target.api_key))
        for c in crossings:
            emit(
                BudgetLevelCrossed(
                    c.scope,
                    c.key,
                    c.period,
                    c.level,
                    LEVEL_NAMES[c.level],
                    round(c.percent, 2),
                    c.used_micros,
                    c.limit_micros,
                )
            )
        return result


async def _call(
    provider: ProviderSettings,
    api_key: str | None,
    request: ChainRequest,
    on_text: Callable[[str], None] | None,
    limit: float,
    chain_deadline_s: float,
) -> adapter.Completion:
    """One provider call under a wall deadline of ``limit`` seconds (``AttemptTimedOut`` past it)."""
    try:
        async with asyncio.timeout(limit):
            return await adapter.complete(
                provider,
                api_key,
                request.messages,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                on_text=on_text,
                timeout_s=limit,
            )
    except TimeoutError as exc:
        if limit < provider.timeout_s:
            why = f"the chain deadline ({chain_deadline_s:g} s, chain.deadline_s) passed"
        else:
            why = f"no complete answer within {provider.timeout_s:g} s (timeout_s, a wall deadline)"
        raise AttemptTimedOut(why) from exc


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
