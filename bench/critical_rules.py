"""How much the critical-work inference costs per request, and how the default rules classify
the wording table of tests/engine/test_critical_rules.py (printed, never asserted).

    .venv/bin/python bench/critical_rules.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config.schema import Settings  # noqa: E402
from engine.critical import decide_critical  # noqa: E402
from tests.engine.test_critical_rules import CRITICAL, NOT_CRITICAL  # noqa: E402


def main() -> None:
    settings = Settings()
    tasks = [t for t, _ in CRITICAL] + NOT_CRITICAL
    caught = sum(decide_critical(settings, t, None).critical for t, _ in CRITICAL)
    false_alarms = sum(decide_critical(settings, t, None).critical for t in NOT_CRITICAL)
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        for task in tasks:
            decide_critical(settings, task, None)
    per_call_us = (time.perf_counter() - started) / (rounds * len(tasks)) * 1e6
    print(f"critical wordings flagged: {caught}/{len(CRITICAL)}")
    print(f"near misses flagged:       {false_alarms}/{len(NOT_CRITICAL)}")
    print(f"decide_critical:           {per_call_us:.1f} us per task ({len(settings.critical.rules)} rules)")


if __name__ == "__main__":
    main()
