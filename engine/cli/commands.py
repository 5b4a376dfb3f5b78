"""``templar`` (the app) and ``templar generate``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from engine.cli.output_file import kept_where, write_output
from engine.errors import BadInput, ConfirmationRequired, ExitCode
from engine.money import format_usd_exact, micros_to_usd, usd_to_micros
from engine.safe_files import check_destination


def open_engine(*, unrecorded_ok: bool = False):  # type: ignore[no-untyped-def]
    """The engine; with ``unrecorded_ok`` a read-only data directory still answers from templates
    and the cache, and a note on stderr says that nothing will be recorded."""
    from engine.service import Engine

    engine = Engine.from_settings(unrecorded_ok=unrecorded_ok)
    if engine.unrecorded:
        print(f"templar: note: {engine.unrecorded}", file=sys.stderr)
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
    if args.max_usd is not None and not args.max_usd >= 0:
        raise BadInput("--max-usd must be a non-negative number of dollars")
    if args.dry_run:
        return dry_run(args, task)
    # Progress on stderr unless --quiet (a headless --json run is not silent for 15 s); streamed
    # text goes there too, except under --json, where stderr stays progress lines.
    progress = Progress(
        enabled=not args.quiet,
        stream_tokens=args.stream and not args.json and not args.quiet,
        as_json=args.progress == "json",
    )
    engine = open_engine(unrecorded_ok=True)
    # One event loop for the answer and, after it is printed, the learning it scheduled
    # (engine.learning.learner): the answer never waits for learning.
    runner = asyncio.Runner()
    try:
        kwargs = dict(
            project=args.project,
            agent=args.agent,
            stream=args.stream,
            max_tokens=args.max_tokens,
            confirmed=args.yes,
            use_cache=not args.no_cache,
            use_templates=not args.no_templates,
            critical=True if args.critical else None,
            emit=progress,
            max_usd=args.max_usd,
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
        status = _deliver(args, result, progress)
        sys.stdout.flush()
        runner.run(engine.settle_learning())  # after the answer is out; a row left queued: `templates suggest`
        return status
    finally:
        runner.close()
        engine.close()


def _deliver(args: argparse.Namespace, result: Any, progress: Any) -> int:
    """Print (or write) the answer; the exit status."""
    from engine.cli.output import print_json

    delivery = result.delivery  # the one rule (engine.delivery): never hand over an undeliverable answer
    if progress.stream_tokens and not progress.as_json:
        print(file=sys.stderr)
    if not delivery.ok:
        return refuse_delivery(args, result, delivery)
    unwritten = write_output(Path(args.output), result.code) if args.output else None  # full disk: kept below
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(result.code)
    if not args.json and not args.quiet and progress.as_json:
        from engine.cli.output import json_line

        json_line(
            {
                "event": "summary",
                "source": result.source,
                "provider": result.provider or None,
                "cost_usd": micros_to_usd(result.cost_micros),
                "saved_usd": micros_to_usd(result.saved_micros),
                "latency_ms": result.latency_ms,
                "request_id": result.request_id,
            }
        )
    elif not args.json and not args.quiet:
        saved = f", saved {format_usd_exact(result.saved_micros)}" if result.saved_micros else ""
        where = f" via {result.provider}" if result.provider else ""
        print(
            f"— {result.source}{where}: cost {format_usd_exact(result.cost_micros)}{saved}, {result.latency_ms} ms"
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
    cost = f" (cost {format_usd_exact(result.cost_micros)})" if result.cost_micros else ""
    print(f"templar: the {result.source} answer{cost} was not handed over{kept}{hint}", file=sys.stderr)
    return int(ExitCode.VALIDATION_FAILED)


def dry_run(args: argparse.Namespace, task: str) -> int:
    """``--dry-run``: the tier that would answer and a paid call's worst case; nothing is called."""
    from engine.cli.output import print_json

    engine = open_engine(unrecorded_ok=True)
    try:
        plan = asyncio.run(
            engine.dry_run(
                task,
                project=args.project,
                agent=args.agent,
                max_tokens=args.max_tokens,
                use_cache=not args.no_cache,
                use_templates=not args.no_templates,
                critical=True if args.critical else None,
            )
        )
    finally:
        engine.close()
    data = plan.to_dict()
    fits = args.max_usd is None or plan.worst_case_micros <= usd_to_micros(args.max_usd)
    if args.max_usd is not None:
        data["max_usd"], data["fits_max_usd"] = args.max_usd, fits
    if args.json:
        print_json(data)
    else:
        print(f"dry run: {plan.summary()}")
        for step, micros in plan.steps.items():
            print(f"  {step:<10} worst case ${micros_to_usd(micros):.6f}")
        if not fits:
            print(
                f"  --max-usd {args.max_usd:g} is below the worst case: the answer would be refused (exit 3) "
                "or later steps skipped"
            )
    return 0
