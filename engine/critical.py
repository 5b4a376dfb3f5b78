"""Is a request critical work? The request flag, the ``validation.critical`` setting, or a rule.

``decide_critical`` is the one place that answers it, for every surface and every tier. An
explicit ``critical=False`` never downgrades a request a rule or the setting makes critical:
criticality is switched off only in config (``[critical] infer = false`` or a rule's
``enabled = false``), where it carries provenance. Pure functions; compiled patterns are cached.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from engine.config.critical_schema import CriticalSettings
from engine.config.schema import Settings


@dataclass(frozen=True)
class CriticalReason:
    """One enabled rule that matched the task, and the words it matched."""

    rule: str
    description: str
    matched: str


@dataclass(frozen=True)
class CriticalDecision:
    critical: bool
    source: str  # request | setting | rule | "" (not critical)
    reasons: tuple[CriticalReason, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "critical": self.critical,
            "source": self.source or None,
            "rules": [{"rule": r.rule, "matched": r.matched, "description": r.description} for r in self.reasons],
        }

    def describe(self) -> str:
        if not self.critical:
            return "not critical"
        if self.source == "rule":
            return "critical: " + ", ".join(f"{r.rule} ({r.matched!r})" for r in self.reasons)
        return "critical: " + ("--critical" if self.source == "request" else "validation.critical = true")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def critical_reasons(critical: CriticalSettings, task: str) -> tuple[CriticalReason, ...]:
    """Every enabled rule that matches ``task`` (empty when ``infer`` is off)."""
    if not critical.infer:
        return ()
    found = []
    for name, rule in critical.rules.items():
        if not rule.enabled:
            continue
        match = _compiled(rule.pattern).search(task)
        if match is not None:
            found.append(CriticalReason(name, rule.description, match.group(0)[:60]))
    return tuple(found)


def decide_critical(settings: Settings, task: str, flag: bool | None) -> CriticalDecision:
    """Critical when the request says so, the setting says so, or a rule matches the task."""
    reasons = critical_reasons(settings.critical, task)
    if flag:
        return CriticalDecision(True, "request", reasons)
    if settings.validation.critical:
        return CriticalDecision(True, "setting", reasons)
    if reasons:
        return CriticalDecision(True, "rule", reasons)
    return CriticalDecision(False, "")


__all__ = ["CriticalDecision", "CriticalReason", "critical_reasons", "decide_critical"]
