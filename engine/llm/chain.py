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
credential (see ``engine.llm.cooldown``).

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
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from engine.budget.book import BudgetBook, BudgetRef, Held, LedgerFields
from engine.budget.levels import CRITICAL, EXHAUSTED, HIGH, LEVEL_NAMES, WARNING
from engine.config.schema import ProviderSettings, Settings
from engine.budget.usage import judge_usage
from engine.errors import BudgetRefused, ConfirmationRequired, DeadlineExceeded, NoProviderAvailable, PriceUnknown
from engine.events import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    Backoff,
    BudgetLevelCrossed,
    ChainReordered,
    Emit,
    Preparing,
    ProviderCooledDown,
    ProviderSkipped,
    StreamRestarted,
    TokensStreamed,
    UsageAnomaly,
)
from engine.llm import adapter
from engine.llm.cooldown import MAX_COOLDOWN_S, CooldownBoard, credential_key, health_key, scope_key
from engine.llm.failures import AttemptTimedOut, Failure, classify
from engine.llm.pricing import Price, how_to_price, price_for
from engine.logs import get_logger
from engine.scrub import remember_names, remember_value
from engine.store.db import Store

Sleep = Callable[[float], Awaitable[None]]
log = get_logger("chain")
budget_log = get_logger("budget")
__all__ = ["ChainRequest", "ChainResult", "CooldownBoard", "ProviderChain", "Sleep", "health_key"]


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


@dataclass(frozen=True)
class ChainResult:
    text: str
    provider: str
    model: str
    attempts: int
    tokens_in: int
    tokens_out: int
    cost_micros: int
    latency_ms: int
    usage_measured: bool


@dataclass
class _Candidate:
    name: str
    settings: ProviderSettings
    price: Price | None


@dataclass
class _Run:
    """What one chain call has learned so far (shared by its providers' attempts)."""

    deadline: float  # clock() value after which nothing new starts
    attempts: int = 0
    last: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    health: dict[str, tuple[int, float]] = field(default_factory=dict)
    out_of_time: bool = False


