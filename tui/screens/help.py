"""The help screen: what Templar does, and every key on every screen (read from the bindings,
so it cannot drift from what the keys do)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Answers come from the cheapest source that can answer correctly: learned template → built-in "
    "template → response cache → provider chain (paid, budgeted, retried). Every answer is validated; "
    "paid answers that pass become suggestions you review (r) before they answer for $0.\n\n"
    "Single keys work when no text box has the focus: esc leaves a text box. ctrl+p opens the command "
    "palette with every action; q quits."
)


def _key(binding: Binding) -> str:
    return binding.key_display or binding.key.split(",")[0]


def sections() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(title, about, [(key, action)]) for the app and each mode."""
    from tui.app import TemplarApp
    from tui.modes import LABELS, screen_classes

    def keys(bindings: list[Any]) -> list[tuple[str, str]]:
        # the footer's short label, and the tooltip's detail where the label alone is terse
        return [
            (_key(b), f"{b.description} — {b.tooltip}" if b.tooltip else b.description)
            for b in bindings
            if isinstance(b, Binding) and b.description
        ]

    out = [("Everywhere", "", keys(list(TemplarApp.BINDINGS)) + [("ctrl+p", "Command palette")])]
    for mode, screen in screen_classes().items():
        out.append((LABELS[mode], getattr(screen, "HELP", ""), keys(list(screen.BINDINGS))))
    return out


def shown_path(path: Path) -> str:
    """``path`` as a person would type it: under ``$TEMPLAR_HOME`` or ``~`` when it is."""
    for prefix, root in (("$TEMPLAR_HOME", os.environ.get("TEMPLAR_HOME")), ("~", str(Path.home()))):
        if root and path.is_relative_to(Path(root).expanduser()):
            return f"{prefix}/{path.relative_to(Path(root).expanduser()).as_posix()}"
    return str(path)


def log_line(log_file: Path | None) -> str:
    if log_file is None:
        return ""
    return f"Log file: {shown_path(log_file)} (level: templar --log-level LEVEL, or TEMPLAR_LOG_LEVEL)"


def help_text(log_file: Path | None = None) -> str:
    """The help as plain text (what the screen shows)."""
    lines = [INTRO, ""]
    for title, about, keys in sections():
        lines += [title, about] + [f"{key}  {action}" for key, action in keys] + [""]
    if log_file is not None:
        lines.append(log_line(log_file))
    return "\n".join(lines)


def help_renderable(log_file: Path | None = None) -> RenderableType:
    parts: list[RenderableType] = [Text("Templar", style="bold"), Text(INTRO), Text("")]
    for title, about, keys in sections():
        parts.append(Text(title, style="bold underline"))
        if about:
            parts.append(Text(about, style="dim"))
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 1))
        table.add_column(style="bold", width=8)
        table.add_column()
        for key, action in keys:
            table.add_row(Text(key), Text(action))
        parts += [table, Text("")]
    if log_file is not None:
        parts.append(Text(log_line(log_file), style="dim"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,f1,q", "close", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog"):
            engine = getattr(self.app, "engine", None)
            yield Static(help_renderable(getattr(engine, "log_file", None)), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
