"""The ``templar batch`` parser entry, apart from its handler.

``engine.cli.main`` builds every subcommand's parser on each run; this module is all it imports
for ``batch``, so ``templar generate`` never loads ``engine.cli.batch_cmd`` or ``engine.batch``
(the handler module is imported only when ``batch`` runs).
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.batch_exit import EXIT_RULE
from engine.cli.progress_flags import add_progress_flags

MAX_CONCURRENCY = 64

DESCRIPTION = """\
Run every task of FILE (JSON Lines, one object per line) through the same pipeline as
`templar generate`, at most N at a time:

  {"id": "dates", "task": "function that parses ISO dates", "project": "acme", "agent": "coder", "critical": false}

Only "task" is required; "id" (string or integer) identifies a task across runs and defaults to a
hash of the task text, project and agent. Malformed lines are reported with their line number and
the other lines still run.

Resumable: each finished task is recorded durably (fsync) in a results log in the data dir
before it counts as done; running the same FILE again skips the tasks already done (same id and
same task text, project and agent) and says so, and runs the failed, refused and unfinished ones.
Ctrl-C stops cleanly: no new task starts, in-flight calls are cancelled and their budget
reservations released, and the summary says how many tasks are left (Ctrl-C twice forces).
"""

EPILOG = f"""\
{EXIT_RULE}

examples:
  templar batch tasks.jsonl --concurrency 8 --project acme
  templar batch tasks.jsonl --json > results.json     progress on stderr, JSON on stdout
  templar batch tasks.jsonl --json --progress json    progress as JSON lines on stderr (--quiet: none)
"""


def register(sub: Any, formatter: type[argparse.HelpFormatter]) -> argparse.ArgumentParser:
    """Add ``batch`` to the ``templar`` subcommands."""
    p: argparse.ArgumentParser = sub.add_parser(
        "batch",
        help="run a JSONL file of tasks: bounded concurrency, progress, resumable",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("file", help="JSON Lines file of tasks")
    p.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=4,
        metavar="N",
        help=f"tasks running at once (1-{MAX_CONCURRENCY}, default 4)",
    )
    p.add_argument("--project", "-p", help="project for tasks that name none (default: default)")
    p.add_argument("--agent", "-a", help="agent for tasks that name none (default: default)")
    p.add_argument("--json", action="store_true", help="print the summary and every task's result as JSON on stdout")
    p.add_argument("--yes", "-y", action="store_true", help="confirm paid calls at budget level L5 critical")
    add_progress_flags(p)
    p.set_defaults(handler="engine.cli.batch_cmd:cmd_batch")
    return p
