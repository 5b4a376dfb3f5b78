"""Live tokens: the fake provider streams an answer in chunks (with real delays between them) and
holds the stream half way; while it is held, the part already sent is on screen, the call has not
ended, and the mode bar shows a tokens/s figure. Released, the stream finishes and the rate goes.
Everything waits on messages and events, never on a sleep."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from textual.widgets import Input

from tests.fakes import Reply
from tests.tui.helpers import settle, text_of
from tui.app import TemplarApp
from tui.messages import GenerationDone, StreamText
from tui.widgets.code import CodeView

TASK = "a constant MAX_RETRIES set to 5"
CHUNKS = ("```python\n", '"""Settings."""\n\n', "MAX_RETRIES", ": int = 5\n", "```\n")


async def wait_for(flag: asyncio.Event, what: str) -> None:
    try:
        await asyncio.wait_for(flag.wait(), 30)
    except TimeoutError:
        raise AssertionError(f"never saw {what}") from None


async def test_partial_code_is_on_screen_while_the_stream_is_held(engine: Any, fake: Any) -> None:
    hold = threading.Event()
    # Gemini sends one event per chunk: hold_at=3 sends three chunks (0.1 s apart), then waits.
    fake.enqueue("gemini", Reply(text="".join(CHUNKS), chunks=CHUNKS, chunk_delay=0.1, hold=hold, hold_at=3))
    partial, done = asyncio.Event(), asyncio.Event()
    texts: list[str] = []

    def hook(message: Any) -> None:
        if isinstance(message, StreamText):
            texts.append(message.text)
            if "MAX_RETRIES" in message.text:
                partial.set()
        elif isinstance(message, GenerationDone):
            done.set()

    app = TemplarApp(engine)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await settle(pilot)
        app.screen.query_one("#task", Input).value = TASK
        await pilot.press("enter")  # no settle: that would wait for the generation to finish
        try:
            await wait_for(partial, "the third chunk")
            await pilot.pause()
            await pilot.pause()  # the StreamText (and the rate) handled
            shown = text_of(app, "#code .code-body")
            assert '"""Settings."""' in shown and "MAX_RETRIES" in shown
            assert ": int = 5" not in shown, "the held chunk cannot be on screen"
            assert not done.is_set() and app.screen.result is None and app.screen.running
            assert app.screen.query_one(CodeView).code.startswith('"""Settings."""')
            # three chunks, >= 0.2 s apart end to end: a finite rate in the mode bar and the badges
            assert app.stream_rate.endswith(" tok/s"), app.stream_rate
            assert "tok/s" in text_of(app, "#bar-status") and "tok/s" in text_of(app, "#badges")
            assert len(texts) >= 1 and all(len(a) <= len(b) for a, b in itertools.pairwise(texts))
        finally:
            hold.set()
        await wait_for(done, "the end of the call")
        await settle(pilot)
        assert app.screen.query_one(CodeView).code == '"""Settings."""\n\nMAX_RETRIES: int = 5\n'
        assert app.stream_rate == "" and "tok/s" not in text_of(app, "#bar-status")
        assert app.errors == []
