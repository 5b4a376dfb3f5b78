"""The meaning hold-out (bench/holdout/meaning.json) at the engine's pure level.

Each family is learned through the same check a person's "accept" runs (constraints, round
trip, validation, generalisation); then every ``serve`` task must match the learned template
and render code containing its strings, and no near miss may match (unless its ``ok_if`` holds).
The end-to-end run through the engine and the fake provider is bench/holdout.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.learning.body import Param
from engine.learning.review import check, spec_for
from engine.templates import TemplateIndex
from engine.validation import CodeValidator

FAMILIES = json.loads((Path(__file__).parents[2] / "bench" / "holdout" / "meaning.json").read_text())


def _learn(family: dict) -> TemplateIndex:
    teach = family["teach"]
    suggestion = teach["suggestion"]
    params = [
        Param(p["name"], p["type"], p["value"], p.get("description", ""), p.get("confidence", 0.9))
        for p in suggestion["params"]
    ]
    preview = check(teach["task"], teach["code"], suggestion["pattern"], params, CodeValidator())
    assert preview.ok, preview.problems
    spec = spec_for("learned-1", preview.pattern, preview.body, list(preview.params), None)
    return TemplateIndex([spec])


@pytest.mark.parametrize("family", FAMILIES, ids=[f["family"] for f in FAMILIES])
def test_family_serves_its_own_meaning_and_nothing_else(family: dict) -> None:
    index = _learn(family)
    assert index.match(family["teach"]["task"]) is not None
    for case in family["serve"]:
        found = index.match(case["task"])
        assert found is not None, f"not served: {case['task']}"
        code = found.render()
        for text in case["contains"]:
            assert text in code, (case["task"], text)
    wrong = []
    for near in family["near_misses"]:
        found = index.match(near["task"])
        if found is None:
            continue
        ok_if = near.get("ok_if")
        code = found.render()
        if (
            ok_if
            and all(t in code for t in ok_if.get("contains", []))
            and not any(t in code for t in ok_if.get("not_contains", []))
        ):
            continue
        wrong.append((near["class"], near["task"]))
    assert wrong == []


def test_holdout_meets_the_class_counts() -> None:
    classes = [n["class"] for f in FAMILIES for n in f["near_misses"]]
    assert len(FAMILIES) >= 12 and len(classes) >= 30
    assert classes.count("relation") >= 5 and classes.count("modifier") >= 5