class ProviderChain:
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

    def backoff_delay(self, settings: Settings, attempt: int, failure: Failure) -> float:
        """Delay before attempt ``attempt + 1``: Retry-After if given, else 2^(n-1) x base, jittered."""
        chain = settings.chain
        if failure.retry_after_s is not None:
            return min(failure.retry_after_s, chain.retry_after_max_s)
        delay = chain.backoff_base_s * (2 ** (attempt - 1))
        if chain.jitter:
            delay *= 1 + self.rng.uniform(-chain.jitter, chain.jitter)
        return max(0.0, min(delay, chain.backoff_max_s))

    def _key(self, provider: ProviderSettings) -> str | None:
        if not provider.api_key_env:
            return None
        env = os.environ if self.environ is None else self.environ
        value = env.get(provider.api_key_env) or ""
        remember_names([provider.api_key_env])
        remember_value(value)  # the scrubber masks any piece of it on every error path
        return value

    async def _level(self, settings: Settings, refs: list[BudgetRef]) -> int:
        statuses = await self.store.run(self.book.status, refs, settings.alerts.thresholds())
        return max((s.level for s in statuses), default=0)

    async def complete(self, settings: Settings, request: ChainRequest, emit: Emit) -> ChainResult:
        names = [n for n in (request.order or tuple(settings.chain.order)) if n not in request.exclude]
        level = await self._level(settings, request.refs)
        if level >= EXHAUSTED:
            budget_log.warning("paid call refused: budget exhausted (L6), request %s", request.request_id)
            raise BudgetRefused(
                "budget exhausted (L6): paid calls are refused; templates and cache still answer. "
                "See `templar budget`."
            )
        if level >= CRITICAL and settings.alerts.confirm_at_critical and not request.confirmed:
            raise ConfirmationRequired(
                "budget critical (L5): confirm this paid call (--yes on the command line)"
            )
        candidates = [_Candidate(n, settings.providers[n], None) for n in names]
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
            priced = sorted(
                (c for c in candidates if c.price is not None),
                key=lambda c: c.price.input_usd_per_mtok + c.price.output_usd_per_mtok,  # type: ignore[union-attr]
            )
            if level >= HIGH:
                priced = priced[:1]
            reason = "cheapest provider only" if level >= HIGH else "prefer cheaper providers"
            candidates = priced + ([] if level >= HIGH else [c for c in candidates if c.price is None])
            emit(ChainReordered(level, tuple(c.name for c in candidates), f"L{level} {LEVEL_NAMES[level]}: {reason}"))

        run = _Run(deadline=self.clock() + settings.chain.deadline_s)
        watched = [health_key(c.settings) for c in candidates]
        watched += [credential_key(c.settings, self._key(c.settings)) for c in candidates]
        run.health = await self.store.run(self.board.state, watched)
        for cand in candidates:
            if self.clock() >= run.deadline:
                run.out_of_time = True
                break
            result = await self._try_provider(settings, request, cand, emit, run)
            if result is not None:
                return result
        summary = "; ".join(f"{name}: {why}" for name, why in run.last.items()) or "the chain is empty"
        if run.out_of_time:
            raise DeadlineExceeded(
                f"no provider answered within the chain deadline ({settings.chain.deadline_s:g} s, "
                f"chain.deadline_s) ({summary})"
            )
        if unpriced and len(unpriced) == len(keyed):
            raise PriceUnknown(how_to_price(unpriced[0]))
        if run.refused and not any(v for k, v in run.last.items() if not v.startswith("budget")):
            raise BudgetRefused("; ".join(run.refused))
        raise NoProviderAvailable(f"no provider could answer ({summary})")

    async def _release_late(self, reserving: "asyncio.Future[Held]") -> None:
        try:
            held = await reserving
        except BaseException:  # noqa: BLE001 - refused or failed: nothing is held
            return
        await asyncio.shield(self.store.run(self.book.release, held, outcome="error", error_class="cancelled"))

    async def _try_provider(
        self, settings: Settings, request: ChainRequest, cand: _Candidate, emit: Emit, run: _Run,
    ) -> ChainResult | None:
        """Every attempt at one provider; the result, or None to move on to the next one."""
        provider = cand.settings
        last = run.last
        api_key = self._key(provider)
        endpoint, credential = health_key(provider), credential_key(provider, api_key)
        records = [run.health.get(endpoint, (0, 0.0)), run.health.get(credential, (0, 0.0))]
        dirty = any(failures > 0 for failures, _ in records)  # a success must clear failures recorded by anyone
        wait = max(until for _, until in records) - self.clock()
        if wait > 0:
            reason = f"cooling down for {wait:.0f}s after repeated failures"
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = reason
            return None
        if api_key == "":
            reason = f"no API key: set {provider.api_key_env}"
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = reason
            return None
        if cand.price is None:
            reason = how_to_price(provider.model)
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = "price unknown"
            return None
        if adapter.tokenizer_ready(provider.model):
            prompt_tokens = adapter.count_tokens(provider.model, request.messages)  # ~0.2 ms
        else:  # the first count loads a tokenizer (~0.7 s): not on the caller's loop
            prompt_tokens = await asyncio.to_thread(adapter.count_tokens, provider.model, request.messages)
        window = provider.context_window or adapter.model_facts(provider.model).max_input_tokens
        if window and prompt_tokens > window:
            reason = f"prompt has {prompt_tokens} tokens; the model accepts {window}"
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = "context window exceeded"
            return None
        worst = cand.price.cost(prompt_tokens, request.max_tokens)
        for attempt in range(1, settings.chain.attempts + 1):
            remaining = run.deadline - self.clock()
            if remaining <= 0:
                run.out_of_time = True
                return None
            fields = LedgerFields(
                request.request_id, request.project, request.agent, request.source, cand.name,
                provider.model, attempt, prompt_tokens,
            )
            reserving = asyncio.ensure_future(self.store.run(self.book.reserve, request.refs, worst, fields))
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
                run.refused.append(str(exc))
                last[cand.name] = f"budget: {exc}"
                return None
            run.attempts += 1
            emit(AttemptStarted(cand.name, provider.model, attempt, worst / 1e6, request.source))
            started = time.perf_counter()
            streamed = False

            def on_text(piece: str, _name: str = cand.name) -> None:
                nonlocal streamed
                streamed = True
                emit(TokensStreamed(_name, piece))

            # the attempt's wall deadline: its timeout_s, or what is left of the chain's
            limit = min(provider.timeout_s, max(0.001, run.deadline - self.clock()))
            try:
                try:
                    async with asyncio.timeout(limit):
                        completion = await adapter.complete(
                            provider, api_key, request.messages, max_tokens=request.max_tokens,
                            temperature=request.temperature, on_text=on_text if request.stream else None,
                            timeout_s=limit,
                        )
                except TimeoutError as exc:
                    if limit < provider.timeout_s:
                        run.out_of_time = True
                        why = f"the chain deadline ({settings.chain.deadline_s:g} s, chain.deadline_s) passed"
                    else:
                        why = f"no complete answer within {provider.timeout_s:g} s (timeout_s, a wall deadline)"
                    raise AttemptTimedOut(why) from exc
            except asyncio.CancelledError:
                await asyncio.shield(self.store.run(self.book.release, held, outcome="error", error_class="cancelled"))
                raise
            except Exception as exc:  # noqa: BLE001 - every provider failure is classified
                latency = int((time.perf_counter() - started) * 1000)
                failure = classify(exc)
                await self.store.run(
                    self.book.release, held, outcome="error", error_class=failure.error_class, latency_ms=latency
                )
                if streamed:
                    emit(StreamRestarted(cand.name))
                log.warning("%s (%s) attempt %d failed: %s: %s", cand.name, provider.model, attempt,
                            failure.error_class, failure.message)
                emit(AttemptFailed(cand.name, provider.model, attempt, failure.error_class, failure.message, failure.retryable))
                last[cand.name] = f"{failure.error_class} ({failure.message[:120]})"
                if not await self._after_failure(settings, cand, api_key, failure, attempt, emit, run):
                    return None
                continue
            latency = int((time.perf_counter() - started) * 1000)
            claimed = cand.price.cost(completion.tokens_in, completion.tokens_out)
            # usage is a claim: the book charges at most the worst case (and records an anomaly);
            # the same judgement gives what this attempt reports
            usage = judge_usage(claimed, completion.tokens_in, completion.tokens_out, held.amount_micros,
                                measured=completion.usage_measured)
            cost = usage.charge_micros
            crossings = await self.store.run(
                functools.partial(
                    self.book.settle, held, claimed, refs=request.refs, thresholds=settings.alerts.thresholds(),
                    tokens_in=completion.tokens_in, tokens_out=completion.tokens_out, latency_ms=latency,
                    estimated=not completion.usage_measured,
                )
            )
            if dirty or attempt > 1:
                await self.store.run(self.board.succeeded, endpoint, credential)
            emit(AttemptSucceeded(cand.name, provider.model, attempt, usage.tokens_in, usage.tokens_out, cost / 1e6, latency))
            if usage.anomaly is not None:
                emit(UsageAnomaly(cand.name, provider.model, usage.anomaly,
                                  claimed if isinstance(claimed, int) else None, cost))
            for c in crossings:
                emit(BudgetLevelCrossed(c.scope, c.key, c.period, c.level, LEVEL_NAMES[c.level], round(c.percent, 2),
                                        c.used_micros, c.limit_micros))
            return ChainResult(
                completion.text, cand.name, provider.model, run.attempts, usage.tokens_in, usage.tokens_out,
                cost, latency, completion.usage_measured and usage.believed,
            )
        return None

    async def _after_failure(
        self, settings: Settings, cand: _Candidate, api_key: str | None, failure: Failure, attempt: int,
        emit: Emit, run: _Run,
    ) -> bool:
        """Record a failed attempt; back off and return True to retry, or False to move on."""
        chain = settings.chain
        key = scope_key(cand.settings, api_key, failure.error_class)
        asked = failure.retry_after_s
        if asked is not None and asked > chain.retry_after_max_s:
            # not worth waiting for: this key (or endpoint) rests as long as asked, the next provider answers
            seconds = min(asked, MAX_COOLDOWN_S)
            await self.store.run(self.board.cool, key, self.clock() + seconds)
            log.warning("%s cooled down for %.0f s: Retry-After %.0f s is above chain.retry_after_max_s",
                        cand.name, seconds, asked)
            emit(ProviderCooledDown(cand.name, seconds, attempt))
            return False
        cooled = await self.store.run(self.board.failed, key, self.clock(), chain.cooldown_failures, chain.cooldown_s)
        if cooled:
            log.warning("%s cooled down for %.0f s after %d failures in a row", cand.name, chain.cooldown_s,
                        chain.cooldown_failures)
            emit(ProviderCooledDown(cand.name, chain.cooldown_s, chain.cooldown_failures))
            return False
        if not failure.retryable or attempt == chain.attempts:
            return False
        delay = self.backoff_delay(settings, attempt, failure)
        if self.clock() + delay >= run.deadline:
            run.out_of_time = True  # a retry would start past the deadline: try the next provider now
            return False
        log.info("%s backing off %.2f s after attempt %d (%s)", cand.name, delay, attempt, failure.error_class)
        emit(Backoff(cand.name, attempt, round(delay, 3), failure.error_class))
        await self.sleep(delay)
        return True
