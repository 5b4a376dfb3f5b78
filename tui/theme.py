"""Templar's colour theme (registered by the app; every TCSS file uses its variables), and
``themed``: the app's Rich text with named colours turned into the theme's colours, so a theme
switch (light themes included) recolours it and nothing stays terminal-yellow on white."""

from __future__ import annotations

from typing import Any

from textual.theme import Theme

TEMPLAR_THEME = Theme(
    name="templar",
    primary="#5FAFD7",
    secondary="#8787D7",
    accent="#FFAF5F",
    warning="#FFD75F",
    error="#FF5F5F",
    success="#87D787",
    foreground="#D7D7D7",
    background="#1C1C1C",
    surface="#262626",
    panel="#303030",
    dark=True,
)


# Named terminal colours used in the app's Rich text → the theme's semantic colours.
NAMED_TO_THEME = {
    "red": "text-error",
    "green": "text-success",
    "yellow": "text-warning",
    "cyan": "text-primary",
    "blue": "text-primary",
    "magenta": "text-secondary",
}
NAMED_BACKGROUND = {
    "red": "error",
    "green": "success",
    "yellow": "warning",
    "cyan": "primary",
    "blue": "primary",
    "magenta": "secondary",
    "black": "background",
    "white": "foreground",
}


def _theme_style(style: str, resolve: dict[str, str] | None) -> str:
    """``"bold red"`` → ``"bold $text-error"``; ``"black on green"`` → ``"$background on $success"``.
    With ``resolve`` (the app's CSS variables), variables become their colours (for Rich-only
    widgets such as RichLog, which cannot read variables)."""
    words, out, background = style.split(), [], False
    for word in words:
        name = (NAMED_BACKGROUND if background else NAMED_TO_THEME).get(word)
        if name is None and word == "black":
            name = "background"
        if name is None and word == "white":
            name = "foreground"
        if name is not None:
            word = resolve.get(name, word) if resolve is not None else f"${name}"
        out.append(word)
        background = word == "on"
    if resolve is None:
        return " ".join("$text-muted" if w == "dim" else w for w in out)
    return " ".join(out)


def themed(text: Any, resolve: dict[str, str] | None = None) -> Any:
    """Rich ``Text`` written with named colours, restyled in the theme's colours: as ``Content``
    over theme variables (recoloured on a theme switch), or with ``resolve`` as ``Text`` in the
    current theme's colours."""
    from rich.text import Span as RichSpan
    from rich.text import Text
    from textual.content import Content, Span

    if not isinstance(text, Text):
        return text
    spans = ([(0, len(text.plain), str(text.style))] if str(text.style) else []) + [
        (s.start, s.end, str(s.style)) for s in text.spans
    ]
    if resolve is not None:
        out = Text(text.plain, end=text.end)
        out.spans = [RichSpan(a, b, _theme_style(s, resolve)) for a, b, s in spans]
        return out
    return Content(text.plain, [Span(a, b, _theme_style(s, None)) for a, b, s in spans])
