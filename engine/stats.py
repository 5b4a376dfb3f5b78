"""Usage statistics from the ledger: calls, tokens, cost, savings, hit rates, latency, failures.

Savings are on one basis for every tier (``engine.llm.price_map.SAVINGS_BASIS``, stated in the
output); a wrong-answer report's ``reversal`` row subtracts what its answer was credited. Failed
$0 attempts (a template render or its validation failed) are counted apart from paid calls, and
the false-hit rate is wrong-answer reports / template answers, per template and in total.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from engine.budget.usage import anomaly_summary
from engine.errors import BadInput
from engine.feedback import wrong_reports
from engine.llm.price_map import SAVINGS_BASIS
from engine.stats_sql import summaries, template_answers
from engine.store.sql import execute

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


def compute_stats(
    since: float | None = None, by: str | None = None, *, with_false_hits: bool = True, fold_templates: bool = False
) -> dict[str, Any]:
    """Totals (and groups when ``by`` is given), read from the per-day aggregates
    (``engine.stats_rollup``: cost follows days and groups, not ledger rows; raw rows may have
    been pruned). Without ``with_false_hits`` the per-template false-hit table (a read of every
    template's answers and of the wrong-answer reports) is skipped and ``false_hits`` is None:
    for a surface that does not show it. With ``fold_templates``, ``by="model"`` counts every
    template answer (whose ``model`` is the template's name) in one group ``-`` instead of one
    group per template (``stats_rollup.summaries``). Runs on the database thread."""
    if by is not None and by not in GROUPS:
        raise BadInput(f"--by must be one of {', '.join(GROUPS)}")
    from engine import stats_rollup

    result: dict[str, Any] = {
        "since": since,
        "by": by,
        "total": stats_rollup.summaries(execute, since, None)[None],
        "savings_basis": SAVINGS_BASIS,
        "false_hits": None,
    }
    if with_false_hits:
        answers, sources = stats_rollup.template_answers(execute, since)
        result["false_hits"] = false_hits(answers, sources, wrong_reports(since))
    result["anomalies"] = anomaly_summary(execute, since)  # usage claims not believed (engine.budget.usage)
    if by:
        groups = stats_rollup.summaries(execute, since, by, fold_templates=fold_templates)
        result["groups"] = [{by: name, **groups[name]} for name in sorted(groups)]  # type: ignore[type-var]
    return result


def compute_stats_raw(since: float | None = None, by: str | None = None) -> dict[str, Any]:
    """The same figures summed from the raw ledger rows (exact latency percentiles and distinct
    request ids; O(rows)): the reference the aggregates are checked against."""
    if by is not None and by not in GROUPS:
        raise BadInput(f"--by must be one of {', '.join(GROUPS)}")
    where, params = "source <> 'reconcile'", tuple[float, ...]()
    if since is not None:
        where, params = where + " AND ts >= ?", (since,)
    answers, sources = template_answers(execute, where, params)
    result: dict[str, Any] = {
        "since": since,
        "by": by,
        "total": summaries(execute, where, params, None)[None],
        "savings_basis": SAVINGS_BASIS,
        "false_hits": false_hits(answers, sources, wrong_reports(since)),
    }
    result["anomalies"] = anomaly_summary(execute, since)
    if by:
        groups = summaries(execute, where, params, by)
        result["groups"] = [{by: name, **groups[name]} for name in sorted(groups)]  # type: ignore[type-var]
    return result


def false_hits(answers: dict[str, int], sources: dict[str, str], wrong: dict[str, int]) -> dict[str, Any]:
    """Wrong-answer reports / template answers, per template (the ledger's ``model`` column holds the
    template's name) and in total."""
    names = sorted(set(answers) | set(wrong))
    per = [
        {
            "template": name,
            "source": sources.get(name, "learned" if name.startswith("learned-") else "builtin"),
            "answers": answers.get(name, 0),
            "wrong": wrong.get(name, 0),
            "false_hit_rate": round(wrong.get(name, 0) / answers[name], 4) if answers.get(name) else None,
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
