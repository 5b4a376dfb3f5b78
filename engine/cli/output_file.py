"""Writing ``generate --output FILE`` without ever losing the answer.

Invariants: the file is written whole or not at all (temporary file in the same directory, then
a rename), so a full or read-only disk leaves no half-written file and never replaces a device
node. When the write fails, the answer is still printed (stdout or ``--json``), a validated paid
answer stays in the response cache, and the one-line error says both; the exit code is 2.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def write_output(path: Path, code: str) -> str | None:
    """Write ``code`` to ``path``; None when done, else why not (one line, no path-less text)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        return f"cannot write --output {path}: {exc.strerror or exc}"
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(code)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        return f"cannot write --output {path}: {exc.strerror or exc}"
    return None


def kept_where(result: Any, json_output: bool) -> str:
    """Where the answer is, after --output failed: the text of the error line's second half."""
    shown = "in the JSON above" if json_output else "printed above"
    if result.source == "llm" and result.validation_ok:
        return f"the answer is {shown} and kept in the response cache (ask again to get it at $0)"
    return f"the answer is {shown}"
