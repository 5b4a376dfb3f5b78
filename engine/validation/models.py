"""Plain data types of the validator: the policy it applies and the report it returns.

No I/O, no third-party imports: these objects are cheap to build, compare, hash and persist
(``ValidationReport.to_dict`` / ``from_dict`` round-trip through JSON).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: Severities, lowest first. Comparisons use the index in this tuple.
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")

#: Checker names used in :attr:`Finding.checker`.
CHECKERS: tuple[str, ...] = ("syntax", "security", "types", "docs")


def severity_rank(severity: str) -> int:
    """Return 0, 1 or 2 for "low", "medium", "high" (case-insensitive); ValueError otherwise."""
    try:
        return SEVERITIES.index(severity.lower())
    except (ValueError, AttributeError):
        raise ValueError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}") from None


def _check_ratio(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return value


@dataclass(frozen=True)
class ValidationPolicy:
    """What blocks an answer and what only lowers its score.

    ``block_severity``: security findings at or above this severity block.
    ``min_type_hint_coverage`` / ``min_docstring_coverage``: required shares (0..1).
    ``coverage_blocks``: if True a coverage below its minimum blocks; otherwise it only lowers the
    score (10 points per coverage below its minimum, see the package docstring).
    ``severity_overrides``: extra ``(bandit test id, severity)`` pairs that replace the severity
    of that test's findings; they take precedence over the built-in table
    (:data:`engine.validation.security.SEVERITY_FLOORS` / ``SEVERITY_CAPS``). Example:
    ``(("B113", "low"),)`` lets ``requests.get`` without a timeout through.
    """

    block_severity: str = "medium"
    min_type_hint_coverage: float = 0.0
    min_docstring_coverage: float = 0.0
    coverage_blocks: bool = False
    severity_overrides: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        severity_rank(self.block_severity)
        object.__setattr__(self, "block_severity", self.block_severity.lower())
        object.__setattr__(
            self,
            "min_type_hint_coverage",
            _check_ratio("min_type_hint_coverage", self.min_type_hint_coverage),
        )
        object.__setattr__(
            self,
            "min_docstring_coverage",
            _check_ratio("min_docstring_coverage", self.min_docstring_coverage),
        )
        if not isinstance(self.coverage_blocks, bool):
            raise ValueError(f"coverage_blocks must be true or false, got {self.coverage_blocks!r}")
        overrides = self.severity_overrides
        if isinstance(overrides, dict):
            overrides = tuple(overrides.items())
        normalized = []
        for pair in overrides:
            try:
                test_id, severity = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"severity_overrides entries must be (test id, severity) pairs, got {pair!r}"
                ) from None
            severity_rank(severity)
            normalized.append((str(test_id).upper(), severity.lower()))
        object.__setattr__(self, "severity_overrides", tuple(normalized))

    def blocks(self, severity: str) -> bool:
        """True if a security finding of ``severity`` blocks under this policy."""
        return severity_rank(severity) >= severity_rank(self.block_severity)


@dataclass(frozen=True)
class Finding:
    """One problem found in the code.

    ``rule_id``: "syntax", "syntax-warning", a Bandit test id ("B602"), a Templar AST rule
    ("TPL101", see engine/validation/ast_rules.py), a ruff-compatible annotation/docstring code
    ("ANN001", "D103"), "coverage-types"/"coverage-docs", or "security-scan-failed" when the
    code could not be scanned (which blocks: fail closed).
    ``hint``: how to fix it, one sentence ("" when there is nothing specific to say). Added
    after v1: reports stored without it read back with "".
    """

    rule_id: str
    checker: str
    severity: str
    line: int | None
    message: str
    blocking: bool
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the fields."""
        return {
            "rule_id": self.rule_id,
            "checker": self.checker,
            "severity": self.severity,
            "line": self.line,
            "message": self.message,
            "blocking": self.blocking,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        return cls(
            rule_id=str(data["rule_id"]),
            checker=str(data["checker"]),
            severity=str(data["severity"]),
            line=None if data.get("line") is None else int(data["line"]),
            message=str(data["message"]),
            blocking=bool(data["blocking"]),
            hint=str(data.get("hint") or ""),
        )


@dataclass(frozen=True)
class ValidationReport:
    """Result of validating one piece of code. ``ok`` is False iff a finding blocks."""

    ok: bool
    score: int
    findings: tuple[Finding, ...]
    type_hint_coverage: float
    docstring_coverage: float
    checkers: tuple[str, ...] = field(default=())

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The findings that block the answer (empty when ``ok``)."""
        return tuple(f for f in self.findings if f.blocking)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (lists instead of tuples); see :meth:`from_dict`."""
        return {
            "ok": self.ok,
            "score": self.score,
            "findings": [f.to_dict() for f in self.findings],
            "type_hint_coverage": self.type_hint_coverage,
            "docstring_coverage": self.docstring_coverage,
            "checkers": list(self.checkers),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """Rebuild a report stored with :meth:`to_dict`."""
        return cls(
            ok=bool(data["ok"]),
            score=int(data["score"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            type_hint_coverage=float(data["type_hint_coverage"]),
            docstring_coverage=float(data["docstring_coverage"]),
            checkers=tuple(str(c) for c in data.get("checkers", ())),
        )
