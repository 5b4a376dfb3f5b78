"""Reading and writing files a user names, without hanging, flooding memory or clobbering.

Invariants:
- A file is read only if it is a regular file: a FIFO, a device (``/dev/zero``), a socket or a
  directory is refused with one clear line. Opening never blocks (``O_NONBLOCK``: a FIFO with no
  writer would otherwise wait forever), and at most ``limit + 1`` bytes are ever read, so a file
  that grows while being read, or lies about its size, cannot flood memory.
- A destination is written only where a regular file may go: its directory must exist and be a
  directory, and an existing destination must be a regular file (never a directory, device,
  FIFO or socket — a device node is never replaced by a rename).
Errors are ``BadInput`` (exit 2) naming the path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from engine.errors import BadInput


class UnreadableFile(BadInput):
    """A named file that cannot be read as asked; ``reason`` is the message without the path."""

    kind = "bad_input"

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def kind_of(mode: int) -> str:
    """A word for a file type, for messages."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular(path: Path, limit: int, *, what: str = "file", describe_limit: str | None = None) -> bytes:
    """The bytes of ``path``, or BadInput: missing, unreadable, not a regular file, over ``limit``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read the {what}: {_reason(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(path, f"the {what} is {kind_of(info.st_mode)}, not a regular file")
        too_big = f"the {what} is larger than {describe_limit or _size(limit)}"
        if info.st_size > limit:
            raise UnreadableFile(path, too_big)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(path, too_big)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read the {what}: {_reason(exc)}") from None
    finally:
        os.close(fd)


def check_destination(path: Path, *, what: str = "file") -> None:
    """BadInput unless a regular file can be written at ``path`` (see the module invariants)."""
    parent = path.parent
    try:
        parent_mode = os.stat(parent).st_mode
    except OSError as exc:
        raise BadInput(f"{path}: cannot write the {what}: directory {parent} {_missing_or(exc)}") from None
    if not stat.S_ISDIR(parent_mode):
        raise BadInput(f"{path}: cannot write the {what}: {parent} is not a directory")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BadInput(f"{path}: cannot write the {what}: {_reason(exc)}") from None
    if not stat.S_ISREG(mode):
        raise BadInput(f"{path}: cannot write the {what} there: it is {kind_of(mode)}; give a file name")


def _missing_or(exc: OSError) -> str:
    return "does not exist" if exc.errno == errno.ENOENT else f"cannot be used: {_reason(exc)}"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _size(limit: int) -> str:
    return f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit // 1000} kB"


__all__ = ["UnreadableFile", "check_destination", "kind_of", "read_regular"]
