"""Templar's log: standard ``logging`` under the ``templar`` logger, scrubbed, in a rotating file.

Modules log with ``log = get_logger("chain")`` (the logger ``templar.chain``); they never print.

Invariants:

* library etiquette: importing any engine module attaches NO handler and sets no level (only a
  ``NullHandler`` on ``templar``, so Python's last-resort handler never prints our records on a
  script's stderr). Only the entry points (the ``templar`` CLI, the app) call ``configure``.
* never a secret: every handler ``configure`` attaches formats through ``ScrubbingFormatter``,
  which runs the one scrubber (``engine.scrub``) over the finished line: message, ``%`` args,
  exception text and stack alike, so nothing reaches the file or stderr unscrubbed.
* fast paths stay fast: the rotating file handler (``logging.handlers`` pulls in socket, pickle,
  queue) is imported and the file opened only when the first record is written; a template hit
  that logs nothing imports neither.
* level: ``--log-level`` (CLI) > ``TEMPLAR_LOG_LEVEL`` > WARNING. The file always receives records
  at that level; stderr receives them only when the CLI asked for it with ``--log-level``.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

ROOT_NAME = "templar"
LOG_FILE_NAME = "templar.log"
MAX_BYTES = 2 * 1024 * 1024  # per file ...
BACKUP_COUNT = 3  # ... and this many rotated files: at most 8 MB of log
DEFAULT_LEVEL = "WARNING"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

logging.getLogger(ROOT_NAME).addHandler(logging.NullHandler())


def get_logger(part: str) -> logging.Logger:
    """The logger ``templar.<part>`` (``get_logger("chain")`` -> ``templar.chain``)."""
    return logging.getLogger(f"{ROOT_NAME}.{part}" if part else ROOT_NAME)


def log_path(data_dir: Path) -> Path:
    """Where the log file lives: ``<data dir>/templar.log`` (rotated to ``.1`` ... ``.3``)."""
    return data_dir / LOG_FILE_NAME


def parse_level(text: str | None, origin: str = "--log-level") -> int | None:
    """A level name (any case) or None for empty; a clear ValueError naming ``origin`` otherwise."""
    if text is None or not text.strip():
        return None
    name = text.strip().upper()
    if name not in LEVELS:
        raise ValueError(
            f"{origin}: {text!r} is not a log level; use one of {', '.join(name.lower() for name in LEVELS)}"
        )
    return int(getattr(logging, name))


class ScrubbingFormatter(logging.Formatter):
    """Formats a record, then scrubs the whole line (message, args, exception text, stack)."""

    def format(self, record: logging.LogRecord) -> str:
        from engine.scrub import scrub

        return scrub(super().format(record))

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]
        from engine.scrub import scrub

        return scrub(super().formatException(ei))


class _LazyRotatingFile(logging.Handler):
    """A ``RotatingFileHandler`` created on the first record (creating the data dir then)."""

    def __init__(self, path: Path, level: int) -> None:
        super().__init__(level)
        self.path = path
        self._inner: logging.Handler | None = None
        self._open_lock = threading.Lock()

    def _target(self) -> logging.Handler:
        with self._open_lock:
            if self._inner is None:
                from logging.handlers import RotatingFileHandler

                self.path.parent.mkdir(parents=True, exist_ok=True)
                inner = RotatingFileHandler(self.path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
                inner.setFormatter(self.formatter)
                self._inner = inner
            return self._inner

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._target().emit(record)
        except Exception:  # noqa: BLE001 - logging must never break a command
            self.handleError(record)

    def close(self) -> None:
        with self._open_lock:
            if self._inner is not None:
                self._inner.close()
                self._inner = None
        super().close()


_configured: list[logging.Handler] = []


def configure(
    data_dir: Path, level: str | None = None, *, stderr: bool = False, environ: dict[str, str] | None = None
) -> Path:
    """Attach the scrubbed rotating file (and, if ``stderr``, a scrubbed stderr stream) to the
    ``templar`` logger. ``level`` wins over ``TEMPLAR_LOG_LEVEL``; a bad env value falls back to
    WARNING (a bad ``level`` raises ValueError). Calling it again replaces the handlers. Returns
    the log file's path."""
    env = os.environ if environ is None else environ
    chosen = parse_level(level)
    if chosen is None:
        try:
            chosen = parse_level(env.get("TEMPLAR_LOG_LEVEL"), "TEMPLAR_LOG_LEVEL")
        except ValueError:
            chosen = None
    if chosen is None:
        chosen = int(getattr(logging, DEFAULT_LEVEL))
    root = logging.getLogger(ROOT_NAME)
    reset()
    formatter = ScrubbingFormatter(FORMAT)
    path = log_path(data_dir)
    handlers: list[logging.Handler] = [_LazyRotatingFile(path, chosen)]
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setLevel(chosen)
        handler.setFormatter(formatter)
        root.addHandler(handler)
        _configured.append(handler)
    root.setLevel(chosen)
    return path


def reset() -> None:
    """Remove and close the handlers ``configure`` attached (tests; a second configure)."""
    root = logging.getLogger(ROOT_NAME)
    while _configured:
        handler = _configured.pop()
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.NOTSET)


__all__ = [
    "LEVELS",
    "LOG_FILE_NAME",
    "ScrubbingFormatter",
    "configure",
    "get_logger",
    "log_path",
    "parse_level",
    "reset",
]
