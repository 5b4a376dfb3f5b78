"""``--json`` output (engine.cli.json_text): the same text as ``json.dumps(data, indent=2,
default=str, ensure_ascii=False)`` for every shape, written by the C encoder where it can."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.cli.json_text import dumps


def _std(data: Any, indent: int = 2) -> str:
    return json.dumps(data, indent=indent, default=str, ensure_ascii=False)


def _first_difference(got: str, want: str) -> int | None:
    """The first differing line (pytest's own diff of two long texts can take minutes)."""
    a, b = got.splitlines(), want.splitlines()
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None if len(a) == len(b) else min(len(a), len(b)))


ROW = {"template": "learned-1", "source": "learned", "answers": 3, "wrong": 1, "false_hit_rate": 0.3333}
CASES: list[Any] = [
    {},
    [],
    None,
    "plain",
    7,
    [ROW, {**ROW, "template": 'tricky "},\n{" name', "false_hit_rate": None}],
    {"rows": [ROW] * 3, "total": {"failures": {}, "cost_usd": 1.5e-06, "ok": True}, "empty": [], "none": None},
    {"rows": [ROW, {}]},  # an empty row among flat ones
    {"rows": [ROW, {"nested": {"a": 1}}]},
    {"rows": [ROW, [1, 2]]},
    {"rows": [{1: "int key"}, ROW]},
    {1: "a", None: "b", False: "c", 2.5: "d"},  # keys json turns into text
    {"when": datetime(2026, 12, 2, tzinfo=UTC), "price": Decimal("0.10"), "rows": [{"d": Decimal(1)}]},
    {"tuple": (1, "two", (3, [4, {"five": 5}])), "set": "ß ✓ 漢字 \u2028 \x00 \n\t"},
    {"nan": math.nan, "inf": -math.inf, "big": 10**30, "neg": -0.0},
    [[[[]]], [{}], [[{"deep": [{"x": [1, {"y": None}]}]}]]],
    {"a": {"b": {"c": {"d": [{"e": "f", "g": [1, 2]}, {"h": "i"}]}}}},
]


@pytest.mark.parametrize("data", CASES, ids=range(len(CASES)))
def test_same_text_as_json_dumps(data: Any) -> None:
    assert dumps(data) == _std(data)
    assert dumps(data, indent=4) == _std(data, indent=4)


def test_without_a_usable_accelerator_the_text_is_still_the_same(monkeypatch: Any) -> None:
    """The C encoder's constructor is private: if a Python changes its signature, the output falls
    back to ``json.dumps`` instead of failing."""
    from engine.cli import json_text

    def changed(*_args: Any) -> Any:
        raise TypeError("c_make_encoder() takes other arguments")

    monkeypatch.setattr(json_text, "_c_make_encoder", changed)
    monkeypatch.setattr(json_text, "_encoders", {})
    for data in CASES:
        assert dumps(data) == _std(data)


def test_random_documents() -> None:
    rng = random.Random(14)
    scalars = [None, True, False, 0, -3, 2.25, 1e300, "", "x", "é}\n,{", '"},', "{", "}"]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.45:
            return rng.choice(scalars)
        if roll < 0.6:  # a list of flat rows, the fast path's case
            keys = rng.sample(["a", "b", "c", "d"], rng.randint(1, 4))
            return [{k: rng.choice(scalars) for k in keys} for _ in range(rng.randint(1, 5))]
        if roll < 0.8:
            return {f"k{i}": value(depth + 1) for i in range(rng.randint(0, 4))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    for _ in range(400):
        data = value(0)
        assert _first_difference(dumps(data), _std(data)) is None, data


def test_stats_json_of_a_store_with_template_rows(make_engine: Any) -> None:
    import sys
    from pathlib import Path

    from engine.stats import compute_stats

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import growth_data as G

    engine = make_engine()
    engine.store.call(G.bulk_ledger, engine.store.db, G.ledger_rows(2000, 3, 1_790_000_000.0))
    data = engine.store.call(compute_stats, None, "model")
    assert len(data["false_hits"]["templates"]) > 100
    text = dumps(data)
    assert _first_difference(text, _std(data)) is None and text == _std(data)
    assert json.loads(text) == data
