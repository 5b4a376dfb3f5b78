"""Usage statistics through the one door. ``Engine.stats(since, by)`` computes them (calls,
tokens, cost, savings, hit rates, latency, failures, anomalies, false hits); this mixin adds the
parsing of ``--since`` so surfaces need not import ``engine.stats``."""

from __future__ import annotations

STATS_GROUPS = ("provider", "model", "project", "agent", "day", "source")
"""What ``Engine.stats(by=...)`` can group rows by."""


class StatsAPI:
    """Stats helpers of ``Engine``."""

    @staticmethod
    def parse_since(text: str | None, now: float | None = None) -> float | None:
        """``7d``, ``24h``, ``30m`` or an ISO date/time (UTC) to epoch seconds; None or "" is all
        time. Raises ``BadInput`` for anything else."""
        from engine.stats import parse_since

        return parse_since(text, now)
