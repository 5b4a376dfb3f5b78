"""Pure formatting for the app: money, times, paths, config values, highlighted patterns.

No Textual imports and no engine imports beyond cheap modules: screens call these from
handlers, and tests call them directly. Amounts are integer micro-dollars unless a name says
``usd``. Times are shown in UTC so that what the app shows does not depend on the machine.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.text import Text

from engine.money import format_usd, usd_to_micros

SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")
PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
SOURCE_STYLE = {"learned": "success", "builtin": "success", "cache": "primary", "llm": "warning"}


def usd(micros: int | None) -> str:
    """``$0.000123`` below a cent, ``$1,234.50`` above; an em dash for no value."""
    return format_usd(micros)


def usd_f(dollars: float | None) -> str:
    return "—" if dollars is None else format_usd(usd_to_micros(dollars))


def when(ts: float | None) -> str:
    """A timestamp as ``2026-11-03 14:05`` (UTC)."""
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def when_short(ts: float | None) -> str:
    """``11-03 14:05`` (UTC): for tables that also show the period or year."""
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%m-%d %H:%M")


def short_source(source: str, config_dir: Path | None = None, system_file: Path | None = None) -> str:
    """A provenance source without machine-specific directories: ``projects/acme.toml``,
    ``settings.toml (system)``, ``user settings.toml``; other values unchanged."""
    if not source or "/" not in source:
        return source
    path = Path(source)
    if system_file is not None and path == system_file:
        return "settings.toml"
    if config_dir is not None:
        try:
            return path.relative_to(config_dir).as_posix()
        except ValueError:
            pass
    return path.name


def show_value(value: Any, limit: int = 60) -> str:
    """A config value as one short line, TOML-like (strings unquoted)."""
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = text.replace("\n", "⏎")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def edit_text(value: Any) -> str:
    """A config value as text to edit; ``engine.config`` parses it back (TOML values, raw strings)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


SLOT_STYLE = "bold reverse"
FOCUS_STYLE = "bold black on yellow"


def highlight_pattern(pattern: str, focus: str | None = None) -> Text:
    """A task pattern with each ``{slot:type}`` highlighted (the ``focus`` parameter's more)."""
    text = Text(pattern)
    for m in SLOT.finditer(pattern):
        text.stylize(FOCUS_STYLE if focus and m.group(1) == focus else SLOT_STYLE, m.start(), m.end())
    return text


def highlight_body(body: str, focus: str | None = None) -> Text:
    """A template body with its ``{{ placeholders }}`` and ``{% tags %}`` highlighted (those
    that use the ``focus`` parameter more)."""
    text = Text(body)
    uses = re.compile(rf"\b{re.escape(focus)}\b") if focus else None
    for m in PLACEHOLDER.finditer(body):
        style = FOCUS_STYLE if uses is not None and uses.search(m.group(0)) else SLOT_STYLE
        text.stylize(style, m.start(), m.end())
    return text


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def cells(*values: Any) -> list[Text]:
    """Table cells as ``Text`` (a plain ``str`` would be parsed as Rich markup: ``[class]``
    in a pattern or ``["a"]`` in a value would vanish)."""
    return [v if isinstance(v, Text) else Text("" if v is None else str(v)) for v in values]
