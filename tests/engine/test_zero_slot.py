"""Zero-slot templates: a task with no values is learned by its canonical wording, without a model call."""

from __future__ import annotations

import pytest

from engine.learning.body import Param
from engine.learning.review import check
from engine.learning.zeroslot import has_no_values, zero_slot_pattern
from engine.store.models import LedgerEntry
from engine.validation import CodeValidator
from tests.engine.test_learning import responder
from tests.fakes import FakeProviderServer

TASK = "Write a function that checks whether a string is a palindrome."
CODE = (
    '"""Palindromes."""\n\n\ndef is_palindrome(text: str) -> bool:\n'
    '    """Return True when text reads the same backwards."""\n    return text == text[::-1]\n'
)


@pytest.mark.parametrize(
    ("task", "free"),
    [
        ("function that checks whether a string is a palindrome", True),
        ("Can you write a function which reverses a linked list?", True),
        ("function is_palindrome that checks a string", False),  # a name
        ("class Stack implementing a stack", False),  # a capitalised name
        ("function that returns the first 10 primes", False),  # a number
        ("function that greets 'Bob'", False),  # a quoted string
        ("client for https://example.com", False),  # a URL
        ("function that parses ISO8601 dates", False),  # digits in a word
        ("function dedupe that removes duplicates from a list", False),  # a plain-word name after "function"
        ("class stack with push and pop", False),
        ("a function named flatten which flattens a nested list", False),
        ("function to flatten a nested list", True),
        ("Write a function returning the sum of a list", True),
    ],
)
def test_value_free_tasks_are_recognised_conservatively(task: str, free: bool) -> None:
    assert has_no_values(task) is free


@pytest.mark.parametrize(
    "task", ["function that checks (x|y)", "function that returns (str) for a value", "function that checks [a] thing"]
)
def test_a_wording_with_pattern_syntax_is_never_a_zero_slot_pattern(task: str) -> None:
    assert zero_slot_pattern(task) is None


def test_review_accepts_no_parameters_with_the_canonical_pattern() -> None:
    preview = check(TASK, CODE, "", [], CodeValidator())
    assert preview.ok, preview.problems
    assert preview.pattern == "function that check if string is palindrome"
    assert preview.rendered == CODE


def test_review_refuses_no_parameters_when_the_wording_cannot_be_a_pattern() -> None:
    preview = check("function that checks (x|y)", CODE, "", [], CodeValidator())
    assert not preview.ok and "cannot serve as a pattern" in preview.reason


def test_a_slot_suggestion_still_needs_its_parameters() -> None:
    pattern = "function {func:identifier} that checks whether a string is a palindrome"
    preview = check(
        "function is_palindrome that checks whether a string is a palindrome",
        CODE,
        pattern,
        [Param("func", "identifier", "is_palindrome", "", 0.9)],
        CodeValidator(),
    )
    assert preview.ok, preview.problems


async def test_zero_slot_learning_end_to_end(make_engine, fake: FakeProviderServer) -> None:
    fake.responder = responder(suggestion="must not be asked", code=CODE)
    engine = make_engine(order='["openai"]', learning=True, extra="auto_accept_confidence = 0.75\n")
    first = await engine.generate(TASK)
    await engine.settle_learning()  # learning runs after the answer
    assert first.source == "llm"
    ledger = engine.store.call(lambda: [r.source for r in LedgerEntry.select().order_by(LedgerEntry.id)])
    assert ledger == ["llm"], "a value-free task is learned without a suggestion call"
    sid = first.to_dict()["suggestion_id"]
    assert engine.store.call(engine.library.suggestion, sid).status == "accepted"
    before = fake.count()
    for wording in (
        "function which checks if a string is a palindrome",
        "I need a Python function that checks whether a string is a palindrome",
        "Define a function that checks whether a string is a palindrome!",
    ):
        served = await engine.generate(wording)
        assert (served.source, served.code) == ("learned", CODE), wording
    assert fake.count() == before
    for near_miss in (
        "function that checks whether a string is not a palindrome",
        "function that checks whether a list is a palindrome",
        "function that checks whether a string is a palindrome ignoring case",
    ):
        assert (await engine.generate(near_miss)).source == "llm", near_miss


async def test_zero_slot_suggestion_waits_for_review_by_default(make_engine, fake: FakeProviderServer) -> None:
    fake.responder = responder(suggestion="must not be asked", code=CODE)
    engine = make_engine(order='["openai"]', learning=True)
    first = await engine.generate(TASK)
    await engine.settle_learning()  # learning runs after the answer
    s = engine.store.call(engine.library.suggestion, first.to_dict()["suggestion_id"])
    assert s.status == "pending" and not s.params
    view = engine.store.call(engine.library.accept, s.id)
    assert view.pattern == "function that check if string is palindrome"
    assert (await engine.generate("function which checks whether a string is a palindrome")).source == "learned"
