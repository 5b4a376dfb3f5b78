"""The exit-code rule of ``templar batch``, in a module of its own so the CLI parser can show it
without importing ``engine.batch``."""

from __future__ import annotations

EXIT_RULE = (
    "exit code: 0 when every task succeeded (tasks skipped as done count as succeeded); 130 when "
    "interrupted; otherwise the most severe code among the failed tasks and malformed lines, in "
    "this order: 1 internal error > 4 no provider reachable > 3 refused by budget > "
    "5 validation failed > 2 bad input (malformed line, bad task, bad project config)."
)
