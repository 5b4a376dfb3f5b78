"""A provider's usage report is a claim: judge it before it becomes spend, and keep a record
of every claim that was not believed.

Invariants:
- A settlement is never below 0 and never above the reservation's worst case. A claim outside
  what is possible (negative counts, no tokens for a non-empty answer, a cost above the worst
  case, counts that are not numbers) is charged at the worst case, flagged ``estimated`` and
  recorded as one ``anomaly`` row: what, the claim as sent, the charge, provider, request id.
- Token counts written to the ledger fit a 32-bit column; the exact claim is kept as text.
- Amounts are integer micro-dollars.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.money import micros_to_usd

TOKENS_MAX = 2**31 - 1  # the ledger's token columns (INTEGER on PostgreSQL)

NOT_A_NUMBER = "not_a_number"
NEGATIVE = "negative"
ZERO = "zero"  # measured usage of 0 tokens for a non-empty answer and a non-empty prompt
ABOVE_WORST_CASE = "above_worst_case"
WHAT = {
    NOT_A_NUMBER: "usage is not a number",
    NEGATIVE: "negative usage",
    ZERO: "zero tokens for an answer",
    ABOVE_WORST_CASE: "cost above the reserved worst case",
}


@dataclass(frozen=True)
class UsageVerdict:
    """What a usage claim is charged, and the token counts that may be recorded."""

    charge_micros: int
    tokens_in: int
    tokens_out: int
    anomaly: str | None  # one of WHAT's keys, or None when the claim is believed

    @property
    def believed(self) -> bool:
        return self.anomaly is None


def _clamp(value: int | None) -> int:
    return 0 if value is None else max(0, min(TOKENS_MAX, value))


def _whole(value: Any) -> int | None:
    """An integer token count or cost, or None when ``value`` is not a finite number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None


def judge_usage(
    claimed_micros: Any, tokens_in: Any, tokens_out: Any, worst_micros: int, *, measured: bool = True
) -> UsageVerdict:
    """Judge a settlement claim against the reservation's ``worst_micros``. ``tokens_in`` and
    ``tokens_out`` may be None when the caller has no counts (only the cost is judged);
    ``measured`` is False when the counts were made locally (never judged as "zero")."""
    cost = _whole(claimed_micros)
    counts = [c for c in (_whole(t) for t in (tokens_in, tokens_out) if t is not None) if c is not None]
    anomaly = None
    if cost is None or len(counts) != len([t for t in (tokens_in, tokens_out) if t is not None]):
        anomaly = NOT_A_NUMBER
    elif cost < 0 or any(c < 0 for c in counts):
        anomaly = NEGATIVE
    elif measured and worst_micros > 0 and len(counts) == 2 and min(counts) == 0:
        anomaly = ZERO
    elif cost > worst_micros:
        anomaly = ABOVE_WORST_CASE
    charge = worst_micros if anomaly else int(cost or 0)
    return UsageVerdict(charge, _clamp(_whole(tokens_in)), _clamp(_whole(tokens_out)), anomaly)


def _text(value: Any) -> str:
    return "" if value is None else str(value)[:64]


def record_anomaly(
    execute: Callable[..., Any],
    now: float,
    verdict: UsageVerdict,
    ledger_id: int,
    worst_micros: int,
    claimed_micros: Any,
    tokens_in: Any,
    tokens_out: Any,
) -> None:
    """Write the anomaly row of a settlement (inside its transaction); request id, project,
    agent, provider and model come from the attempt's ledger row."""
    row = execute(
        "SELECT request_id, project, agent, provider, model FROM ledger_entry WHERE id = ?", (ledger_id,)
    ).fetchone()
    request_id, project, agent, provider, model = row if row is not None else ("", "", "", "", "")
    execute(
        "INSERT INTO anomaly (ts, day, what, request_id, ledger_id, project, agent, provider, model, "
        "claimed_tokens_in, claimed_tokens_out, claimed_micros, charged_micros, worst_micros) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now,
            datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d"),
            verdict.anomaly,
            request_id,
            ledger_id,
            project,
            agent,
            provider,
            model,
            _text(tokens_in),
            _text(tokens_out),
            _text(claimed_micros)[:80],
            verdict.charge_micros,
            worst_micros,
        ),
    )


def list_anomalies(execute: Callable[..., Any], since: float | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The most recent anomalies first, as plain dicts (amounts in USD)."""
    where, params = ("WHERE ts >= ?", (since,)) if since is not None else ("", ())
    rows = execute(
        "SELECT ts, what, request_id, project, agent, provider, model, claimed_tokens_in, claimed_tokens_out, "
        f"claimed_micros, charged_micros, worst_micros FROM anomaly {where} ORDER BY ts DESC, id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    out = []
    for r in rows:
        claimed = _whole(int(r[9])) if str(r[9]).lstrip("-").isdigit() else None
        out.append(
            {
                "ts": r[0],
                "what": r[1],
                "description": WHAT.get(r[1], r[1]),
                "request_id": r[2],
                "project": r[3],
                "agent": r[4],
                "provider": r[5],
                "model": r[6],
                "claimed_tokens_in": r[7],
                "claimed_tokens_out": r[8],
                "claimed_usd": micros_to_usd(claimed),
                "charged_usd": micros_to_usd(int(r[10])),
                "worst_case_usd": micros_to_usd(int(r[11])),
            }
        )
    return out


def anomaly_summary(execute: Callable[..., Any], since: float | None = None, recent: int = 10) -> dict[str, Any]:
    """Count, charge and the most recent anomalies since ``since`` (for ``templar stats``)."""
    where, params = ("WHERE ts >= ?", (since,)) if since is not None else ("", ())
    count, charged = execute(
        f"SELECT COUNT(*), COALESCE(SUM(charged_micros), 0) FROM anomaly {where}", params
    ).fetchone()
    return {
        "count": int(count),
        "charged_usd": micros_to_usd(int(charged)),
        "recent": list_anomalies(execute, since, recent) if count else [],
    }
