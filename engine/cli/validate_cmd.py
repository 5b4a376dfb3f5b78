"""``templar validate PATH|-``: check code without running it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.output import print_json, table
from engine.errors import BadInput, ExitCode, NotFound
from engine.safe_files import read_regular
from engine.text import MAX_TASK_CHARS


def read_code(path: str) -> tuple[str, str]:
    if path == "-":
        raw = sys.stdin.buffer.read()
        name = "stdin.py"
    else:
        file = Path(path)
        if not file.exists():
            raise NotFound(f"no such file: {path}")
        raw = read_regular(file, 50 * MAX_TASK_CHARS, what="code file")  # a FIFO or device: refused, never read
        name = file.name
    if len(raw) > 50 * MAX_TASK_CHARS:
        raise BadInput(f"{path}: larger than {50 * MAX_TASK_CHARS // 1000} kB")
    try:
        return raw.decode("utf-8"), name
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not valid UTF-8 (byte {exc.start})") from None


def cmd_validate(args: argparse.Namespace) -> int:
    from engine.api.config import ConfigDesk

    code, name = read_code(args.path)
    report = ConfigDesk.from_env().validate_code(code, filename=name, project=args.project, agent=args.agent)
    if args.json:
        print_json(report.to_dict())
    else:
        if report.findings:
            print(
                table(
                    ["line", "rule", "checker", "severity", "blocks", "message"],
                    [
                        (f.line or "", f.rule_id, f.checker, f.severity, "yes" if f.blocking else "", f.message[:90])
                        for f in report.findings
                    ],
                )
            )
            hints: dict[tuple[str, str], int | None] = {}
            for f in report.findings:
                if f.hint and f.checker == "security":
                    hints.setdefault((f.rule_id, f.hint), f.line)  # one line per rule: the first
            for (rule_id, hint), line in hints.items():
                print(f"fix {rule_id}{f' (line {line})' if line else ''}: {hint}")
        print(
            f"{'ok' if report.ok else 'BLOCKED'}: score {report.score}/100, type hints "
            f"{report.type_hint_coverage:.0%}, docstrings {report.docstring_coverage:.0%}"
        )
    return int(ExitCode.OK if report.ok else ExitCode.VALIDATION_FAILED)
