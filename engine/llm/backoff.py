"""What the chain does after a failed attempt: cooldowns, backoff delays and the retry decision
(``engine.llm.chain``).

Invariants:
- Backoff before attempt n+1 is the provider's Retry-After (capped at
  ``chain.retry_after_max_s``), else ``backoff_base_s * 2^(n-1)``, jittered by ``chain.jitter``
  and capped at ``chain.backoff_max_s``; never negative.
- A Retry-After above ``chain.retry_after_max_s`` is not waited for: the key cools down for the
  time asked (at most ``MAX_COOLDOWN_S``) and the chain moves on.
- No backoff sleeps past the chain's deadline; the sleep and clock are injectable.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from engine.config.schema import Settings
from engine.events import Backoff, Emit, ProviderCooledDown
from engine.llm.cooldown import MAX_COOLDOWN_S, CooldownBoard, scope_key
from engine.llm.failures import Failure
from engine.llm.outcome import Candidate, Next
from engine.logs import get_logger
from engine.store.db import Store

Sleep = Callable[[float], Awaitable[None]]
log = get_logger("chain")


class BackoffMixin:
    """Failure handling of ``ProviderChain`` (which sets these attributes)."""

    store: Store
    board: CooldownBoard
    sleep: Sleep
    clock: Callable[[], float]
    rng: random.Random

    def backoff_delay(self, settings: Settings, attempt: int, failure: Failure) -> float:
        """Delay before attempt ``attempt + 1``: Retry-After if given, else 2^(n-1) x base, jittered."""
        chain = settings.chain
        if failure.retry_after_s is not None:
            return min(failure.retry_after_s, chain.retry_after_max_s)
        delay = float(chain.backoff_base_s * (2 ** (attempt - 1)))
        if chain.jitter:
            delay *= 1 + self.rng.uniform(-chain.jitter, chain.jitter)
        return max(0.0, min(delay, chain.backoff_max_s))

    async def _after_failure(
        self,
        settings: Settings,
        cand: Candidate,
        api_key: str | None,
        failure: Failure,
        attempt: int,
        emit: Emit,
        deadline: float,
    ) -> Next:
        """Record a failed attempt; back off and say RETRY, or say why to move on."""
        chain = settings.chain
        key = scope_key(cand.settings, api_key, failure.error_class)
        asked = failure.retry_after_s
        if asked is not None and asked > chain.retry_after_max_s:
            # not worth waiting for: this key (or endpoint) rests as long as asked, the next provider answers
            seconds = min(asked, MAX_COOLDOWN_S)
            await self.store.run(self.board.cool, key, self.clock() + seconds)
            log.warning(
                "%s cooled down for %.0f s: Retry-After %.0f s is above chain.retry_after_max_s",
                cand.name,
                seconds,
                asked,
            )
            emit(ProviderCooledDown(cand.name, seconds, attempt))
            return Next.MOVE_ON
        cooled = await self.store.run(self.board.failed, key, self.clock(), chain.cooldown_failures, chain.cooldown_s)
        if cooled:
            log.warning(
                "%s cooled down for %.0f s after %d failures in a row",
                cand.name,
                chain.cooldown_s,
                chain.cooldown_failures,
            )
            emit(ProviderCooledDown(cand.name, chain.cooldown_s, chain.cooldown_failures))
            return Next.MOVE_ON
        if not failure.retryable or attempt == chain.attempts:
            return Next.MOVE_ON
        delay = self.backoff_delay(settings, attempt, failure)
        if self.clock() + delay >= deadline:
            return Next.OUT_OF_TIME  # a retry would start past the deadline: try the next provider now
        log.info("%s backing off %.2f s after attempt %d (%s)", cand.name, delay, attempt, failure.error_class)
        emit(Backoff(cand.name, attempt, round(delay, 3), failure.error_class))
        await self.sleep(delay)
        return Next.RETRY
