"""The validator meets its goals on the corpus: >= 95 % of dangerous snippets blocked, <= 1 % of
clean code blocked (tests/validation/corpus; the same figures bench/validation_scores.py prints).

A behaviour test: a rule change that lets a technique through or blocks a near miss fails it,
and the failure lists the snippets by name."""

from __future__ import annotations

import pytest

from engine.validation import CodeValidator
from tests.validation import corpus

DANGEROUS_GOAL = 0.95
CLEAN_GOAL = 0.01


@pytest.fixture(scope="module")
def validator() -> CodeValidator:
    return CodeValidator()


def test_the_corpus_is_large_and_each_technique_is_named_once() -> None:
    dangerous = corpus.all_dangerous()
    assert len(dangerous) >= 80
    assert len({s.name for s in dangerous}) == len(dangerous)
    assert len({s.code for s in dangerous}) == len(dangerous)
    assert len(corpus.humaneval()) == 164
    assert len(corpus.near_misses()) >= 40
    for snippet in dangerous + corpus.near_misses() + corpus.holdout_clean():  # realistic: a documented, typed function
        assert '"""' in snippet.code and "->" in snippet.code, snippet.name
        compile(snippet.code, snippet.name, "exec")


def test_dangerous_snippets_are_blocked(validator) -> None:
    snippets = corpus.all_dangerous()
    missed = [s.name for s in snippets if validator.validate(s.code).ok]
    rate = 1 - len(missed) / len(snippets)
    assert rate >= DANGEROUS_GOAL, f"blocked {rate:.1%}; missed: {missed}"


def test_clean_code_is_not_blocked(validator) -> None:
    snippets = corpus.clean()
    blocked = {s.name: [f.rule_id for f in r.blocking] for s in snippets if not (r := validator.validate(s.code)).ok}
    rate = len(blocked) / len(snippets)
    assert rate <= CLEAN_GOAL, f"blocked {rate:.1%}: {blocked}"


def test_every_blocking_security_finding_has_a_hint(validator) -> None:
    for snippet in corpus.all_dangerous():
        for finding in validator.validate(snippet.code).blocking:
            assert finding.hint, (snippet.name, finding)
