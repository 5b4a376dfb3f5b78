"""``templar stats`` aggregated by the database gives exactly what summing the rows gave (issue 14).

The reference below is the row-by-row implementation ``engine.stats`` used before; rows are
drawn in the engine's shapes (bench/growth_data.py) plus edge cases: empty and NULL group
values, reconcile rows, estimated costs, failures without a class, repeated request ids.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from engine.feedback import wrong_reports
from engine.stats import GROUPS
from engine.stats import compute_stats_raw as compute_stats
from engine.store.models import LedgerEntry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import growth_data as G  # noqa: E402

PAID = ("llm", "review", "suggest", "repair")
FREE = ("cache", "learned", "builtin")


def _percentile(values: list[int], q: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def reference(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    attempts = [r for r in rows if r[0] in PAID]
    ok_attempts = [r for r in attempts if r[8] == "ok"]
    answered_llm = {r[10] for r in rows if r[0] == "llm" and r[8] == "ok"}
    cache_hits = sum(1 for r in rows if r[0] == "cache")
    template_hits = sum(1 for r in rows if r[0] in ("learned", "builtin") and r[8] == "ok")
    free_failures = Counter(r[9] or "unknown" for r in rows if r[0] in FREE and r[8] != "ok")
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


def reference_false_hits(rows: list[tuple[Any, ...]], wrong: dict[str, int]) -> dict[str, Any]:
    answers: Counter[str] = Counter(str(r[2]) for r in rows if r[0] in ("learned", "builtin") and r[8] == "ok")
    sources = {str(r[2]): str(r[0]) for r in rows if r[0] in ("learned", "builtin")}
    names = sorted(set(answers) | set(wrong))
    per = [
        {
            "template": name,
            "source": sources.get(name, "learned" if name.startswith("learned-") else "builtin"),
            "answers": answers[name],
            "wrong": wrong.get(name, 0),
            "false_hit_rate": round(wrong.get(name, 0) / answers[name], 4) if answers[name] else None,
        }
        for name in names
    ]
    total_answers, total_wrong = sum(answers.values()), sum(wrong.values())
    return {
        "template_answers": total_answers,
        "wrong_reports": total_wrong,
        "false_hit_rate": round(total_wrong / total_answers, 4) if total_answers else 0.0,
        "templates": per,
    }


def reference_stats(since: float | None, by: str | None) -> dict[str, Any]:
    query = (
        LedgerEntry.select(
            LedgerEntry.source,
            LedgerEntry.provider,
            LedgerEntry.model,
            LedgerEntry.tokens_in,
            LedgerEntry.tokens_out,
            LedgerEntry.cost_micros,
            LedgerEntry.saved_micros,
            LedgerEntry.latency_ms,
            LedgerEntry.outcome,
            LedgerEntry.error_class,
            LedgerEntry.request_id,
            LedgerEntry.estimated,
            LedgerEntry.project,
            LedgerEntry.agent,
            LedgerEntry.day,
        )
        .where(LedgerEntry.source != "reconcile")
        .order_by(LedgerEntry.id)
    )
    if since is not None:
        query = query.where(LedgerEntry.ts >= since)
    rows = list(query.tuples())
    out: dict[str, Any] = {"total": reference(rows), "false_hits": reference_false_hits(rows, wrong_reports(since))}
    if by:
        column = {"source": 0, "provider": 1, "model": 2, "project": 12, "agent": 13, "day": 14}[by]
        groups: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            groups[str(row[column] or "-")].append(row)
        out["groups"] = [{by: name, **reference(items)} for name, items in sorted(groups.items())]
    return out


def _edge_rows(now: float) -> list[tuple[Any, ...]]:
    """Edge cases on one day; repeated request ids: a request's repair and fallback attempts."""
    return G.edge_ledger_rows(
        now,
        40,
        request_id=lambda i: f"req-{i % 7}",
        day=lambda _ts: "2026-11-30",
        latency=lambda rng: rng.randrange(1000),
    )


@pytest.mark.parametrize("since_hours", [None, 30])
def test_database_aggregates_equal_the_row_by_row_figures(make_engine: Any, since_hours: int | None) -> None:
    engine = make_engine()
    now = 1_790_000_000.0
    db = engine.store.db
    engine.store.call(G.bulk_ledger, db, G.ledger_rows(3000, 5, now) + _edge_rows(now))
    since = None if since_hours is None else now - since_hours * 3600
    for by in (None, *GROUPS):
        got = engine.store.call(compute_stats, since, by)
        want = engine.store.call(reference_stats, since, by)
        assert got["total"] == want["total"], by
        assert got.get("groups") == want.get("groups"), by
        assert got["false_hits"] == want["false_hits"], by
        assert set(got) == {
            "since",
            "by",
            "total",
            "anomalies",
            "savings_basis",
            "false_hits",
            *(("groups",) if by else ()),
        }


def test_an_empty_ledger_still_has_every_key(make_engine: Any) -> None:
    engine = make_engine()
    got = engine.store.call(compute_stats, None, "provider")
    assert got["total"] == reference([]) and got["groups"] == []
