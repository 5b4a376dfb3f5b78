"""Ledger statistics from the per-day aggregates (``engine.rollups``), not from raw rows.

Same dict as :func:`engine.stats_sql.summaries`, read from ``ledger_rollup`` and
``ledger_latency`` (rows per day and dimension value), so the cost follows the number of days and
groups, not the number of ledger rows, and raw rows can be pruned. Two figures differ by
construction from the raw-row version:

- ``latency_p50_ms`` / ``latency_p95_ms`` come from a histogram: exact below 100 ms, rounded down
  to two significant digits above (at most 10 % low);
- ``requests`` counts successful ``llm`` rows, not distinct request ids (the chain writes one
  successful generation attempt per request, so the two agree on engine-written ledgers).

A ``since`` that is not a day boundary reads the aggregates of the later days plus the raw rows of
its own day from ``since`` on (an index range on ``ts``; rows pruned from that day are then not
counted).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.rollups import PAID, bucket_sql
from engine.stats_sql import _name, summary_row

FREE = ("cache", "learned", "builtin", "routed")
TEMPLATE_SOURCES = ("learned", "builtin", "routed")
"""Answers whose ``model`` column is a template's name."""
GROUP_DIM = {
    "provider": "provider",
    "model": "model",
    "project": "project",
    "agent": "agent",
    "day": "all",
    "source": "all",
}
_SUMS = "rows, tokens_in, tokens_out, cost_micros, saved_micros"


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _derived(dim: str, since: float | None) -> tuple[str, tuple[Any, ...], str, tuple[Any, ...]]:
    """(rollup rows SQL, params, latency rows SQL, params) for one dimension, ``since`` applied."""
    if since is None:
        return (
            f"SELECT value, day, source, outcome, error_class, estimated, {_SUMS} FROM ledger_rollup WHERE dim = ?",
            (dim,),
            "SELECT value, day, source, bucket, n FROM ledger_latency WHERE dim = ?",
            (dim,),
        )
    day = _day(since)
    # the raw part reads [since, end of that UTC day) through the ts index, nothing later
    end = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() + 86400
    value = "''" if dim == "all" else f"COALESCE({dim}, '')"
    by = "" if dim == "all" else f"{value}, "  # PostgreSQL refuses GROUP BY a constant
    est = "CASE WHEN estimated THEN 1 ELSE 0 END"
    rows = (
        f"SELECT value, day, source, outcome, error_class, estimated, {_SUMS} FROM ledger_rollup "
        "WHERE dim = ? AND day > ? UNION ALL "
        f"SELECT {value}, day, source, outcome, COALESCE(error_class, ''), {est}, COUNT(*), SUM(tokens_in), "
        "SUM(tokens_out), SUM(cost_micros), SUM(saved_micros) FROM ledger_entry WHERE ts >= ? AND ts < ? "
        f"GROUP BY {by}day, source, outcome, COALESCE(error_class, ''), {est}"
    )
    paid = ", ".join("?" for _ in PAID)
    lat = (
        "SELECT value, day, source, bucket, n FROM ledger_latency WHERE dim = ? AND day > ? UNION ALL "
        f"SELECT {value}, day, source, {bucket_sql('latency_ms')}, COUNT(*) FROM ledger_entry "
        f"WHERE ts >= ? AND ts < ? AND source IN ({paid}) AND outcome = 'ok' "
        f"GROUP BY {by}day, source, {bucket_sql('latency_ms')}"
    )
    return rows, (dim, day, since, end), lat, (dim, day, since, end, *PAID)


def _percentile(histogram: dict[int, int], q: float) -> int | None:
    total = sum(histogram.values())
    if not total:
        return None
    target = min(total - 1, max(0, round(q * (total - 1))))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > target:
            return value
    return None  # unreachable


