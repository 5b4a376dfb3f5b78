"""``--progress text|json`` and ``--quiet`` for the commands that report progress (``generate``,
``batch``). Kept apart from ``engine.cli.output`` so building the parser imports nothing more."""

from __future__ import annotations

import argparse

PROGRESS_FORMATS = ("text", "json")


def add_progress_flags(parser: argparse.ArgumentParser) -> None:
    """Progress goes to stderr unless ``--quiet``, whatever stdout carries: ``--json`` keeps
    stdout one clean JSON document, and ``--progress json`` makes stderr JSON lines."""
    parser.add_argument(
        "--progress",
        choices=PROGRESS_FORMATS,
        default="text",
        help="progress on stderr as text lines (default) or JSON lines, one object per event",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no progress on stderr (errors and warnings are still shown)"
    )
