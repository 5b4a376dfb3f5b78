"""Usage statistics from the ledger: calls, tokens, cost, savings, hit rates, latency, failures.

Savings are on one basis for every tier (``engine.llm.price_map.SAVINGS_BASIS``, stated in the
output); a wrong-answer report's ``reversal`` row subtracts what its answer was credited. Failed
$0 attempts (a template render or its validation failed) are counted apart from paid calls, and
the false-hit rate is wrong-answer reports / template answers, per template and in total.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from engine.budget.usage import anomaly_summary
from engine.errors import BadInput
from engine.feedback import wrong_reports
from engine.llm.price_map import SAVINGS_BASIS
from engine.store.models import LedgerEntry
from engine.store.sql import execute

PAID_SOURCES = ("llm", "review", "suggest", "repair")
FREE_SOURCES = ("cache", "learned", "builtin")
GROUPS = ("provider", "model", "project", "agent", "day", "source")


def parse_since(text: str | None, now: float | None = None) -> float | None:
    """``7d``, ``24h``, ``30m`` or an ISO date/time (UTC) to epoch seconds."""
    if not text:
        return None
    now = time.time() if now is None else now
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - amount * {"d": 86400, "h": 3600, "m": 60}[unit]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--since {text!r}: use 7d, 24h, 30m or a date like 2026-11-01") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _percentile(values: list[int], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def _summarise(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    attempts = [r for r in rows if r[0] in PAID_SOURCES]
    ok_attempts = [r for r in attempts if r[8] == "ok"]
    answered_llm = {r[10] for r in rows if r[0] == "llm" and r[8] == "ok"}
    cache_hits = sum(1 for r in rows if r[0] == "cache")
    template_hits = sum(1 for r in rows if r[0] in ("learned", "builtin") and r[8] == "ok")
    free_failures = Counter(r[9] or "unknown" for r in rows if r[0] in FREE_SOURCES and r[8] != "ok")
    answered = len(answered_llm) + cache_hits + template_hits
    failures = Counter(r[9] or "unknown" for r in attempts if r[8] in ("error", "interrupted"))
    latencies = [r[7] for r in ok_attempts]
    return {
        "requests": answered,
        "paid_calls": len(attempts),
        "tokens_in": sum(r[3] for r in attempts),
        "tokens_out": sum(r[4] for r in attempts),
        "cost_usd": sum(r[5] for r in rows) / 1e6,
        "saved_usd": sum(r[6] for r in rows) / 1e6,
        "cache_hits": cache_hits,
        "template_hits": template_hits,
        "cache_hit_rate": round(cache_hits / answered, 4) if answered else 0.0,
        "template_hit_rate": round(template_hits / answered, 4) if answered else 0.0,
        "latency_p50_ms": _percentile(latencies, 0.5),
        "latency_p95_ms": _percentile(latencies, 0.95),
        "failures": dict(sorted(failures.items())),
        "free_failed_attempts": sum(free_failures.values()),
        "free_failures": dict(sorted(free_failures.items())),
        "reversed_usd": -sum(r[6] for r in rows if r[0] == "reversal") / 1e6,
        "estimated_rows": sum(1 for r in rows if r[11]),
    }


def compute_stats(since: float | None = None, by: str | None = None) -> dict[str, Any]:
    """Totals (and groups when ``by`` is given). Runs on the database thread."""
    if by is not None and by not in GROUPS:
        raise BadInput(f"--by must be one of {', '.join(GROUPS)}")
    query = LedgerEntry.select(
        LedgerEntry.source, LedgerEntry.provider, LedgerEntry.model, LedgerEntry.tokens_in, LedgerEntry.tokens_out,
        LedgerEntry.cost_micros, LedgerEntry.saved_micros, LedgerEntry.latency_ms, LedgerEntry.outcome,
        LedgerEntry.error_class, LedgerEntry.request_id, LedgerEntry.estimated, LedgerEntry.project,
        LedgerEntry.agent, LedgerEntry.day,
    ).where(LedgerEntry.source != "reconcile")
    if since is not None:
        query = query.where(LedgerEntry.ts >= since)
    rows = list(query.tuples())
    result: dict[str, Any] = {"since": since, "by": by, "total": _summarise(rows), "savings_basis": SAVINGS_BASIS,
                              "false_hits": false_hits(rows, wrong_reports(since))}
    result["anomalies"] = anomaly_summary(execute, since)  # usage claims not believed (engine.budget.usage)
    if by:
        column = {"source": 0, "provider": 1, "model": 2, "project": 12, "agent": 13, "day": 14}[by]
        groups: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            groups[str(row[column] or "-")].append(row)
        result["groups"] = [{by: name, **_summarise(items)} for name, items in sorted(groups.items())]
    return result


def false_hits(rows: list[tuple[Any, ...]], wrong: dict[str, int]) -> dict[str, Any]:
    """Wrong-answer reports / template answers, per template (the ledger's ``model`` column holds the
    template's name) and in total."""
    answers: Counter[str] = Counter(str(r[2]) for r in rows if r[0] in ("learned", "builtin") and r[8] == "ok")
    sources = {str(r[2]): str(r[0]) for r in rows if r[0] in ("learned", "builtin")}
    names = sorted(set(answers) | set(wrong))
    per = [
        {"template": name, "source": sources.get(name, "learned" if name.startswith("learned-") else "builtin"),
         "answers": answers[name], "wrong": wrong.get(name, 0),
         "false_hit_rate": round(wrong.get(name, 0) / answers[name], 4) if answers[name] else None}
        for name in names
    ]
    total_answers, total_wrong = sum(answers.values()), sum(wrong.values())
    return {
        "template_answers": total_answers, "wrong_reports": total_wrong,
        "false_hit_rate": round(total_wrong / total_answers, 4) if total_answers else 0.0,
        "templates": per,
    }
