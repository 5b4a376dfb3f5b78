"""Text a person will see or a file name will carry: invisible, control and bidi characters.

Invariants:
- A text made only of whitespace and invisible characters (zero-width spaces and joiners,
  byte order marks, bidi marks, fillers such as U+3164 or U+2800, lone combining marks) is
  blank: a task like that is empty, never a paid call.
- A template name is plain: 1 to 60 characters, no control, format (zero-width, bidi) or line
  separator characters, no path parts (``/``, ``\\``, ``..``, a leading dot).
- ``shown`` escapes every control and format character, so a hostile name or task printed on a
  terminal can neither move the cursor, recolour it nor reorder the text around it.
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 60
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Cn", "Co", "Cs"}
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e", "\u17b4", "\u17b5"}
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_visible(char: str) -> bool:
    return char not in _FILLERS and unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only whitespace and invisible characters."""
    return not any(is_visible(c) for c in text)


def has_bidi_controls(text: str) -> bool:
    return any(c in BIDI_CONTROLS for c in text)


def _unsafe_char(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a template name, or None when it can."""
    if not isinstance(name, str):
        return "the name must be text"
    if is_blank(name):
        return "the name is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"the name is longer than {MAX_NAME_CHARS} characters"
    if any(_unsafe_char(c) for c in name):
        return f"the name {shown(name)} contains control, zero-width or bidi characters"
    if "/" in name or "\\" in name or ".." in name or name.startswith("."):
        return f"the name {shown(name)} looks like a path (/, \\, .. or a leading dot)"
    return None


def shown(text: str) -> str:
    """``text`` with every control and format character escaped (``\\x1b``, ``\\u202e``)."""
    out = []
    for c in text:
        if _unsafe_char(c):
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(c)
    return "".join(out)


__all__ = ["BIDI_CONTROLS", "MAX_NAME_CHARS", "has_bidi_controls", "is_blank", "is_visible", "name_problem", "shown"]
