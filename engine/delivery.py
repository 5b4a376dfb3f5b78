"""Is this answer deliverable? The one rule every surface (CLI, batch, app, Python API) applies.

An answer is handed over as a success only when

- it has code, and that code passed validation (after any repairs), and
- for a critical request (``engine.critical``), a review on record approved exactly that code.

Otherwise it is *not deliverable*: the Python API raises ``ValidationFailed`` (carrying the
result), the CLI exits 5 and never writes ``--output`` nor prints the code as the answer, batch
marks the task failed with exit 5, and the app shows a red banner and asks before copy or save.
Pure functions over the result's ``extra`` dict; nothing here touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import ValidationFailed


@dataclass(frozen=True)
class Delivery:
    ok: bool
    reason: str = ""  # one line; empty when ok
    findings: tuple[dict[str, Any], ...] = ()  # {"rule_id", "line", "message"}

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "findings": list(self.findings)}

    def finding_lines(self, limit: int = 20) -> list[str]:
        """One line per finding: ``line 3: B605 message`` (review issues have no line)."""
        lines = []
        for f in self.findings[:limit]:
            where = f"line {f['line']}: " if f.get("line") else ""
            lines.append(f"{where}{f['rule_id']} {f['message']}".strip())
        if len(self.findings) > limit:
            lines.append(f"... and {len(self.findings) - limit} more")
        return lines


def _blocking(validation: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"rule_id": str(f.get("rule_id", "")), "line": f.get("line"), "message": str(f.get("message", ""))[:300]}
        for f in validation.get("findings", [])
        if isinstance(f, dict) and f.get("blocking")
    )


def _review_issues(review: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple({"rule_id": "review", "line": None, "message": str(issue)[:300]} for issue in review.get("issues", []))


def assess(source: str, code: str, extra: dict[str, Any]) -> Delivery:
    """The verdict for an answer from ``source`` with ``code`` and the pipeline's ``extra``."""
    validation = extra.get("validation")
    if not isinstance(validation, dict):
        return Delivery(False, f"the {source} answer was not validated")
    if not code.strip():
        return Delivery(False, f"the {source} answer has no code")
    review = validation.get("review") if isinstance(validation.get("review"), dict) else None
    blocking = _blocking(validation)
    if blocking or (not validation.get("ok") and review is None):
        repairs = validation.get("repairs")
        after = f" after {repairs} repair(s)" if repairs else ""
        return Delivery(False, f"the answer fails validation{after} ({len(blocking)} blocking finding(s))", blocking)
    found = extra.get("critical")
    critical: dict[str, Any] = found if isinstance(found, dict) else {}
    if critical.get("critical") or review is not None:
        verdict = (review or {}).get("verdict")
        if verdict != "approve":
            why = "no review on record" if review is None else f"the reviewer's verdict is {verdict!r}"
            by = f" by {review['reviewer']}" if review and review.get("reviewer") else ""
            return Delivery(False, f"critical request not approved{by}: {why}", _review_issues(review or {}))
    if not validation.get("ok"):
        return Delivery(False, "the answer fails validation")
    return Delivery(True)


def refusal(delivery: Delivery, result: Any) -> ValidationFailed:
    """The exception the Python API raises for an undeliverable ``result``."""
    return ValidationFailed(delivery.reason, result=result, findings=delivery.findings)


__all__ = ["Delivery", "assess", "refusal"]
