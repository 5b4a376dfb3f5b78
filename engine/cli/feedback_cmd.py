"""``templar feedback REQUEST_ID --wrong "why"``: report a template answer as wrong.

The report reverses the savings credited for that answer (a ledger row; spend and budgets are
untouched), makes the answer's bindings a negative example for that template version, lowers
the template's quality and retires it after ``learning.retire_after_wrong`` reports.
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.money import format_usd_exact

DESCRIPTION = """\
Report that a $0 template answer was wrong. The same bindings never match that template
version again, the savings credited for the answer are reversed in the ledger, the template's
quality drops, and it is retired after learning.retire_after_wrong reports (default 3).
Request ids are printed by `templar generate --json` (request_id)."""

EPILOG = 'example: templar feedback 3f2c0e9a-... --wrong "built a LIFO stack for a priority queue"'


def register(sub: Any, formatter: type[argparse.HelpFormatter]) -> argparse.ArgumentParser:
    """Add ``feedback`` to the ``templar`` subcommands."""
    p: argparse.ArgumentParser = sub.add_parser(
        "feedback",
        help="report a template answer as wrong (reverses its savings)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("request_id", metavar="REQUEST_ID", help="the request id of the answer")
    p.add_argument("--wrong", required=True, metavar="WHY", help="what is wrong with the answer")
    p.add_argument("--json", action="store_true", help="print what was recorded as JSON on stdout")
    p.set_defaults(handler="engine.cli.feedback_cmd:cmd_feedback")
    return p


def cmd_feedback(args: argparse.Namespace) -> int:
    import asyncio

    from engine.api import clean_reason
    from engine.cli.commands import open_engine
    from engine.cli.output import print_json

    reason = clean_reason(args.wrong)  # a bad reason is refused before the database is opened
    engine = open_engine()
    try:
        done = asyncio.run(engine.report_wrong_answer(args.request_id, reason))
    finally:
        engine.close()
    if args.json:
        print_json(done.to_dict())
        return 0
    bindings = ", ".join(f"{k}={v!r}" for k, v in done.bindings.items()) or "no bindings"
    print(f"recorded: {done.template} v{done.version} will not answer {bindings} again")
    print(f"savings reversed: {format_usd_exact(done.reversed_micros)} (spend and budgets unchanged)")
    if done.retired:
        print(f"{done.template} retired after {done.wrong_reports} wrong-answer reports")
    else:
        quality = f"quality now {done.quality}; " if done.quality is not None else ""
        print(f"{quality}wrong reports {done.wrong_reports} of {done.retire_after} before retirement")
    return 0
