"""Task text checks and code extraction from model answers."""

from __future__ import annotations

import re

from engine.errors import BadInput
from engine.safe_text import has_bidi_controls, is_blank

MAX_TASK_CHARS = 20_000
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # undecodable argv bytes (surrogateescape)


def clean_task(task: str) -> str:
    """A task as it will be used, or BadInput: not empty, not huge, no control characters."""
    if not isinstance(task, str):
        raise BadInput("the task must be text")
    if "\ufffd" in task or _SURROGATE.search(task):
        raise BadInput("the task is not valid UTF-8 text")
    if _CONTROL.search(task):
        raise BadInput("the task contains control characters; remove them")
    if has_bidi_controls(task):
        raise BadInput("the task contains bidirectional control characters; remove them")
    stripped = task.strip()
    if not stripped or is_blank(stripped):  # zero-width and other invisible characters count as nothing
        raise BadInput("the task is empty: describe the code you want")
    if len(stripped) > MAX_TASK_CHARS:
        raise BadInput(f"the task is {len(stripped):,} characters; the limit is {MAX_TASK_CHARS:,}")
    return stripped


def extract_code(text: str, language: str = "python") -> str:
    """The code in an answer: the first fenced block in ``language`` (or any), else the text."""
    blocks = _FENCE.findall(text)
    for lang, body in blocks:
        if lang.lower() in (language.lower(), "py" if language == "python" else language):
            return str(body).strip("\n") + "\n"
    if blocks:
        return str(blocks[0][1]).strip("\n") + "\n"
    return text.strip() + "\n" if text.strip() else ""
