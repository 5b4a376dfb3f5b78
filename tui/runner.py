"""Driving one generation: engine events in, messages out.

The screen runs ``drive`` in a thread worker, so it gets an event loop of its own. That is on
purpose: the engine's paid path does synchronous work on its loop (the first call imports
litellm, seconds of CPU; token counting), and none of it may freeze the app's loop. Messages
cross back with ``post`` (Textual's ``post_message`` is thread-safe).

Invariants: exactly one terminal message is posted per request (``GenerationDone``,
``GenerationFailed``, ``ConfirmationNeeded`` or ``GenerationCancelled``); no exception escapes;
a cancelled worker cancels the engine's task and waits for it to unwind (``generate_events``),
so any budget reservation is released before ``GenerationCancelled`` is posted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from engine.errors import ConfirmationRequired
from engine.events import Event, StreamRestarted, TokensStreamed
from tui.messages import (
    ConfirmationNeeded,
    GenerationCancelled,
    GenerationDone,
    GenerationEvent,
    GenerationFailed,
    GenerationRequest,
    StreamText,
)

if TYPE_CHECKING:
    from engine.service import Engine

CANCEL_POLL_S = 0.05


async def drive(
    engine: Engine, request: GenerationRequest, post: Callable[[Message], object], cancelled: Callable[[], bool]
) -> None:
    """Run ``request`` through the engine and post what happens."""
    current = asyncio.current_task()
    assert current is not None

    async def watch() -> None:
        while not cancelled():
            await asyncio.sleep(CANCEL_POLL_S)
        current.cancel()

    watcher = asyncio.create_task(watch())
    streamed: list[str] = []
    first_token = 0.0  # monotonic time of the stream's first piece (the rate excludes the wait for it)
    try:
        async for item in engine.generate_events(
            request.task,
            project=request.project,
            agent=request.agent,
            stream=True,
            confirmed=request.confirmed,
            use_cache=not request.fresh,
            use_templates=not request.fresh,
            raise_on_invalid=False,  # the screen shows an undeliverable answer under a banner
        ):
            if isinstance(item, TokensStreamed):
                now = time.monotonic()
                first_token = first_token or now
                streamed.append(item.text)
                post(StreamText(request, "".join(streamed), now - first_token))
            elif isinstance(item, Event):
                if isinstance(item, StreamRestarted):
                    streamed.clear()
                    first_token = 0.0
                    post(StreamText(request, ""))
                post(GenerationEvent(request, item))
            else:
                post(GenerationDone(request, item))
    except ConfirmationRequired as exc:
        post(ConfirmationNeeded(request, str(exc)))
    except asyncio.CancelledError:
        post(GenerationCancelled(request))
    except Exception as exc:  # noqa: BLE001 - a provider or budget error must never crash the app
        post(GenerationFailed(request, exc))
    finally:
        watcher.cancel()
