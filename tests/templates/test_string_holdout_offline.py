"""bench/holdout/strings.json through the review check and the matcher, without an engine.

The lead's runner (bench/holdout.py) drives the same data through the whole engine; this test
is the fast, offline half: every family must be learned by ``review.check`` exactly as the
suggestion says, every ``serve`` task must match and render the expected code, and no near miss
may render code unless its ``ok_if`` holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.learning.body import Param
from engine.learning.review import check, spec_for
from engine.templates import TemplateIndex
from engine.validation import CodeValidator

DATA = Path(__file__).resolve().parents[2] / "bench" / "holdout" / "strings.json"
FAMILIES = json.loads(DATA.read_text(encoding="utf-8"))
VALIDATOR = CodeValidator()


def learn(family: dict) -> TemplateIndex:
    teach = family["teach"]
    params = [
        Param(p["name"], p["type"], p["value"], p.get("description", ""), p.get("confidence", 0.0))
        for p in teach["suggestion"]["params"]
    ]
    preview = check(teach["task"], teach["code"], teach["suggestion"]["pattern"], params, VALIDATOR)
    assert preview.ok, preview.problems
    spec = spec_for("learned-1", preview.pattern, preview.body, list(preview.params), None)
    return TemplateIndex([spec])


def served(index: TemplateIndex, task: str) -> str | None:
    match = index.match(task)
    if match is None:
        return None
    code = match.render()
    return code if VALIDATOR.validate(code).ok else None


@pytest.mark.parametrize("family", FAMILIES, ids=[f["family"] for f in FAMILIES])
def test_family_is_learned_serves_new_values_and_refuses_near_misses(family: dict) -> None:
    index = learn(family)
    for case in family["serve"]:
        code = served(index, case["task"])
        assert code is not None, f"not served: {case['task']}"
        for text in case["contains"]:
            assert text in code, (case["task"], text, code)
    for case in family["near_misses"]:
        code = served(index, case["task"])
        if code is None:
            continue
        ok_if = case.get("ok_if")
        assert ok_if is not None, f"WRONG ({case['class']}): served {case['task']!r}"
        assert all(t in code for t in ok_if.get("contains", [])), (case["task"], code)
        assert not any(t in code for t in ok_if.get("not_contains", [])), (case["task"], code)


def test_the_hold_out_has_five_near_misses_of_each_string_class_across_families() -> None:
    by_class: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for family in FAMILIES:
        for case in family["near_misses"]:
            by_class.setdefault(case["class"], set()).add(family["family"])
            counts[case["class"]] = counts.get(case["class"], 0) + 1
    for cls in ("empty", "notation", "escape"):
        assert counts[cls] >= 5 and len(by_class[cls]) >= 3, (cls, counts, by_class)
