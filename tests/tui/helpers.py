"""Driving the app in tests: wait for workers (never sleep), read what the screen shows, and
put money on a budget the way a real paid call does (reserve, then settle)."""

from __future__ import annotations

import io
import uuid
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled, WorkerFailed, WorkerState

from engine.budget.book import LedgerFields, budget_refs


async def settle(pilot: Pilot[Any], rounds: int = 40) -> None:
    """Process messages and wait for every worker until nothing is running (handlers may start
    new workers, so this loops)."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        running = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not running:
            await pilot.pause()
            if not [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]:
                return
            continue
        for worker in running:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass
    raise AssertionError("workers kept running")


async def press(pilot: Pilot[Any], *keys: str) -> None:
    """Press keys one by one, settling after each."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*[_key(c) for c in text])
    await settle(pilot)


def _key(char: str) -> str:
    return {
        " ": "space",
        ".": "full_stop",
        "/": "slash",
        "-": "minus",
        "_": "underscore",
        ",": "comma",
        ":": "colon",
        "{": "left_curly_bracket",
        "}": "right_curly_bracket",
        '"': "quotation_mark",
        "[": "left_square_bracket",
        "]": "right_square_bracket",
        "=": "equals_sign",
    }.get(char, char)


def text_of(app: Any, selector: str) -> str:
    """The plain text a Static shows (what it was given: a str or Rich ``Text``; other renderables
    are rendered to plain text at 200 columns)."""
    content = app.screen.query_one(selector, Static).content
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return str(content.plain)
    console = Console(width=200, color_system=None, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


def spend(engine: Any, micros: int, project: str = "default", agent: str = "default") -> None:
    """Charge ``micros`` to the system, project and agent budgets as a settled paid call would."""
    settings = engine.config(project, agent).settings
    refs = budget_refs(settings, project, agent, engine.clock())
    fields = LedgerFields(str(uuid.uuid4()), project, agent, "llm", "openai", "openai/gpt-4o-mini", 1)
    held = engine.store.call(engine.book.reserve, refs, micros, fields)
    engine.store.call(engine.book.settle, held, micros)
    engine.store.call(engine.book.record_crossings, refs, settings.alerts.thresholds())
