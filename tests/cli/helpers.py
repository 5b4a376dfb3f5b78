"""Run the real ``templar`` command: in process (fast) or as a subprocess (exit codes, output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``templar ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse errors and --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def proc_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def templar_argv(*args: str) -> list[str]:
    """The argv of the ``templar`` console script (``python -m tui`` is the same entry point)."""
    return [sys.executable, "-m", "tui", *args]


def templar(
    *args: str, env: dict[str, str] | None = None, stdin: str | bytes | None = None, timeout: float = 120
) -> Run:
    """``templar ARGS`` as a real process, run to completion."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run(
        templar_argv(*args), input=data, capture_output=True, env=proc_env(**(env or {})), cwd=ROOT, timeout=timeout
    )
    return Run(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))
