"""A cancelled generation costs nothing: cancelling the consumer of ``generate_events`` while a
provider hangs releases the reservation before the cancellation returns (issue 11, item 4)."""

from __future__ import annotations

import asyncio
import contextlib

from engine.events import AttemptStarted
from engine.store.models import LedgerEntry, Reservation
from tests.fakes import Fault


async def test_cancelling_the_event_stream_during_a_hang_releases_the_reservation(make_engine, fake) -> None:
    fake.enqueue("openai", Fault.hang(30))
    engine = make_engine(order='["openai"]', timeout=60)
    started = asyncio.Event()

    async def consume() -> None:
        async for item in engine.generate_events("a function returning one", stream=True):
            if isinstance(item, AttemptStarted):
                started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 30)
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60), "the provider is hanging on our request"
    held = engine.store.call(lambda: Reservation.select().where(Reservation.state == "held").count())
    assert held == 1, "the attempt holds its worst case while it waits"
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # nothing else is awaited: the release must have happened before the cancellation returned
    states = engine.store.call(lambda: [r.state for r in Reservation.select()])
    assert states == ["released"]
    row = engine.store.call(lambda: LedgerEntry.get(LedgerEntry.source == "llm"))
    assert (row.outcome, row.error_class, row.cost_micros) == ("error", "cancelled", 0)


async def test_closing_the_stream_early_also_releases(make_engine, fake) -> None:
    fake.enqueue("openai", Fault.hang(30))
    engine = make_engine(order='["openai"]', timeout=60)
    stream = engine.generate_events("a function returning two")
    async for item in stream:
        if isinstance(item, AttemptStarted):
            break
    await stream.aclose()
    assert engine.store.call(lambda: [r.state for r in Reservation.select()]) == ["released"]
