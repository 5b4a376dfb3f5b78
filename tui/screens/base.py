"""What every mode screen shares: the mode bar on top, the footer below, and reloading its data
(in workers) when the engine becomes ready and whenever the screen is shown again.

When the engine cannot open (a bad config file, a database that will not open), every screen
shows a persistent banner naming the file, line, key and message until ctrl+r reloads
successfully; no toast is the only trace of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from tui.messages import Failed
from tui.widgets.status import ModeBar

if TYPE_CHECKING:
    from engine.service import Engine
    from tui.app import TemplarApp


NARROW_FOOTER = 100


class TemplarScreen(Screen[None]):
    """A mode screen. Subclasses compose ``body`` and start their workers in ``reload``."""

    MODE: ClassVar[str] = ""
    HELP: ClassVar[str] = ""

    def compose(self) -> ComposeResult:
        yield ModeBar(self.MODE)
        yield Static("", id="engine-banner")
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
        self.watch(self.app, "engine_state", self._show_engine_banner)
        self.watch(self.app, "config_problem", self._show_engine_banner, init=False)
        self.watch(self.app, "engine_state", self._engine_state, init=False)
        for name in ("project", "agent"):
            self.watch(self.app, name, self._scope_changed, init=False)

    def on_resize(self) -> None:
        # Under 100 columns the footer's width is for the focused widget's and the screen's keys;
        # the palette stays on ctrl+p (and in the help).
        self.query_one(Footer).show_command_palette = self.app.size.width >= NARROW_FOOTER

    def _engine_state(self, state: str) -> None:
        if state == "ready" and self.is_current:
            self.reload()
        elif state == "failed" and self.is_current:
            self.engine_failed()

    def _show_engine_banner(self, _: str = "") -> None:
        banner = self.query_one("#engine-banner", Static)
        app: Any = self.app
        failed = getattr(app, "engine_state", "") == "failed"
        broken = not failed and bool(getattr(app, "config_problem", ""))
        banner.set_class(failed or broken, "-shown")
        if failed:
            banner.update(engine_banner(getattr(app, "engine_exception", None) or getattr(app, "engine_error", "")))
        elif broken:
            banner.update(
                engine_banner(
                    getattr(app, "config_exception", None) or app.config_problem, head="✗ A config file is broken"
                )
            )

    def engine_failed(self) -> None:
        """The engine could not open; screens that can show something without it do so."""

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
        elif getattr(self.app, "engine_state", "") == "failed":
            self.engine_failed()

    def reload(self) -> None:
        """Start the workers that read this screen's data (the engine is ready)."""

    def action_reload(self) -> None:
        if self.engine is None:
            self.need_engine()
            return
        self.reload()

    def need_engine(self) -> Engine | None:
        if self.engine is None:
            if getattr(self.app, "engine_state", "") == "failed":
                self.notify(
                    f"The engine is unavailable: {getattr(self.app, 'engine_error', '')}. Fix it, then press ctrl+r.",
                    severity="error",
                    markup=False,
                )
            else:
                self.notify("The database is still opening; try again in a moment.", severity="warning")
        return self.engine

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.templar.report_error(message.error, title=message.what)

    def scope(self) -> tuple[str, str]:
        app: Any = self.app
        return app.project, app.agent


def engine_banner(error: object, head: str = "✗ The engine cannot open") -> Text:
    """The failure as the banner shows it: where (file, line, key), what, and how to recover."""
    text = Text(head, style="bold")
    file, line, key = (getattr(error, name, None) for name in ("file", "line", "key"))
    message = getattr(error, "message", None) or str(error)
    where = [
        part
        for part in (f"file {file}" if file else "", f"line {line}" if line else "", f"key {key}" if key else "")
        if part
    ]
    if where:
        text.append(": " + " · ".join(where))
    text.append(f"\n{message}")
    text.append("\nSave the fixed file and Templar reloads it (or press ctrl+r).", style="italic")
    return text
