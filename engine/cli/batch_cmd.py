"""``templar batch FILE``: a JSONL file of tasks, bounded concurrency, progress, resumable.

The parser entry lives in ``engine.cli.batch_args`` (so building the ``templar`` parser does not
import this module or ``engine.batch``); the work is ``engine.batch``. Progress goes to stderr (a rich progress bar on a terminal, plain
lines otherwise); the summary table (or, with ``--json``, the summary and every task's result)
goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from engine.batch import SOURCES, BatchRun, TaskOutcome
from engine.cli.batch_args import DESCRIPTION, EPILOG, MAX_CONCURRENCY, register  # noqa: F401 - re-exported
from engine.errors import BadInput
from engine.money import format_usd_exact, micros_to_usd

# -- progress ---------------------------------------------------------------------------------


def _counts_text(counts: dict[str, int], spend_micros: int) -> str:
    parts = [f"{name} {counts.get(name, 0)}" for name in (*SOURCES, "refused", "failed")]
    return "  ".join(parts) + f"  spend {format_usd_exact(spend_micros)}"


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.spend = 0

    def add(self, outcome: TaskOutcome) -> None:
        key = outcome.source if outcome.status == "ok" else outcome.status
        self.counts[key] = self.counts.get(key, 0) + 1
        self.spend += outcome.cost_micros


class PlainProgress:
    """One line per finished task on stderr (no terminal control codes: safe for logs and pipes)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tally = _Tally()

    def note(self, text: str) -> None:
        print(f"batch: {text}", file=sys.stderr, flush=True)

    def __call__(self, outcome: TaskOutcome) -> None:
        if outcome.status in ("skipped", "cancelled"):
            return
        self.done += 1
        self.tally.add(outcome)
        what = outcome.source if outcome.status == "ok" else f"{outcome.status}: {outcome.error[:120]}"
        print(
            f"batch: [{self.done}/{self.total}] {outcome.id}: {what} | "
            f"{_counts_text(self.tally.counts, self.tally.spend)}",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        pass


class QuietProgress(PlainProgress):
    """``--quiet``: no line per task; notes (a resumed run, an interruption) still show."""

    def __call__(self, outcome: TaskOutcome) -> None:
        pass


class JsonProgress(PlainProgress):
    """``--progress json``: one JSON object per line on stderr for each finished task (without its
    code: that is stdout's) and for each note."""

    def note(self, text: str) -> None:
        from engine.cli.output import json_line

        json_line({"event": "batch_note", "message": text})

    def __call__(self, outcome: TaskOutcome) -> None:
        from engine.cli.output import json_line

        if outcome.status in ("skipped", "cancelled"):
            return
        self.done += 1
        self.tally.add(outcome)
        task = {k: v for k, v in outcome.to_dict().items() if k != "code"}
        json_line(
            {
                "event": "batch_task",
                "done": self.done,
                "total": self.total,
                **task,
                "counts": dict(self.tally.counts),
                "spend_usd": micros_to_usd(self.tally.spend),
            }
        )


def make_progress(args: argparse.Namespace, todo: int) -> PlainProgress:
    """The progress the flags and the terminal call for (stderr is never stdout's JSON)."""
    if args.quiet:
        return QuietProgress(todo)
    if args.progress == "json":
        return JsonProgress(todo)
    return RichProgress(todo) if sys.stderr.isatty() and todo else PlainProgress(todo)


class RichProgress(PlainProgress):
    """A progress bar, and under it the counts by source and the spend (rich, which textual brings)."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        from rich.console import Console, Group
        from rich.live import Live
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.text import Text

        self.console = Console(file=sys.stderr)
        self.bar = Progress(
            TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=self.console
        )
        self.task = self.bar.add_task("batch", total=total)
        self.counts = Text(_counts_text({}, 0), no_wrap=False)
        self.live = Live(Group(self.bar, self.counts), console=self.console, refresh_per_second=8)
        self.live.start()

    def note(self, text: str) -> None:
        self.console.print(f"batch: {text}", markup=False, highlight=False)

    def __call__(self, outcome: TaskOutcome) -> None:
        if outcome.status in ("skipped", "cancelled"):
            return
        self.tally.add(outcome)
        if outcome.status != "ok":
            self.note(f"{outcome.id}: {outcome.status}: {outcome.error[:160]}")
        self.bar.update(self.task, advance=1)
        self.counts.plain = _counts_text(self.tally.counts, self.tally.spend)

    def close(self) -> None:
        self.live.stop()


# -- the command ------------------------------------------------------------------------------


async def _run(
    engine: Any, tasks: list[Any], log: Any, errors: list[Any], args: argparse.Namespace, progress: PlainProgress
) -> BatchRun:
    from engine.batch import run_batch

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[int] = []
    hits = 0

    def on_signal(signum: int) -> None:
        nonlocal hits
        hits += 1
        if hits == 1:
            progress.note(
                "interrupted: cancelling in-flight calls and releasing their reservations (press Ctrl-C again to force)"
            )
            stop.set()
        else:  # the next signal gets the default behaviour (KeyboardInterrupt / termination)
            for sig in installed:
                loop.remove_signal_handler(sig)

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, int(signum))
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / platform
            pass
    try:
        return await run_batch(
            engine,
            tasks,
            log,
            errors=errors,
            concurrency=args.concurrency,
            confirmed=args.yes,
            stop=stop,
            on_outcome=progress,
        )
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def cmd_batch(args: argparse.Namespace) -> int:
    from engine.api import check_scope_name
    from engine.batch import ResultLog, read_tasks
    from engine.cli.commands import open_engine
    from engine.cli.output import print_json

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise BadInput(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if args.project is not None:
        check_scope_name(args.project)
    if args.agent is not None:
        check_scope_name(args.agent, "agent")
    path = Path(args.file)
    tasks, errors = read_tasks(path, project=args.project, agent=args.agent)
    if not tasks and not errors:
        raise BadInput(f"{path}: no tasks (expected one JSON object per line)")
    for error in errors:
        print(f"templar: {path}:{error.line}: {error.message}", file=sys.stderr)
    engine = open_engine()
    log = None
    try:
        log = ResultLog.open(engine.paths.data_dir, path)
        todo = sum(1 for t in tasks if log.done(t) is None)
        progress = make_progress(args, todo)
        skipped = len(tasks) - todo
        if skipped:
            progress.note(
                f"{skipped} of {len(tasks)} tasks already done in an earlier run: skipped (results log {log.path})"
            )
        try:
            run = asyncio.run(_run(engine, tasks, log, errors, args, progress))
        finally:
            progress.close()
    finally:
        if log is not None:
            log.close()
        engine.close()
    if args.json:
        print_json(
            {
                "file": str(path),
                "results_log": str(log.path),
                "summary": run.summary(),
                "errors": [e.to_dict() for e in errors],
                "results": [o.to_dict() for o in run.outcomes],
            }
        )
    else:
        _print_summary(path, run)
    if run.interrupted:
        print(
            f"templar: batch interrupted: {run.left} task(s) left; run the same command again to finish them",
            file=sys.stderr,
        )
    return run.exit_code


def _print_summary(path: Path, run: BatchRun) -> None:
    from engine.cli.output import table

    counts = run.counts()
    rows = [(name, counts[name]) for name in (*SOURCES, "refused", "failed", "skipped", "left", "malformed")]
    print(
        f"batch {path}: {len(run.outcomes)} tasks in {run.elapsed_s:.1f} s, "
        f"spend {format_usd_exact(run.spend_micros)}, "
        f"saved {format_usd_exact(run.saved_micros)}"
    )
    print(table(["outcome", "tasks"], rows))
    problems = [o for o in run.outcomes if o.status in ("failed", "refused")]
    if problems:
        print()
        print(
            table(
                ["id", "line", "status", "exit", "error"],
                [(o.id[:30], o.line, o.status, o.exit_code, o.error[:90]) for o in problems],
            )
        )
    if run.changed:
        print(f"\nran again because the task changed since it was done: {', '.join(run.changed[:20])}")
    if run.interrupted:
        print(f"\ninterrupted: {run.left} task(s) left; {run.released} reservation(s) released")
    print(f"\nexit code {run.exit_code}")
