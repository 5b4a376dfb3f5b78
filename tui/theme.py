"""Templar's colour theme (registered by the app; every TCSS file uses its variables)."""

from __future__ import annotations

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
