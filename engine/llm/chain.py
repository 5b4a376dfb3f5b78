"""The provider chain: ordered providers, retries with backoff, cooldown, budget admission.

For each provider in order (re-ordered by price at L3, cut to the cheapest at L4):

    skip it if it is cooling down, has no API key, no known price, or too small a context
    for attempt in 1..N:
        reserve the worst case on every budget (atomic; refusal -> next provider)
        call litellm once (its own retries are off)
        success -> settle to the real cost, done
        failure -> release; retryable -> back off (2 s, 4 s, 8 s ... jittered, capped, or the
                   provider's Retry-After, capped) and try again; otherwise next provider

Invariants: every attempt is a ledger row and an event; every reservation is settled or
released before the next step; the sleep and clock are injectable, so tests check the backoff
schedule without waiting.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from engine.budget.book import BudgetBook, BudgetRef, Held, LedgerFields
from engine.budget.levels import CRITICAL, EXHAUSTED, HIGH, LEVEL_NAMES, WARNING
from engine.config.schema import ProviderSettings, Settings
from engine.budget.usage import judge_usage
from engine.errors import BudgetRefused, ConfirmationRequired, NoProviderAvailable, PriceUnknown
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
)
from engine.llm import adapter
from engine.llm.failures import Failure, classify
from engine.llm.pricing import Price, how_to_price, price_for
from engine.store.db import Store
from engine.store.sql import execute

Sleep = Callable[[float], Awaitable[None]]


def health_key(provider: ProviderSettings) -> str:
    """Cooldown is per endpoint: the same model behind another api_base is another provider."""
    return f"{provider.model}@{provider.api_base}"


class CooldownBoard:
    """Consecutive failures per provider endpoint and when it may be tried again.

    Kept in the store, so every process (and machine, in team mode) sees a provider another
    one found dead. Methods are synchronous and run on the database thread; times are epoch
    seconds.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def _exec(self, sql: str, params: tuple[object, ...]) -> Any:
        return execute(sql, params, self.store.db)

    def state(self, keys: list[str]) -> dict[str, tuple[int, float]]:
        """(consecutive failures, cooling until) for the keys that have a record."""
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = self._exec(f"SELECT key, failures, until FROM provider_health WHERE key IN ({marks})", tuple(keys))
        return {r[0]: (int(r[1]), float(r[2])) for r in rows.fetchall()}

    def failed(self, key: str, now: float, threshold: int, seconds: float) -> bool:
        """Count a failed request; True when this one starts a cooldown."""
        with self.store.write():
            self._exec(
                "INSERT INTO provider_health (key, failures, until) VALUES (?, 1, 0) "
                "ON CONFLICT (key) DO UPDATE SET failures = provider_health.failures + 1",
                (key,),
            )
            failures = int(self._exec("SELECT failures FROM provider_health WHERE key = ?", (key,)).fetchone()[0])
            if failures >= threshold and seconds > 0:
                self._exec("UPDATE provider_health SET failures = 0, until = ? WHERE key = ?", (now + seconds, key))
                return True
        return False

    def succeeded(self, key: str) -> None:
        self._exec("UPDATE provider_health SET failures = 0, until = 0 WHERE key = ?", (key,))


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
        return env.get(provider.api_key_env) or ""

    async def _level(self, settings: Settings, refs: list[BudgetRef]) -> int:
        statuses = await self.store.run(self.book.status, refs, settings.alerts.thresholds())
        return max((s.level for s in statuses), default=0)

    async def complete(self, settings: Settings, request: ChainRequest, emit: Emit) -> ChainResult:
        names = [n for n in (request.order or tuple(settings.chain.order)) if n not in request.exclude]
        level = await self._level(settings, request.refs)
        if level >= EXHAUSTED:
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

        attempts = 0
        last: dict[str, str] = {}
        refused: list[str] = []
        health = await self.store.run(self.board.state, [health_key(c.settings) for c in candidates])
        for cand in candidates:
            result = await self._try_provider(settings, request, cand, emit, last, refused, attempts, health)
            if isinstance(result, ChainResult):
                return result
            attempts = result
        if unpriced and len(unpriced) == len(keyed):
            raise PriceUnknown(how_to_price(unpriced[0]))
        if refused and not any(v for k, v in last.items() if not v.startswith("budget")):
            raise BudgetRefused("; ".join(refused))
        summary = "; ".join(f"{name}: {why}" for name, why in last.items()) or "the chain is empty"
        raise NoProviderAvailable(f"no provider could answer ({summary})")

    async def _release_late(self, reserving: "asyncio.Future[Held]") -> None:
        try:
            held = await reserving
        except BaseException:  # noqa: BLE001 - refused or failed: nothing is held
            return
        await asyncio.shield(self.store.run(self.book.release, held, outcome="error", error_class="cancelled"))

    async def _try_provider(
        self, settings: Settings, request: ChainRequest, cand: _Candidate, emit: Emit,
        last: dict[str, str], refused: list[str], attempts: int, health: dict[str, tuple[int, float]],
    ) -> ChainResult | int:
        provider = cand.settings
        key = health_key(provider)
        failures, until = health.get(key, (0, 0.0))
        dirty = failures > 0  # a success must clear failures recorded by anyone
        wait = until - self.clock()
        if wait > 0:
            reason = f"cooling down for {wait:.0f}s after repeated failures"
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = reason
            return attempts
        api_key = self._key(provider)
        if api_key == "":
            reason = f"no API key: set {provider.api_key_env}"
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = reason
            return attempts
        if cand.price is None:
            reason = how_to_price(provider.model)
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = "price unknown"
            return attempts
        if adapter.tokenizer_ready(provider.model):
            prompt_tokens = adapter.count_tokens(provider.model, request.messages)  # ~0.2 ms
        else:  # the first count loads a tokenizer (~0.7 s): not on the caller's loop
            prompt_tokens = await asyncio.to_thread(adapter.count_tokens, provider.model, request.messages)
        window = provider.context_window or adapter.model_facts(provider.model).max_input_tokens
        if window and prompt_tokens > window:
            reason = f"prompt has {prompt_tokens} tokens; the model accepts {window}"
            emit(ProviderSkipped(cand.name, provider.model, reason))
            last[cand.name] = "context window exceeded"
            return attempts
        worst = cand.price.cost(prompt_tokens, request.max_tokens)
        for attempt in range(1, settings.chain.attempts + 1):
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
                emit(ProviderSkipped(cand.name, provider.model, f"budget: {exc}"))
                refused.append(str(exc))
                last[cand.name] = f"budget: {exc}"
                return attempts
            attempts += 1
            emit(AttemptStarted(cand.name, provider.model, attempt, worst / 1e6, request.source))
            started = time.perf_counter()
            streamed = False

            def on_text(piece: str, _name: str = cand.name) -> None:
                nonlocal streamed
                streamed = True
                emit(TokensStreamed(_name, piece))

            try:
                completion = await adapter.complete(
                    provider, api_key, request.messages, max_tokens=request.max_tokens,
                    temperature=request.temperature, on_text=on_text if request.stream else None,
                )
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
                emit(AttemptFailed(cand.name, provider.model, attempt, failure.error_class, failure.message, failure.retryable))
                last[cand.name] = f"{failure.error_class} ({failure.message[:120]})"
                dirty = True
                cooled = await self.store.run(
                    self.board.failed, key, self.clock(), settings.chain.cooldown_failures, settings.chain.cooldown_s
                )
                if cooled:
                    emit(ProviderCooledDown(cand.name, settings.chain.cooldown_s, settings.chain.cooldown_failures))
                    return attempts
                if not failure.retryable or attempt == settings.chain.attempts:
                    return attempts
                delay = self.backoff_delay(settings, attempt, failure)
                emit(Backoff(cand.name, attempt, round(delay, 3), failure.error_class))
                await self.sleep(delay)
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
            if dirty:
                await self.store.run(self.board.succeeded, key)
            emit(AttemptSucceeded(cand.name, provider.model, attempt, usage.tokens_in, usage.tokens_out, cost / 1e6, latency))
            for c in crossings:
                emit(BudgetLevelCrossed(c.scope, c.key, c.period, c.level, LEVEL_NAMES[c.level], round(c.percent, 2)))
            return ChainResult(
                completion.text, cand.name, provider.model, attempts, usage.tokens_in, usage.tokens_out,
                cost, latency, completion.usage_measured and usage.believed,
            )
        return attempts
