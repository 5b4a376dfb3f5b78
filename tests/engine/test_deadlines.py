"""Time is bounded: a wall deadline per attempt (streaming included), one for the whole chain,
and a Retry-After beyond the cap moves on at once. Over real HTTP against the fake provider;
long waits are simulated with an injected clock (the fake server's responder moves it), never
slept through."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.config import set_value
from engine.errors import DeadlineExceeded, NoProviderAvailable
from engine.events import AttemptFailed, ProviderCooledDown, ProviderSkipped
from engine.service import Engine
from engine.store.models import LedgerEntry
from tests.engine.conftest import Sleeps, user_settings
from tests.fakes import Fault, ProviderRequest, Reply

TASK = "function that adds two integers"
ANSWER = "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"


class Clock:
    """Real time plus an offset: the injected sleep and the fake server move the offset."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class ClockSleeps(Sleeps):
    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.offset += seconds


@pytest.fixture
def clocked(paths, fake, keys) -> Any:
    engines: list[Engine] = []

    def build(**kwargs: Any) -> tuple[Engine, Clock, ClockSleeps]:
        paths.user_settings.write_text(user_settings(fake, **kwargs), encoding="utf-8")
        clock = Clock()
        sleeps = ClockSleeps(clock)
        engine = Engine.from_settings(paths, sleep=sleeps, clock=clock)
        engines.append(engine)
        return engine, clock, sleeps

    yield build
    for engine in engines:
        engine.close()


def ledger(engine: Engine) -> list[LedgerEntry]:
    return engine.store.call(lambda: list(LedgerEntry.select().order_by(LedgerEntry.id)))


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("fmt", ["openai", "anthropic", "gemini"])
async def test_a_server_dripping_one_byte_at_a_time_is_cut_at_the_attempt_deadline(
    make_engine, fake, fmt, stream
) -> None:
    """Each byte arrives well inside the read timeout; only a wall deadline ends the attempt."""
    other = "openai" if fmt != "openai" else "gemini"
    engine = make_engine(order=f'["{fmt}", "{other}"]', timeout=0.5)
    set_value(engine.paths, "chain.attempts", "1", "default")
    pieces = tuple(ANSWER[i : i + 4] for i in range(0, len(ANSWER), 4))
    fake.enqueue(fmt, Reply(text=ANSWER, chunks=pieces, drip=0.05))  # ~30 s of body at one byte per 50 ms
    fake.enqueue(other, Reply(text=ANSWER))
    events: list = []
    result = await engine.generate(TASK, stream=stream, emit=events.append)
    failed = [e for e in events if isinstance(e, AttemptFailed)]
    assert [(e.provider, e.error_class) for e in failed] == [(fmt, "timeout")], [e.message for e in failed]
    assert "0.5" in failed[0].message and "timeout_s" in failed[0].message
    assert result.provider == other
    assert engine.store.call(engine.book.held_count) == 0


async def test_the_chain_deadline_stops_providers_that_each_take_a_minute(clocked, fake) -> None:
    """Default settings (deadline 120 s, 3 attempts, 3 providers): without a chain deadline this
    ran 9 one-minute attempts plus backoffs (565 s measured); now it stops at 120 s."""
    engine, clock, sleeps = clocked()

    def slow_failure(request: ProviderRequest) -> Fault:
        clock.offset += 60.0  # this attempt "took" a minute
        return Fault.server_error(500)

    fake.responder = slow_failure
    with pytest.raises(DeadlineExceeded) as err:
        await engine.generate(TASK)
    assert isinstance(err.value, NoProviderAvailable) and err.value.exit_code == 4
    assert "chain.deadline_s" in str(err.value) and "120" in str(err.value)
    assert fake.count() == 2, "attempt 1 (60 s), backoff 2 s, attempt 2 (to 122 s), then the deadline"
    assert sleeps.delays == [2.0]
    assert engine.store.call(engine.book.held_count) == 0
    assert [r.outcome for r in ledger(engine)] == ["error", "error"]


async def test_no_backoff_sleeps_past_the_chain_deadline(clocked, fake) -> None:
    engine, clock, sleeps = clocked(order='["openai", "gemini"]')
    set_value(engine.paths, "chain.deadline_s", "10", "default")
    set_value(engine.paths, "chain.backoff_base_s", "8", "default")

    def slow_failure(request: ProviderRequest) -> Fault:
        clock.offset += 3.0
        return Fault.server_error(500)

    fake.responder = slow_failure
    events: list = []
    with pytest.raises(DeadlineExceeded):
        await engine.generate(TASK, emit=events.append)
    # openai fails at 3 s; waiting 8 s would end past 10 s, so gemini is tried at once (fails at 6 s);
    # its 8 s backoff would pass the deadline too: nothing is left, and no sleep ever happened
    assert sleeps.delays == []
    assert (fake.count("openai"), fake.count("gemini")) == (1, 1)


async def test_the_chain_deadline_cuts_an_attempt_in_flight_and_releases_it(make_engine, fake, paths) -> None:
    engine = make_engine(order='["gemini", "openai"]', timeout=5.0)
    set_value(paths, "chain.deadline_s", "0.4", "default")
    fake.enqueue("gemini", Fault.hang(5))
    fake.enqueue("openai", Reply(text=ANSWER))
    with pytest.raises(DeadlineExceeded) as err:
        await engine.generate(TASK)
    assert "0.4" in str(err.value)
    assert fake.count("gemini") == 1 and fake.count("openai") == 0
    assert engine.store.call(engine.book.held_count) == 0
    assert [(r.provider, r.outcome) for r in ledger(engine)] == [("gemini", "error")]


async def test_a_retry_after_beyond_the_cap_moves_on_at_once_and_cools_the_provider(make_engine, fake, sleeps) -> None:
    engine = make_engine(order='["openai", "gemini"]')
    fake.enqueue("openai", Fault.rate_limit(retry_after=3600))
    fake.enqueue("gemini", Reply(text=ANSWER), Reply(text=ANSWER.replace("add", "plus")))
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    assert result.provider == "gemini"
    assert sleeps.delays == [], "a one-hour Retry-After is not waited for (60 s cap), not even once"
    assert fake.count("openai") == 1
    cooled = [e for e in events if isinstance(e, ProviderCooledDown)]
    assert [(e.provider, e.seconds) for e in cooled] == [("openai", 3600)]
    events.clear()
    second = await engine.generate(TASK + " again", emit=events.append)
    assert second.provider == "gemini" and fake.count("openai") == 1
    assert any(isinstance(e, ProviderSkipped) and e.provider == "openai" and "cooling down" in e.reason for e in events)


async def test_a_retry_after_within_the_cap_is_still_honoured(make_engine, fake, sleeps) -> None:
    engine = make_engine(order='["openai", "gemini"]')
    fake.enqueue("openai", Fault.rate_limit(retry_after=59), Reply(text=ANSWER))
    result = await engine.generate(TASK)
    assert result.provider == "openai" and sleeps.delays == [59.0]
