"""Time from process start to the app's first frame, and whether litellm was loaded by then.

Each run starts ``python -m tui`` (what the ``templar`` command runs) in a pseudo-terminal of
120x40 with an empty TEMPLAR_HOME. ``TEMPLAR_FIRST_PAINT_FILE`` makes the app, right after its
first refresh (``on_mount`` + ``call_after_refresh``), write the wall-clock time and whether
``litellm`` is in ``sys.modules``, then exit. The engine opens in its worker meanwhile, as in
real use. Goal: p95 <= 1.0 s, litellm never loaded. A bare Textual app measured the same way
is printed as the floor (the machine's load moves both).

    .venv/bin/python bench/first_paint.py [--runs 10]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The floor on this machine: a bare Textual app (a Static and a Footer) measured the same way.
BASELINE = """
import os, sys, time
from textual.app import App
from textual.widgets import Footer, Static
class Hello(App):
    def compose(self):
        yield Static("hello")
        yield Footer()
    def on_mount(self):
        self.call_after_refresh(self.done)
    def done(self):
        open(os.environ["TEMPLAR_FIRST_PAINT_FILE"], "w").write(f"{time.time()} {'litellm' in sys.modules}")
        self.exit(0)
Hello().run()
"""


def drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def one_run(command: list[str]) -> tuple[float, float, bool]:
    """(seconds to first frame, seconds to exit, litellm loaded at first frame)."""
    with tempfile.TemporaryDirectory() as home:
        marker = Path(home) / "first-paint"
        env = {
            **os.environ,
            "TEMPLAR_HOME": home,
            "TEMPLAR_FIRST_PAINT_FILE": str(marker),
            "TERM": "xterm-256color",
            "PYTHONPATH": str(ROOT),
        }
        for name in ("GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            env.pop(name, None)
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        reader = threading.Thread(target=drain, args=(master,), daemon=True)
        reader.start()
        start = time.time()
        proc = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True)
        code = proc.wait(timeout=60)
        ended = time.time()
        os.close(slave)
        os.close(master)
        if code != 0 or not marker.exists():
            raise SystemExit(f"run failed (exit {code})")
        stamp, loaded = marker.read_text().split()
        return float(stamp) - start, ended - start, loaded == "True"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(command: list[str], runs: int) -> tuple[list[float], list[float], list[bool]]:
    one_run(command)  # warm the bytecode and file caches
    paint, total, loaded = [], [], []
    for _ in range(runs):
        p, t, lit = one_run(command)
        paint.append(p)
        total.append(t)
        loaded.append(lit)
    return paint, total, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    paint, total, loaded = measure([sys.executable, "-m", "tui"], args.runs)
    base, _, _ = measure([sys.executable, "-c", BASELINE], args.runs)
    print(f"runs {args.runs}  load average {os.getloadavg()[0]:.2f}  cpus {os.cpu_count()}")
    print(
        f"templar first_frame_s p50 {statistics.median(paint):.3f} p95 {pct(paint, 0.95):.3f} "
        f"min {min(paint):.3f} max {max(paint):.3f}"
    )
    print(f"templar process_exit_s p50 {statistics.median(total):.3f} p95 {pct(total, 0.95):.3f}")
    print(f"templar litellm_loaded_at_first_frame {sum(loaded)} of {len(loaded)}")
    print(
        f"bare_textual first_frame_s p50 {statistics.median(base):.3f} p95 {pct(base, 0.95):.3f} "
        f"min {min(base):.3f} max {max(base):.3f}"
    )


if __name__ == "__main__":
    main()
