"""The generation screen never hands over an undeliverable answer silently: a red banner says
why, and copy or save asks first. Esc during a hung provider releases the reservation: after
the cancel, nothing is held and nothing is charged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from engine import events as ev
from engine.store.models import LedgerEntry, Reservation
from tests.fakes import Fault
from tests.fakes.trust import DANGEROUS, SAFE, answering
from tests.tui.helpers import press, settle, text_of
from tests.tui.test_generate import SIZE, generate, log_lines
from tui.app import TemplarApp
from tui.messages import GenerationCancelled, GenerationEvent
from tui.screens.modals import ConfirmModal, PromptModal


def banner_shown(app: TemplarApp) -> bool:
    banner = app.screen.query_one("#banner", Static)
    return banner.has_class("-shown") and banner.display


async def test_an_invalid_answer_shows_a_red_banner_and_copy_or_save_ask_first(
    make_engine: Any,
    fake: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    code, rule_id, line = DANGEROUS["os_system"]
    fake.responder = answering(code)
    monkeypatch.chdir(tmp_path)
    app = TemplarApp(make_engine(order='["openai", "gemini"]'))
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = await generate(pilot, "a helper that runs a command")
        assert screen.result is not None and screen.result.ok is False
        assert banner_shown(app)
        banner = text_of(app, "#banner")
        assert "NOT VALIDATED" in banner and f"line {line}: {rule_id}" in banner
        await press(pilot, "escape", "y")  # leave the task box, then copy
        assert isinstance(app.screen, ConfirmModal) and "not handed over" in app.screen.title_text
        assert rule_id in app.screen.message
        await press(pilot, "n")
        assert app.screen is screen and app.clipboard == ""
        await press(pilot, "y")
        await press(pilot, "y")
        assert app.screen is screen and app.clipboard == code
        await press(pilot, "w")
        assert isinstance(app.screen, ConfirmModal)
        await press(pilot, "n")
        assert app.screen is screen and not (tmp_path / "generated.py").exists()
        await press(pilot, "w", "y")
        assert isinstance(app.screen, PromptModal)
        await press(pilot, "enter")
        assert (tmp_path / "generated.py").read_text() == code


async def test_a_valid_answer_has_no_banner_and_copies_at_once(make_engine: Any, fake: Any) -> None:
    fake.responder = answering(SAFE)
    app = TemplarApp(make_engine(order='["openai", "gemini"]'))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await generate(pilot, "an adder")
        assert screen.result.ok and not banner_shown(app)
        await press(pilot, "escape", "y")
        assert app.screen is screen and app.clipboard == SAFE


async def test_a_rejected_critical_answer_gets_the_banner(make_engine: Any, fake: Any) -> None:
    fake.responder = answering(SAFE, verdict="reject", issues=("no input checks",))
    app = TemplarApp(make_engine(order='["openai", "gemini"]'))
    async with app.run_test(size=(140, 44)) as pilot:
        await settle(pilot)
        screen = await generate(pilot, "hash a password for storage")
        assert screen.result.ok is False and banner_shown(app)
        assert "critical request not approved by gemini" in text_of(app, "#banner")


async def test_esc_during_a_hung_provider_releases_the_reservation(make_engine: Any, fake: Any) -> None:
    fake.enqueue("openai", Fault.hang(30))
    engine = make_engine(order='["openai"]', timeout=60)
    started, cancelled = asyncio.Event(), asyncio.Event()

    def hook(message: Any) -> None:
        if isinstance(message, GenerationEvent) and isinstance(message.event, ev.AttemptStarted):
            started.set()
        elif isinstance(message, GenerationCancelled):
            cancelled.set()

    app = TemplarApp(engine)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        app.screen.query_one("#task", Input).value = "a function returning one"
        await pilot.press("enter")  # not `press`: it would wait for the hung worker
        await asyncio.wait_for(started.wait(), 60)
        assert await asyncio.to_thread(fake.wait_for_requests, 1, 60), "the provider holds our request"
        assert engine.store.call(lambda: Reservation.select().where(Reservation.state == "held").count()) == 1
        await pilot.press("escape")  # one esc cancels (enter already moved the focus off the task box)
        await asyncio.wait_for(cancelled.wait(), 60)
        held = engine.store.call(lambda: Reservation.select().where(Reservation.state == "held").count())
        assert held == 0, "a cancelled call holds nothing"
        row = engine.store.call(lambda: LedgerEntry.get(LedgerEntry.source == "llm"))
        assert (row.outcome, row.error_class, row.cost_micros) == ("error", "cancelled", 0)
        await pilot.pause()
        assert "nothing is charged" in log_lines(app)[-1]
