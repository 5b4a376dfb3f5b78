"""Run the real ``templar`` command in a subprocess (for exit codes and stdout/stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def templar(*args: str, env: dict[str, str] | None = None, stdin: str | bytes | None = None, timeout: float = 120) -> Run:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run(
        [sys.executable, "-m", "tui", *args], input=data, capture_output=True, env=full_env, cwd=ROOT, timeout=timeout
    )
    return Run(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))
