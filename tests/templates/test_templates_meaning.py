"""Meaning-bearing words, ranges and relations on slots: grammar, word folding, matching."""

from __future__ import annotations

import pytest

from engine.templates import SlotError, TemplateIndex, TemplateSpec, parse_slot_type
from engine.templates.meaning import fold, identifier_problem, split_value, value_words, vocabulary


def _spec(pattern: str, params: list[dict], body: str = "x = 1\n") -> TemplateSpec:
    return TemplateSpec.from_dict({"name": "t", "patterns": [pattern], "body": body, "params": params})


@pytest.mark.parametrize(
    "spelling",
    [
        "identifier(fixed=cache+lru)",
        "identifier(fixed=)",
        "identifier(fixed=stack,keep=order)",
        "identifier(!time,fixed=sort)",
        "integer(1..)",
        "integer(0..10,>=lo)",
        "number(>lo)",
        "integer(<=hi,>lo)",
    ],
)
def test_constrained_spellings_round_trip(spelling: str) -> None:
    assert parse_slot_type(parse_slot_type(spelling).spec).spec == parse_slot_type(spelling).spec


@pytest.mark.parametrize(
    "bad",
    [
        "identifier(fixed=LRU)",
        "identifier(keep=a b)",
        "identifier(kind=x)",
        "integer(>=)",
        "integer(=>lo)",
        "number(~lo)",
    ],
)
def test_bad_constraint_spellings_are_refused(bad: str) -> None:
    with pytest.raises(SlotError):
        parse_slot_type(bad)


def test_plain_types_are_unchanged() -> None:
    assert parse_slot_type("identifier").spec == "identifier"
    assert parse_slot_type("integer(1..10)").spec == "integer(1..10)"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("LRUCache", {"lru", "cache"}),
        ("sort_orders_asc", {"sort", "order", "ascending"}),
        ("ThreadSafeStack", {"thread", "safe", "stack"}),
        ("Sha256Hasher", {"sha256", "hash"}),
        ("parse_base64", {"parse", "base64"}),
        ("MinStacks", {"min", "stack"}),
    ],
)
def test_values_split_into_folded_words(value: str, words: set[str]) -> None:
    assert value_words(value) == words


def test_vocabulary_is_curated_data_of_a_few_hundred_words() -> None:
    vocab = vocabulary()
    assert len(vocab.words) >= 300
    assert {"stack", "lru", "ascending", "unique", "json", "not"} <= set(vocab.words)
    assert not {"get", "fetch", "compute", "load", "order", "invoice"} & set(vocab.words)
    assert fold("DESC") == "descending" and split_value("HTTPClient") == ["HTTP", "Client"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("LRUCache", True),
        ("SessionLRUCache", True),
        ("LFUCache", False),
        ("RingBuffer", False),
        ("ThreadSafeLRUCache", False),
        ("Cache", False),
    ],
)
def test_fixed_words_must_be_exactly_the_meaning_words(value: str, ok: bool) -> None:
    problem = identifier_problem(value, ("lru", "cache"), frozenset(), frozenset())
    assert (problem is None) is ok, problem


def test_words_the_pattern_states_may_appear_in_a_value() -> None:
    assert identifier_problem("OrderStack", (), frozenset(), frozenset({"stack"})) is None
    assert identifier_problem("OrderStack", (), frozenset(), frozenset()) is not None


def test_keep_words_must_stay() -> None:
    assert identifier_problem("format_price", None, frozenset({"price"}), frozenset()) is None
    assert identifier_problem("format_weight", None, frozenset({"price"}), frozenset()) is not None


def test_matcher_drops_a_different_kind_and_keeps_a_plain_rename() -> None:
    index = TemplateIndex(
        [
            _spec(
                "class {name:identifier(fixed=stack)} with methods push and pop",
                [{"name": "name", "type": "identifier(fixed=stack)"}],
            )
        ]
    )
    assert index.match("class UndoStack with methods push and pop") is not None
    assert index.match("class PriorityQueue with methods push and pop") is None
    assert index.match("class MinStack with methods push and pop") is None
    names = TemplateIndex(
        [_spec("function {f:identifier(fixed=)} that sums a list", [{"name": "f", "type": "identifier(fixed=)"}])]
    )
    assert names.match("function fetch_invoices that sums a list") is not None
    assert names.match("function sum_unique_values that sums a list") is None


def test_matcher_checks_ranges_and_relations() -> None:
    spec = _spec(
        "values between {lo:integer} and {hi:integer(>=lo)}",
        [{"name": "lo", "type": "integer"}, {"name": "hi", "type": "integer(>=lo)"}],
    )
    index = TemplateIndex([spec])
    assert index.match("values between 1 and 10") is not None
    assert index.match("values between 5 and 5") is not None
    assert index.match("values between 10 and 1") is None
    chunk = TemplateIndex([_spec("chunks of {n:integer(1..)} items", [{"name": "n", "type": "integer(1..)"}])])
    assert chunk.match("chunks of 3 items") is not None
    assert chunk.match("chunks of 0 items") is None


def test_a_refused_match_is_still_offered_as_similar() -> None:
    index = TemplateIndex(
        [
            _spec(
                "class {name:identifier(fixed=stack)} with methods push and pop",
                [{"name": "name", "type": "identifier(fixed=stack)"}],
            )
        ]
    )
    similar = index.similar("class PriorityQueue with methods push and pop")
    assert [s.template.name for s in similar] == ["t"]


def test_constraints_are_described_in_words_for_review_and_show() -> None:
    from engine.templates.meaning import describe_constraints

    assert describe_constraints(parse_slot_type("identifier")) == ""
    assert describe_constraints(parse_slot_type("identifier(fixed=cache+lru,keep=session)")) == (
        "kind/modifier words fixed: cache, lru; must keep: session"
    )
    assert describe_constraints(parse_slot_type("identifier(fixed=)")) == "no kind/modifier words may be added"
    assert describe_constraints(parse_slot_type("integer(1..,>=lo)")) == "range 1..; >= lo"


def test_fixed_words_keep_their_order() -> None:
    assert parse_slot_type("identifier(fixed=celsius+fahrenheit)").fixed == ("celsius", "fahrenheit")
    fixed = ("celsius", "fahrenheit")
    assert identifier_problem("celsius_to_fahrenheit", fixed, frozenset(), frozenset()) is None
    assert identifier_problem("CelsiusToFahrenheit", fixed, frozenset(), frozenset()) is None
    assert identifier_problem("fahrenheit_to_celsius", fixed, frozenset(), frozenset()) is not None
    assert identifier_problem("json_to_csv", ("csv", "json"), frozenset(), frozenset()) is not None
    with pytest.raises(SlotError):
        parse_slot_type("identifier(fixed=lru+lru)")
