"""Run the real ``templar`` CLI in a subprocess, with ``batch`` registered.

``engine.cli.main`` registers ``batch`` itself once its one-line hook lands; until then this
entry point adds it (``register`` from ``engine.cli.batch_cmd``) without touching main.py.
Usage: ``python -m tests.robustness.cli_entry batch FILE ...`` (cwd = repository root).
"""

from __future__ import annotations

import argparse

import engine.cli.main as cli_main
from engine.cli import batch_cmd

_original = cli_main.build_parser


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the templar parser has no subcommands")


def build_parser() -> argparse.ArgumentParser:
    parser = _original()
    sub = _subparsers(parser)
    if "batch" not in sub.choices:
        batch_cmd.register(sub, cli_main._Formatter)
    return parser


def install() -> None:
    """Make ``engine.cli.main.main`` know ``batch`` (idempotent)."""
    if cli_main.build_parser is not build_parser:
        cli_main.build_parser = build_parser


if __name__ == "__main__":
    import sys

    install()
    raise SystemExit(cli_main.main(sys.argv[1:]))
