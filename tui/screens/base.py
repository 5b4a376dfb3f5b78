"""What every mode screen shares: the mode bar on top, the footer below, and reloading its data
(in workers) when the engine becomes ready and whenever the screen is shown again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer

from tui.messages import Failed
from tui.widgets.status import ModeBar

if TYPE_CHECKING:
    from engine.service import Engine
    from tui.app import TemplarApp


class TemplarScreen(Screen[None]):
    """A mode screen. Subclasses compose ``body`` and start their workers in ``reload``."""

    MODE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    def compose(self) -> ComposeResult:
        yield ModeBar(self.MODE)
        yield from self.body()
        yield Footer(compact=True)

    def body(self) -> ComposeResult:
        return iter(())

    @property
    def templar(self) -> TemplarApp:
        return self.app  # type: ignore[return-value]

    @property
    def engine(self) -> Engine | None:
        return getattr(self.app, "engine", None)

    def on_mount(self) -> None:
        self.watch(self.app, "engine_state", self._engine_state, init=False)
        for name in ("project", "agent"):
            self.watch(self.app, name, self._scope_changed, init=False)

    def _engine_state(self, state: str) -> None:
        if state == "ready" and self.is_current:
            self.reload()

    def _scope_changed(self, _: str) -> None:
        if self.engine is not None and self.is_current:
            self.scope_changed()

    def scope_changed(self) -> None:
        """The project or agent changed; by default, reload."""
        self.reload()

    def on_screen_suspend(self) -> None:
        # Covered by a dialog (not left for another mode): its outcome updates this screen itself.
        self._covered = isinstance(self.app.screen, ModalScreen)

    def on_screen_resume(self) -> None:
        if getattr(self, "_covered", False):
            self._covered = False
            return
        if self.engine is not None:
            self.reload()

    def reload(self) -> None:
        """Start the workers that read this screen's data (the engine is ready)."""

    def action_reload(self) -> None:
        if self.engine is None:
            self.notify("The database is still opening.", severity="warning")
            return
        self.reload()

    def need_engine(self) -> Engine | None:
        if self.engine is None:
            self.notify("The database is still opening; try again in a moment.", severity="warning")
        return self.engine

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.templar.report_error(message.error, title=message.what)

    def scope(self) -> tuple[str, str]:
        app: Any = self.app
        return app.project, app.agent
