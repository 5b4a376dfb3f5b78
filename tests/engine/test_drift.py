"""Dead code stays dead, money converts in one module, and Templar's own validator finds no
string-built SQL in the modules that talk to the budget tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import money
from engine.budget import book
from engine.validation import CodeValidator, ValidationPolicy

ROOT = Path(__file__).resolve().parents[2]
# a float conversion of micro-dollars or of a per-token price, written out by hand
HAND_CONVERSION = re.compile(r"(?<![/*])[/*](?![/*])\s*(1e6|1_000_000(\.0)?|1000000)\b")


def sources(*dirs: str) -> list[Path]:
    return [p for d in dirs for p in sorted((ROOT / d).rglob("*.py"))]


def test_money_conversions_live_only_in_engine_money() -> None:
    found = []
    for path in sources("engine", "tui"):
        if path == ROOT / "engine" / "money.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if HAND_CONVERSION.search(code):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "use engine.money helpers:\n" + "\n".join(found)


def test_the_drift_guard_catches_the_forms_it_is_for() -> None:
    for line in ("x = cost / 1e6", "usd * 1_000_000", "a/1000000", "f'{m / 1e6:.6f}'"):
        assert HAND_CONVERSION.search(line), line
    for line in ("MAX_CONFIG_BYTES = 1_000_000", "le=1_000_000,", "x = 1e6", "limit // 1_000_000", "2 ** 1000000"):
        assert not HAND_CONVERSION.search(line), line


def test_money_helpers() -> None:
    assert money.micros_to_usd(1_234_567) == 1.234567 and money.micros_to_usd(None) is None
    assert money.usd_to_micros(0.000001) == 1 and money.usd_to_micros(None) is None
    assert money.usd_to_micros(money.micros_to_usd(987_654_321)) == 987_654_321  # round trip is exact
    assert money.per_mtok(0.00000015) == pytest.approx(0.15)
    assert money.format_usd_exact(1234) == "$0.001234" and money.format_usd_exact(0) == "$0.000000"


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("engine.llm.adapter", "timed"),
        ("engine.llm.adapter", "model_facts"),
        ("engine.events", "ignore"),
        ("engine.templates.normalize", "content_words"),
        ("engine.budget.book", "SCOPES"),
        ("engine.stats", "FREE_SOURCES"),
        ("engine.stats", "PAID_SOURCES"),
    ],
)
def test_removed_helpers_stay_removed(module: str, name: str) -> None:
    import importlib

    assert not hasattr(importlib.import_module(module), name)


def test_result_log_keeps_no_unused_torn_count() -> None:
    from engine.batch import ResultLog

    assert "torn_lines" not in ResultLog.__init__.__code__.co_names


@pytest.mark.parametrize("relative", ["engine/budget/book.py", "engine/llm/chain.py"])
def test_templar_validate_finds_no_string_built_sql(relative: str) -> None:
    source = (ROOT / relative).read_text(encoding="utf-8")
    report = CodeValidator(ValidationPolicy()).validate(source, filename=Path(relative).name)
    sql = [f for f in report.findings if f.rule_id == "B608"]
    assert not sql, [(f.line, f.message) for f in sql]
    assert not report.blocking


def test_ledger_completion_is_one_fixed_statement() -> None:
    assert "{" not in book._COMPLETE_LEDGER and book._COMPLETE_LEDGER.count("?") == len(book.LEDGER_COLUMNS) + 1
    assert book._ledger_values({"outcome": "ok", "latency_ms": 5}) == ("ok", None, None, None, None, 5, None)
    with pytest.raises(ValueError, match="not a ledger column"):
        book._ledger_values({"outcome": "ok", "id = 1; DROP TABLE ledger_entry; --": 1})
