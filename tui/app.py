"""The Textual app: five modes over one engine, switched with single keys.

First paint never waits for the engine: ``TemplarApp`` receives an engine, a factory, or
nothing (then ``Engine.from_settings()``), and opens it in a thread worker after the first
frame; until then screens say "opening the database…" (and keys already work). Nothing here
imports litellm or the engine's service module at import time (seconds and ~0.7 s).

State the whole app shares lives here as reactives (engine state, current project and agent,
pending-review count, the provider note); screens and widgets watch them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from engine import __version__
from tui.messages import (
    ConfigChecked,
    EngineFailed,
    EngineReady,
    LlmClientWarmed,
    PendingCounted,
    ProvidersChecked,
    ScopesLoaded,
)
from tui.modes import LABELS, SCREENS, screen_classes, screen_factory
from tui.modes import MODES as MODE_KEYS
from tui.theme import TEMPLAR_THEME

if TYPE_CHECKING:
    from engine.service import Engine

STYLES = Path(__file__).with_name("styles")
# The footer shows the five mode keys together ("g l b c r modes"); the mode bar names each.
MODE_GROUP = Binding.Group("modes")


class TemplarApp(App[int]):
    """Templar's full-screen app."""

    CSS_PATH = [
        STYLES / name
        for name in (
            "app.tcss",
            "generate.tcss",
            "library.tcss",
            "budget.tcss",
            "config.tcss",
            "review.tcss",
            "dialogs.tcss",
        )
    ]
    TITLE = "Templar"
    SUB_TITLE = f"v{__version__}"
    MODES = {mode: screen_factory(mode) for mode in SCREENS}
    DEFAULT_MODE = "generate"
    # Under 100 columns every screen carries "-narrow" (the TCSS stacks panes and trims chrome).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        # Not in the footer: the mode bar already shows each mode with its key, and the footer's
        # width is for the focused widget's and the screen's actions.
        *(
            Binding(key, f"switch_mode('{mode}')", label, id=f"mode.{mode}", group=MODE_GROUP, show=False)
            for key, mode, label in MODE_KEYS
        ),
        Binding("question_mark,f1", "help", "Help", id="app.help", key_display="?"),
        Binding("ctrl+r", "reload", "Reload", id="app.reload", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    engine_state: reactive[str] = reactive("opening")
    project: reactive[str] = reactive("default")
    agent: reactive[str] = reactive("default")
    pending: reactive[int] = reactive(0)
    scopes: reactive[dict[str, list[str]]] = reactive(dict, always_update=True)
    provider_note: reactive[str] = reactive("")
    # "" (not needed: no provider has a key) → "loading" → "ready" | "failed"
    llm_state: reactive[str] = reactive("")
    # While an answer streams: its rate ("38 tok/s"), shown in the mode bar; "" otherwise.
    stream_rate: reactive[str] = reactive("")
    # A config file that broke while the engine runs (its one line; "" when the files are fine).
    config_problem: reactive[str] = reactive("")
    # Seconds between polls of the config files' identities (engine.config.watch says why polling).
    CONFIG_POLL_S = 1.0

    def __init__(
        self,
        engine: Any = None,
        *,
        on_first_paint: Callable[[TemplarApp], None] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        # The theme is set before the first stylesheet parse: setting it in on_mount would parse
        # every stylesheet a second time before the first frame.
        self.register_theme(TEMPLAR_THEME)
        self.set_reactive(App.theme, TEMPLAR_THEME.name)
        self.stylesheet.set_variables(self.get_css_variables())
        self._engine_source = engine
        self.engine: Engine | None = None
        # An engine handed in belongs to the caller; one the app built (itself or by a factory) is closed by it.
        self.owns_engine = engine is None or not hasattr(engine, "generate_events")
        self.engine_error = ""
        self.engine_exception: BaseException | None = None
        self.errors: list[str] = []
        self.provider_rows: list[dict[str, Any]] = []
        self.no_keys = False
        self.environ = environ
        self._first_paint = on_first_paint
        self.config_exception: BaseException | None = None
        self._config_stamp: object = None
        self._config_timer: Any = None

    # -- start-up -----------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._first_paint is not None:
            self.call_after_refresh(self._first_paint, self)
        # After the first frame: the engine's imports (about 0.7 s) must not compete with it.
        self.call_after_refresh(self.open_engine)

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def open_engine(self) -> None:
        source = self._engine_source
        try:
            if source is None:
                from engine.service import Engine

                engine = Engine.from_settings()
            elif hasattr(source, "generate_events"):
                engine = source
            else:
                engine = source()
        except Exception as exc:  # noqa: BLE001 - a bad config or database is shown, not raised
            self.post_message(EngineFailed(exc))
            return
        self.post_message(EngineReady(engine))

    @on(EngineReady)
    def _engine_ready(self, message: EngineReady) -> None:
        if self.engine_error:  # recovered: the failure's toasts are stale now
            self.clear_notifications()
            self.engine_error, self.engine_exception = "", None
        self.engine = message.engine
        self.engine_state = "ready"
        self.refresh_pending()
        self.load_scopes()
        self.check_providers()
        self.set_interval(15, self.refresh_pending, name="pending")
        self.watch_config_files()

    @on(EngineFailed)
    def _engine_failed(self, message: EngineFailed) -> None:
        self.engine_error = str(message.error)
        self.engine_exception = message.error
        self.engine_state = "failed"
        self.report_error(message.error, title="Cannot open the engine", timeout=30)
        self.watch_config_files()

    def shutdown_engine(self) -> None:
        """Close the engine if the app opened it (call after ``run()`` returns)."""
        if self.engine is not None and self.owns_engine:
            self.engine.close()
        self.engine = None

    # -- config files saved while the app runs -------------------------------------------------

    def watch_config_files(self) -> None:
        """Start polling the config files (once; after the engine opened or failed, so the
        config modules are already imported and the first frame is long gone)."""
        if self._config_timer is None:
            self._config_stamp = self._read_config_stamp()
            self._config_timer = self.set_interval(self.CONFIG_POLL_S, self.poll_config_files, name="config-watch")

    def _read_config_stamp(self) -> object:
        from engine.api.config import ConfigDesk

        try:
            if self.engine is not None:
                return self.engine.config_stamp()
            return ConfigDesk.from_env().config_stamp()
        except Exception:  # noqa: BLE001 - an unreadable config dir: the banner already says why
            return None

    def poll_config_files(self) -> None:
        """A saved config file reloads as ctrl+r does: a failed engine opens again, a running one
        re-reads the cascade (a newly broken file shows the banner; a fixed one clears it)."""
        current = self._read_config_stamp()
        if current is None or current == self._config_stamp:
            return
        self._config_stamp = current
        if self.engine is None:
            if self.engine_state == "failed":
                self.notify("A config file changed: reloading…", timeout=3)
                self.engine_state = "opening"
                self.open_engine()
            return
        self.check_config()

    @work(thread=True, exclusive=True, group="config-check", exit_on_error=False)
    def check_config(self) -> None:
        engine = self.engine
        if engine is None:
            return
        try:
            engine.config(self.project, self.agent)
        except Exception as exc:  # noqa: BLE001 - shown in the banner, never raised
            self.post_message(ConfigChecked(exc))
            return
        self.post_message(ConfigChecked(None))

    @on(ConfigChecked)
    def _config_checked(self, message: ConfigChecked) -> None:
        if self.config_problem and message.error is None:
            self.clear_notifications()  # the broken file's toasts are stale now
        self.config_exception = message.error
        self.config_problem = "" if message.error is None else str(message.error)
        self.load_scopes()
        self.check_providers()
        from tui.screens.base import TemplarScreen

        if isinstance(self.screen, TemplarScreen):
            self.screen.reload()

    # -- shared state -------------------------------------------------------------------------

    def refresh_pending(self) -> None:
        if self.engine is not None:
            self.count_pending()

    @work(exclusive=True, group="pending", exit_on_error=False)
    async def count_pending(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            count = await engine.pending_suggestion_count()
        except Exception:  # noqa: BLE001 - a stale count is not worth a notification
            return
        self.post_message(PendingCounted(count))

    @on(PendingCounted)
    def _pending(self, message: PendingCounted) -> None:
        self.pending = message.count

    def load_scopes(self) -> None:
        if self.engine is not None:
            self.read_scopes()

    @work(exclusive=True, group="scopes", exit_on_error=False)
    async def read_scopes(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            scopes = await engine.config_projects()
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc, title="Projects")
            return
        self.post_message(ScopesLoaded(scopes))

    @on(ScopesLoaded)
    def _scopes(self, message: ScopesLoaded) -> None:
        self.scopes = message.scopes

    @work(exclusive=True, group="providers", exit_on_error=False)
    async def check_providers(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            check = await engine.providers(self.project, self.agent, environ=self.environ)
        except Exception as exc:  # noqa: BLE001
            self.post_message(ProvidersChecked([], f"Configuration error: {exc}"))
            return
        hint = check.error or (f"{check.hint} Then restart Templar." if check.hint else "")
        self.post_message(ProvidersChecked([dict(r) for r in check.rows], hint))

    @on(ProvidersChecked)
    def _providers(self, message: ProvidersChecked) -> None:
        self.provider_rows = message.rows
        self.no_keys = bool(message.hint)
        if message.hint:
            self.provider_note = message.hint
        else:
            if self.llm_state == "" and any(r["key"] != "missing" for r in message.rows):
                self.llm_state = "loading"
                self.warm_llm_client()
            marks = [f"{r['provider']} {'✓' if r['key'] != 'missing' else '✗ no key'}" for r in message.rows]
            self.provider_note = "providers (chain order): " + " · ".join(marks)

    @work(exclusive=True, group="llm-warmup", exit_on_error=False)
    async def warm_llm_client(self) -> None:
        """Import the LLM client (seconds, in the engine's worker thread) in the background, long
        after the first frame, so the first paid call of a session does not wait for it."""
        engine = self.engine
        assert engine is not None
        try:
            await engine.warm_up_llm()
        except Exception as exc:  # noqa: BLE001 - the paid call will report it properly
            self.post_message(LlmClientWarmed(exc))
            return
        self.post_message(LlmClientWarmed(None))

    @on(LlmClientWarmed)
    def _llm_warmed(self, message: LlmClientWarmed) -> None:
        self.llm_state = "ready" if message.error is None else "failed"

    def watch_project(self) -> None:
        if self.engine is not None:
            self.check_providers()

    # -- errors -------------------------------------------------------------------------------

    def report_error(self, error: BaseException, *, title: str | None = None, timeout: float = 10) -> None:
        """Show an error as a notification (never raise): Templar errors as their one line."""
        from engine.errors import TemplarError

        if isinstance(error, TemplarError):
            text = str(error) or error.kind
            title = title or error.kind.replace("_", " ")
        else:
            text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        from engine.scrub import scrub

        text = scrub(text)  # the one scrubber: a provider's error text may echo a key
        self.errors.append(text)
        self.log.error(title, text)
        self.notify(text, title=title or "Error", severity="error", timeout=timeout, markup=False)

    # -- navigation and commands -----------------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_reload(self) -> None:
        if self.engine_state == "failed" and self.engine is None:
            # Recover without a restart: open the engine again from the (fixed) files.
            self.engine_state = "opening"
            self.open_engine()
            return
        if self.engine is not None:
            self._config_stamp = self._read_config_stamp()
            self.check_config()  # clears (or shows) the banner of a file broken while running
            return
        await self.screen.run_action("reload")

    def open_review(self, suggestion_id: int | None = None) -> None:
        self.switch_mode("review")
        if suggestion_id is not None:
            self.call_after_refresh(self._select_suggestion, suggestion_id)

    def _select_suggestion(self, suggestion_id: int) -> None:
        screen: Any = self.screen
        if screen.__class__.__name__ == "ReviewScreen":
            screen.select_suggestion(suggestion_id)

    def run_in_mode(self, mode: str, action: str) -> None:
        """Switch to ``mode`` (if needed), then run one of its screen's actions."""
        if self.current_mode != mode:
            self.switch_mode(mode)
        self.call_after_refresh(self._run_screen_action, action)

    async def _run_screen_action(self, action: str) -> None:
        await self.screen.run_action(action)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key, mode, label in MODE_KEYS:
            yield SystemCommand(
                f"Go to {label} ({key})",
                f"Switch to the {label.lower()} screen",
                lambda mode=mode: self.switch_mode(mode),
            )
        yield SystemCommand("Help (?)", "Every key on every screen", self.action_help)
        for mode, cls in screen_classes().items():
            for binding in cls.BINDINGS:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                key = binding.key_display or binding.key
                yield SystemCommand(
                    f"{LABELS[mode]}: {binding.description} ({key})",
                    binding.tooltip or f"On the {LABELS[mode].lower()} screen, key {key}",
                    lambda mode=mode, action=binding.action: self.run_in_mode(mode, action),
                )


def run_app() -> int:
    first_paint = os.environ.get("TEMPLAR_FIRST_PAINT_FILE")
    app = TemplarApp(on_first_paint=_first_paint_probe(first_paint) if first_paint else None)
    try:
        result = app.run()
    finally:
        app.shutdown_engine()
    return int(result or 0)


def _first_paint_probe(path: str) -> Callable[[TemplarApp], None]:
    """For bench/first_paint.py: after the first frame, record the time and whether litellm
    was loaded, then exit."""

    def probe(app: TemplarApp) -> None:
        import sys
        import time

        Path(path).write_text(f"{time.time()} {'litellm' in sys.modules}\n", encoding="utf-8")
        app.exit(0)

    return probe
