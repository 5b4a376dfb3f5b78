"""Ledger statistics aggregated by the database, not by Python row by row (issue 14).

``summaries(where, params, group)`` returns, per group (or for the key ``None`` when ``group``
is None), exactly the dict ``engine.stats`` documents — same keys, same values as summing the
rows in Python: sums and counts are SQL aggregates; only the latencies of successful paid
attempts (for the percentiles) come back as a single column. Portable SQL (SQLite and
PostgreSQL); ``where`` is a fragment over ``ledger_entry`` with ``?`` placeholders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from engine.money import micros_to_usd

PAID_SOURCES = ("llm", "review", "suggest", "repair", "route")  # route: the paraphrase router (engine.learning.router)
FREE_SOURCES = ("cache", "learned", "builtin", "routed")
COLUMNS = {
    "source": "source",
    "provider": "provider",
    "model": "model",
    "project": "project",
    "agent": "agent",
    "day": "day",
}


def _percentile(ordered: list[int], q: float) -> int | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def _name(value: Any) -> str:
    return str(value or "-")


def summary_row(
    sums: tuple[int, int, int, int, int, int, int, int, int],
    requests: int,
    latency: tuple[int | None, int | None],
    failures: dict[str, int],
    free_failures: dict[str, int],
) -> dict[str, Any]:
    """One group's figures as ``stats`` prints them, however they were summed (raw rows here,
    per-day aggregates in ``engine.stats_rollup``): ``sums`` is (paid calls, tokens in, tokens
    out, cost, saved, cache hits, template hits, estimated rows, reversed savings), ``latency``
    the p50 and p95 of successful paid attempts."""
    paid_calls, tin, tout, cost, saved, cache_hits, template_hits, estimated, reversed_ = sums
    return {
        "requests": requests,
        "paid_calls": paid_calls,
        "tokens_in": tin,
        "tokens_out": tout,
        "cost_usd": micros_to_usd(cost),
        "saved_usd": micros_to_usd(saved),
        "cache_hits": cache_hits,
        "template_hits": template_hits,
        "cache_hit_rate": round(cache_hits / requests, 4) if requests else 0.0,
        "template_hit_rate": round(template_hits / requests, 4) if requests else 0.0,
        "latency_p50_ms": latency[0],
        "latency_p95_ms": latency[1],
        "failures": dict(sorted(failures.items())),
        "free_failed_attempts": sum(free_failures.values()),
        "free_failures": dict(sorted(free_failures.items())),
        "reversed_usd": -micros_to_usd(reversed_),
        "estimated_rows": estimated,
    }


def summaries(
    execute: Callable[..., Any], where: str, params: tuple[Any, ...], group: str | None
) -> dict[str | None, dict[str, Any]]:
    """Per-group summaries of the ledger rows matching ``where``."""
    col = COLUMNS[group] if group else "''"
    by = f" GROUP BY {col}" if group else ""  # PostgreSQL refuses GROUP BY a constant
    paid = ", ".join("?" for _ in PAID_SOURCES)
    totals = execute(
        f"SELECT {col}, "
        f"SUM(CASE WHEN source IN ({paid}) THEN 1 ELSE 0 END), "
        f"COALESCE(SUM(CASE WHEN source IN ({paid}) THEN tokens_in ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN source IN ({paid}) THEN tokens_out ELSE 0 END), 0), "
        "COALESCE(SUM(cost_micros), 0), COALESCE(SUM(saved_micros), 0), "
        "SUM(CASE WHEN source = 'cache' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN source IN ('learned', 'builtin') AND outcome = 'ok' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN estimated THEN 1 ELSE 0 END), "
        "COALESCE(SUM(CASE WHEN source = 'reversal' THEN saved_micros ELSE 0 END), 0) "
        f"FROM ledger_entry WHERE {where}{by}",
        (*PAID_SOURCES, *PAID_SOURCES, *PAID_SOURCES, *params),
    ).fetchall()
    out: dict[str | None, dict[str, Any]] = {}
    acc: dict[str, list[int]] = defaultdict(lambda: [0] * 9)
    for row in totals:  # '' and NULL both name the group "-": add them up
        target = acc[_name(row[0])]
        for i, value in enumerate(row[1:]):
            target[i] += int(value or 0)
    answered: dict[str, int] = defaultdict(int)
    for name, count in execute(
        f"SELECT {col}, COUNT(DISTINCT request_id) FROM ledger_entry WHERE {where} AND source = 'llm' "
        f"AND outcome = 'ok'{by}",
        params,
    ).fetchall():
        answered[_name(name)] += int(count)
    failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, error, count in execute(
        f"SELECT {col}, error_class, COUNT(*) FROM ledger_entry WHERE {where} AND source IN ({paid}) "
        f"AND outcome IN ('error', 'interrupted'){by}{',' if group else ' GROUP BY'} error_class",
        (*params, *PAID_SOURCES),
    ).fetchall():
        failures[_name(name)][error or "unknown"] += int(count)
    free_failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    free = ", ".join("?" for _ in FREE_SOURCES)
    for name, error, count in execute(
        f"SELECT {col}, error_class, COUNT(*) FROM ledger_entry WHERE {where} AND source IN ({free}) "
        f"AND outcome <> 'ok'{by}{',' if group else ' GROUP BY'} error_class",
        (*params, *FREE_SOURCES),
    ).fetchall():
        free_failures[_name(name)][error or "unknown"] += int(count)
    latencies: dict[str, list[int]] = defaultdict(list)
    for name, latency in execute(
        f"SELECT {col}, latency_ms FROM ledger_entry WHERE {where} AND source IN ({paid}) AND outcome = 'ok' "
        "ORDER BY latency_ms",
        (*params, *PAID_SOURCES),
    ).fetchall():
        latencies[_name(name)].append(int(latency))
    for name, (paid_calls, tin, tout, cost, saved, cache_hits, template_hits, estimated, reversed_) in acc.items():
        requests = answered.get(name, 0) + cache_hits + template_hits
        ordered = latencies.get(name, [])
        out[None if group is None else name] = summary_row(
            (paid_calls, tin, tout, cost, saved, cache_hits, template_hits, estimated, reversed_),
            requests,
            (_percentile(ordered, 0.5), _percentile(ordered, 0.95)),
            failures.get(name, {}),
            free_failures.get(name, {}),
        )
    return out


def template_answers(
    execute: Callable[..., Any], where: str, params: tuple[Any, ...]
) -> tuple[dict[str, int], dict[str, str]]:
    """Per template name (the ledger's ``model`` column): answers served (ok), and its source
    (that of its latest row, should a name have been served by both tiers)."""
    answers: dict[str, int] = {}
    sources: dict[str, tuple[int, str]] = {}
    for model, source, last, ok in execute(
        "SELECT model, source, MAX(id), SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) FROM ledger_entry "
        f"WHERE {where} AND source IN ('learned', 'builtin') GROUP BY model, source",
        params,
    ).fetchall():
        name = str(model)
        if name not in sources or int(last) > sources[name][0]:
            sources[name] = (int(last), str(source))
        if int(ok or 0):
            answers[name] = answers.get(name, 0) + int(ok)
    return answers, {name: source for name, (_, source) in sources.items()}
