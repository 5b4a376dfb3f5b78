"""``templar`` (the app) and ``templar generate``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from engine.cli.output_file import kept_where, write_output
from engine.errors import BadInput, ConfirmationRequired, ExitCode
from engine.safe_files import check_destination


def open_engine(*, unrecorded_ok: bool = False):  # type: ignore[no-untyped-def]
    """The engine; with ``unrecorded_ok`` a read-only data directory still answers from templates
    and the cache, and a note on stderr says that nothing will be recorded."""
    from engine.service import Engine

    engine = Engine.from_settings(unrecorded_ok=unrecorded_ok)
    if engine.store.unrecorded:
        print(f"templar: note: {engine.store.unrecorded}", file=sys.stderr)
    return engine


def cmd_tui(args: argparse.Namespace) -> int:
    if args.launch_app is None:
        raise BadInput("the full-screen app is started by the `templar` command (or `python -m tui`)")
    return int(args.launch_app() or 0)


def read_task(task: str) -> str:
    if task != "-":
        return task
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("the task on stdin is not valid UTF-8") from None


def cmd_generate(args: argparse.Namespace) -> int:
    from engine.cli.output import Progress

    task = read_task(args.task)
    if args.max_tokens is not None and not 1 <= args.max_tokens <= 200_000:
        raise BadInput("--max-tokens must be between 1 and 200000")
    if args.output:
        target = Path(args.output)
        if target.is_dir() or not target.parent.is_dir():
            raise BadInput(f"--output {target}: not a file in an existing directory")
        check_destination(target, what="--output file")  # never a device node (/dev/full), FIFO ...
    progress = Progress(enabled=sys.stderr.isatty() or args.stream, stream_tokens=args.stream and not args.json)
    engine = open_engine(unrecorded_ok=True)
    # One event loop for the answer and, after it is printed, the learning it scheduled
    # (engine.learning.learner): the answer never waits for learning.
    runner = asyncio.Runner()
    try:
        kwargs = dict(
            project=args.project, agent=args.agent, stream=args.stream, max_tokens=args.max_tokens,
            confirmed=args.yes, use_cache=not args.no_cache, use_templates=not args.no_templates,
            critical=True if args.critical else None, emit=progress,
        )
        try:
            result = runner.run(engine.generate(task, raise_on_invalid=False, **kwargs))
        except ConfirmationRequired as exc:
            if args.json or not sys.stdin.isatty():
                raise
            answer = input(f"{exc}. Make this paid call? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                raise
            kwargs["confirmed"] = True
            result = runner.run(engine.generate(task, raise_on_invalid=False, **kwargs))
        status = _deliver(args, result)
        sys.stdout.flush()
        runner.run(engine.settle_learning())  # after the answer is out; a row left queued: `templates suggest`
        return status
    finally:
        runner.close()
        engine.close()


def _deliver(args: argparse.Namespace, result: Any) -> int:
    """Print (or write) the answer; the exit status."""
    from engine.cli.output import print_json

    delivery = result.delivery  # the one rule (engine.delivery): never hand over an undeliverable answer
    if args.stream:
        print(file=sys.stderr)
    if not delivery.ok:
        return refuse_delivery(args, result, delivery)
    unwritten = write_output(Path(args.output), result.code) if args.output else None  # full disk: kept below
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(result.code)
        saved = f", saved ${result.saved_micros / 1e6:.6f}" if result.saved_micros else ""
        where = f" via {result.provider}" if result.provider else ""
        print(
            f"— {result.source}{where}: cost ${result.cost_micros / 1e6:.6f}{saved}, {result.latency_ms} ms"
            f" (request {result.request_id})",
            file=sys.stderr,
        )
    if unwritten:
        print(f"templar: {unwritten}; {kept_where(result, args.json)}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    return 0


def refuse_delivery(args: argparse.Namespace, result: Any, delivery: Any) -> int:
    """Exit 5 for an answer that is not deliverable: the reason and findings on stderr, never the
    code on stdout (unless ``--allow-invalid``), never ``--output``; ``--json`` says ``ok: false``."""
    from engine.cli.output import print_json

    if args.json:
        print_json(result.to_dict())
    elif args.allow_invalid:
        sys.stdout.write(result.code)
    print(f"templar: {delivery.reason} (exit 5)", file=sys.stderr)
    for line in delivery.finding_lines():
        print(f"  {line}", file=sys.stderr)
    kept = "" if not args.output else f"; {args.output} was not written"
    hint = "" if args.json or args.allow_invalid else "; --allow-invalid prints it anyway, --json shows it"
    cost = f" (cost ${result.cost_micros / 1e6:.6f})" if result.cost_micros else ""
    print(f"templar: the {result.source} answer{cost} was not handed over{kept}{hint}", file=sys.stderr)
    return int(ExitCode.VALIDATION_FAILED)