def summaries(
    execute: Callable[..., Any], since: float | None, group: str | None, *, fold_templates: bool = False
) -> dict[str | None, dict[str, Any]]:
    """Per-group summaries (``group`` one of :data:`GROUP_DIM`, or None for the total).

    A template answer's ``model`` is the template's name, so ``group="model"`` has a group per
    template served (and the ``model`` aggregates a row per template per day). With
    ``fold_templates`` those answers are one group, ``-``, read from the ``all`` aggregates:
    the cost then follows the models, not the templates (the budget screen's breakdown)."""
    dim = GROUP_DIM[group] if group else "all"
    col = {"day": "day", "source": "source"}.get(group or "", "value")
    rows_sql, rows_params, lat_sql, lat_params = _derived(dim, since)
    key = col if group else "''"
    by = f"{key}, " if group else ""  # PostgreSQL refuses GROUP BY a constant
    # (rows SQL, params, extra condition, group key, GROUP BY prefix)
    queries = [(rows_sql, rows_params, "", key, by)]
    if fold_templates and group == "model":
        tiers = ", ".join(f"'{s}'" for s in TEMPLATE_SOURCES)
        all_sql, all_params, _, _ = _derived("all", since)
        queries = [
            (rows_sql, rows_params, f" AND source NOT IN ({tiers})", key, by),
            (all_sql, all_params, f" AND source IN ({tiers})", "''", ""),
        ]
    acc: dict[str, list[int]] = defaultdict(lambda: [0] * 9)
    answered: dict[str, int] = defaultdict(int)
    failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    free_failures: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fetched: list[Any] = []
    for sql, params, only, name_sql, prefix in queries:
        fetched += execute(
            f"SELECT {name_sql}, source, outcome, error_class, estimated, SUM(rows), SUM(tokens_in), SUM(tokens_out), "
            f"SUM(cost_micros), SUM(saved_micros) FROM ({sql}) t WHERE source <> 'reconcile'{only} "
            f"GROUP BY {prefix}source, outcome, error_class, estimated HAVING SUM(rows) <> 0",
            params,
        ).fetchall()
    for name, source, outcome, error, estimated, n, tin, tout, cost, saved in fetched:
        g, n = _name(name), int(n or 0)
        target = acc[g]
        paid = source in PAID
        if paid:
            target[0] += n
            target[1] += int(tin or 0)
            target[2] += int(tout or 0)
            if outcome in ("error", "interrupted"):
                failures[g][error or "unknown"] += n
        target[3] += int(cost or 0)
        target[4] += int(saved or 0)
        if source == "cache":
            target[5] += n
        if source in ("learned", "builtin", "routed") and outcome == "ok":
            target[6] += n
        if int(estimated or 0):
            target[7] += n
        if source == "reversal":
            target[8] += int(saved or 0)
        if source == "llm" and outcome == "ok":
            answered[g] += n
        if source in FREE and outcome != "ok":
            free_failures[g][error or "unknown"] += n
    latencies: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for name, bucket, n in execute(
        f"SELECT {key}, bucket, SUM(n) FROM ({lat_sql}) t GROUP BY {by}bucket HAVING SUM(n) <> 0",
        lat_params,
    ).fetchall():
        latencies[_name(name)][int(bucket)] += int(n)
    if group is None and not acc:
        acc["-"] = [0] * 9  # an empty ledger still has a total of zeros
    out: dict[str | None, dict[str, Any]] = {}
    for name, (paid_calls, tin, tout, cost, saved, cache_hits, template_hits, estimated, reversed_) in acc.items():
        requests = answered.get(name, 0) + cache_hits + template_hits
        histogram = latencies.get(name, {})
        out[None if group is None else name] = summary_row(
            (paid_calls, tin, tout, cost, saved, cache_hits, template_hits, estimated, reversed_),
            requests,
            (_percentile(histogram, 0.5), _percentile(histogram, 0.95)),
            failures.get(name, {}),
            free_failures.get(name, {}),
        )
    return out


def template_answers(execute: Callable[..., Any], since: float | None) -> tuple[dict[str, int], dict[str, str]]:
    """Per template name: answers served (ok), and its source (that of its latest day, then the
    larger count, should a name have been served by both tiers). All time (``since`` None) is
    read from the per-template totals (``engine.template_totals``: a row per template), a window
    from the per-day ``model`` aggregates."""
    from engine.template_totals import SOURCES, read_sql

    if since is None:
        sql, params = read_sql(), tuple[Any, ...]()
    else:
        rows_sql, params, _, _ = _derived("model", since)
        sources_in = ", ".join(f"'{s}'" for s in SOURCES)  # constants, not input
        sql = (
            f"SELECT value, source, MAX(day), SUM(CASE WHEN outcome = 'ok' THEN rows ELSE 0 END), SUM(rows) "
            f"FROM ({rows_sql}) t WHERE source IN ({sources_in}) GROUP BY value, source HAVING SUM(rows) <> 0"
        )
    answers: dict[str, int] = {}
    sources: dict[str, tuple[str, int, str]] = {}
    for name, source, last, ok, total in execute(sql, params).fetchall():
        name = str(name)
        rank = (str(last), int(total or 0), str(source))
        if name not in sources or rank > sources[name]:
            sources[name] = rank
        if int(ok or 0):
            answers[name] = answers.get(name, 0) + int(ok)
    return answers, {name: rank[2] for name, rank in sources.items()}
