"""Routing with a router that always says yes (issue 13 item 4): the deterministic guards alone
must refuse every near miss of the hold-out (bench/holdout) and of the recall bench
(bench/recall), while paraphrases may still be routed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from engine.learning.router import candidate_bindings, guard_problem, said_yes
from engine.templates import TemplateSpec

ROOT = Path(__file__).resolve().parents[2]
ROUTING = "route_paraphrases = true\nroute_min_similarity = 0.3\nroute_max_usd = 0.001\n"


def load(name: str):
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(f"bench_{name}", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI", "OPENAI", "ANTHROPIC"):
        monkeypatch.setenv(f"{name}_API_KEY", "fake-routing-key")


@pytest.mark.slow
async def test_an_always_yes_router_serves_no_holdout_near_miss(fake_keys) -> None:
    holdout = load("holdout")
    families = holdout.load_families(sorted((ROOT / "bench" / "holdout").glob("*.json")))
    report = await holdout.run(families, ROUTING)
    assert report.wrong == [], "\n".join(f"{o.family} [{o.kind}] {o.task!r} ({o.source})" for o in report.wrong)
    near = [o for o in report.outcomes if o.kind != "serve"]
    assert len(near) >= 30


@pytest.mark.slow
async def test_an_always_yes_router_serves_no_recall_near_miss_and_routes_paraphrases(fake_keys) -> None:
    recall = load("recall")
    figures = recall.Figures()
    data = recall.load(recall.HERE / "families.json")
    await recall.run_learned(data, figures, recall.load(recall.HERE / "zeroslot.json"), recall.ROUTING)
    wrong = [a for a in figures.answers if a.verdict == "wrong"]
    assert wrong == [], wrong
    routed = [a for a in figures.answers if a.verdict == "recalled" and a.tier == "routed"]
    assert routed, "routing on: some paraphrases are routed"
    assert recall.ROUTING == ROUTING


def spec() -> TemplateSpec:
    return TemplateSpec.from_dict(
        {
            "name": "learned-1",
            "description": "",
            "patterns": ["function {func:identifier} that checks whether n is prime"],
            "body": 'def {{ func }}(n: int) -> bool:\n    """Return True when n is a prime number."""\n    return n > 1\n',
            "params": [{"name": "func", "type": "identifier", "example": "is_prime"}],
        }
    )


@pytest.mark.parametrize(
    "task",
    [
        "function that checks whether n is not prime",  # negation
        "function that checks whether n is even",  # another kind
        "function that checks whether n is prime and odd",  # an extra requirement
        "function is_prime that checks whether n is prime in O(1)",  # a value no slot takes
        "function that checks whether n is a prime factor",  # a word the code never mentions
        "function that prime checks whether n is",  # the words in another order
    ],
)
def test_guards_refuse_near_misses(task: str) -> None:
    s = spec()
    bindings = candidate_bindings(s, task)
    assert bindings is None or guard_problem(s, s.patterns[0], bindings, task, s.render(bindings)) is not None


def test_guards_let_a_paraphrase_through_with_the_learned_name() -> None:
    s = spec()
    task = "function that tells if a number is prime"
    bindings = candidate_bindings(s, task)
    assert bindings == {"func": "is_prime"}
    assert guard_problem(s, s.patterns[0], bindings, task, s.render(bindings)) is None


def test_a_value_no_slot_takes_rules_routing_out() -> None:
    assert candidate_bindings(spec(), "function that checks whether the number 7 is prime") is None


@pytest.mark.parametrize(
    ("text", "yes"),
    [("yes", True), ("Yes.", True), ("**yes**", True), ("no", False), ("I think yes", False), ("", False)],
)
def test_only_a_plain_yes_counts(text: str, yes: bool) -> None:
    assert said_yes(text) is yes
