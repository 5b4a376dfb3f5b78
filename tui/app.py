"""The Textual app. Until the full app lands this is the welcome screen: it opens instantly,
shows which providers have keys, and tells how to add one. Engine work runs in workers."""

from __future__ import annotations

import os
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from engine import __version__


class TemplarApp(App[int]):
    """Templar's app shell."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Templar"
    SUB_TITLE = f"v{__version__}"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("r", "refresh", "Refresh", id="refresh"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="welcome"):
            yield Static("Templar — code generation that gets cheaper every time it is used.", id="tagline")
            yield Static("Checking configuration…", id="providers")
            yield Static("", id="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load_status()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_status(self) -> None:
        from engine.cli.doctor import ADD_PROVIDER_HINT, provider_rows
        from engine.config import load_config
        from engine.errors import TemplarError

        try:
            settings = load_config().settings
        except TemplarError as exc:
            self.call_from_thread(self._show, f"[b red]Configuration error[/]\n{exc}", "")
            return
        rows = provider_rows(settings, os.environ)
        lines = ["[b]Providers[/] (chain order)"]
        for row in rows:
            colour = "green" if row["key"] != "missing" else "yellow"
            env = f" ({row['key_env']})" if row["key_env"] else ""
            lines.append(f"  {row['provider']:<10} {row['model']:<34} [{colour}]key {row['key']}{env}[/]")
        hint = ""
        if all(r["key"] == "missing" for r in rows):
            hint = (
                "[b yellow]No provider has an API key.[/] Templates and the cache still answer for $0.\n"
                + ADD_PROVIDER_HINT[0].upper() + ADD_PROVIDER_HINT[1:] + "."
            )
        self.call_from_thread(self._show, "\n".join(lines), hint)

    def _show(self, providers: str, hint: str) -> None:
        self.query_one("#providers", Static).update(providers)
        self.query_one("#hint", Static).update(hint)


def run_app() -> int:
    result = TemplarApp().run()
    return int(result or 0)
