"""The mode bar at the top of every screen: modes with their keys, the pending-review count,
the current project and agent, and the engine's state."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.widgets import Static

from tui.modes import MODES

LLM_STATES = {"loading": "LLM client: loading…", "ready": "LLM client: ready", "failed": "LLM client: failed"}
# Under 100 columns the five tabs leave about 25 cells: the scope must stay readable.
LLM_SHORT = {"loading": "LLM …", "ready": "LLM ✓", "failed": "LLM ✗"}
NARROW = 100


class ModeTab(Static):
    """One mode: its key and name; clicking it switches to it."""

    def __init__(self, key: str, mode: str, label: str, active: bool) -> None:
        super().__init__(f" {key} {label} ", id=f"tab-{mode}", classes="mode-tab" + (" -active" if active else ""))
        self.mode = mode
        self.key = key
        self.label_text = label

    def on_click(self, event: Click) -> None:
        event.stop()
        self.app.switch_mode(self.mode)


class ModeBar(Horizontal):
    """Shown on every screen; watches the app's pending count, scope and engine state."""

    def __init__(self, mode: str) -> None:
        super().__init__(id="mode-bar")
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Static("◆ Templar", id="brand")
        for key, mode, label in MODES:
            yield ModeTab(key, mode, label, mode == self.mode)
        yield Static("", id="bar-status")

    def on_mount(self) -> None:
        for name in ("pending", "project", "agent", "engine_state", "llm_state", "stream_rate"):
            self.watch(self.app, name, self._refresh_status, init=False)
        self._refresh_status()

    def on_resize(self) -> None:
        self._refresh_status()

    def _refresh_status(self, _: object = None) -> None:
        app = self.app
        pending: int = getattr(app, "pending", 0)
        review = self.query_one("#tab-review", ModeTab)
        count = f"{pending} " if pending else ""
        review.update(f" {review.key} {review.label_text} {count}")
        review.set_class(pending > 0, "-pending")
        state = getattr(app, "engine_state", "ready")
        if state == "opening":
            status = "opening the database…"
        elif state == "failed":
            status = "engine unavailable · ctrl+r reloads"
        narrow = app.size.width < NARROW
        if state not in ("opening", "failed"):
            waiting = f"{pending} pending review · " if pending and not narrow else ""
            status = f"{waiting}{getattr(app, 'project', 'default')}/{getattr(app, 'agent', 'default')}"
        llm = (LLM_SHORT if narrow else LLM_STATES).get(getattr(app, "llm_state", ""), "")
        rate = getattr(app, "stream_rate", "")
        if rate:  # while an answer streams, its rate replaces the client's state (it is ready)
            llm = f"▸ {rate}" if narrow else f"streaming {rate}"
        if llm:
            status = f"{llm} · {status}"
        self.query_one("#bar-status", Static).update(status)
