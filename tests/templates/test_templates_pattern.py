"""Task patterns: parsing, normalisation, anchored matching, explanations, similarity."""

from __future__ import annotations

import pytest

from engine.templates import FILLER_WORDS, PatternError, TaskPattern
from engine.templates.normalize import MAX_TASK_CHARS

DATACLASS = TaskPattern("dataclass {name:identifier} with (fields|attributes) {fields:field_list}")


def test_filler_words_are_small_and_documented() -> None:
    assert FILLER_WORDS == {"a", "an", "the", "please", "python", "write", "create", "generate", "make", "me"}
    for meaningful in ("not", "without", "no", "and", "with", "for", "to", "async", "sync"):
        assert meaningful not in FILLER_WORDS


@pytest.mark.parametrize(
    "task",
    [
        "dataclass Invoice with fields number: int, total: float",
        "Create a dataclass Invoice with fields number: int, total: float.",
        "please write me a python DATACLASS Invoice with the fields number: int, total: float!",
        "dataclass   Invoice\twith  attributes number: int,total: float",
        "dataclass Invoice, with fields: number: int, total: float",
    ],
)
def test_normalisation(task: str) -> None:
    m = DATACLASS.match(task)
    assert m is not None
    assert m.bindings == {"name": "Invoice", "fields": [("number", "int"), ("total", "float")]}


def test_slot_values_keep_original_case() -> None:
    m = DATACLASS.match("DATACLASS InvoiceLine WITH FIELDS unitPrice: Decimal")
    assert m is not None
    assert m.bindings["name"] == "InvoiceLine"
    assert m.bindings["fields"] == [("unitPrice", "Decimal")]


def test_filler_can_be_a_slot_value() -> None:
    m = DATACLASS.match("dataclass Point with fields a: int, the: int")
    assert m is not None
    assert m.bindings["fields"] == [("a", "int"), ("the", "int")]


@pytest.mark.parametrize(
    "task",
    [
        "frozen dataclass Invoice with fields number: int",
        "dataclass Invoice with fields number: int and validation",
        "dataclass Invoice with fields number: int, plus a method",
        "dataclass Invoice with fields number: int. Also add tests",
        "dataclass Invoice without fields number: int",
        "dataclass Invoice not with fields number: int",
        "enum Invoice with fields number: int",
        "dataclass Invoice Line with fields number: int",
        "dataclass foo; import os with fields number: int",
        "dataclass Invoice with fields number: int; import os",
        "dataclass with fields number: int",
        "dataclass Invoice",
        "",
        "   ",
    ],
)
def test_anchored_no_match(task: str) -> None:
    assert DATACLASS.match(task) is None


def test_too_long_task_never_matches() -> None:
    fields = ", ".join(f"f{i}: int" for i in range(400))
    task = f"dataclass Big with fields {fields}"
    assert len(task) > MAX_TASK_CHARS
    assert DATACLASS.match(task) is None


def test_explanation_and_specificity() -> None:
    m = DATACLASS.match("create a dataclass Invoice with fields n: int")
    assert m is not None
    assert m.specificity == 3
    assert "dataclass" in m.explanation and "name='Invoice'" in m.explanation
    assert m.skipped == ("create", "a")
    assert "'create'" in m.explanation


def test_optional_and_alternative_literals() -> None:
    p = TaskPattern("enum [class] [named|called] {name:identifier} with (members|values) {m:identifier_list}")
    for task in [
        "enum Color with members red",
        "enum class Color with values red",
        "enum named Color with members red",
        "enum class called Color with members red",
    ]:
        m = p.match(task)
        assert m is not None and m.bindings == {"name": "Color", "m": ["red"]}, task
    assert p.match("enum class Color with items red") is None
    assert p.match("enum Color with members red").specificity == 3
    assert p.match("enum class Color with members red").specificity == 4


def test_ambiguous_reading_is_refused() -> None:
    p = TaskPattern("pair {a:identifier_list} and {b:identifier_list}")
    assert p.match("pair x and y").bindings == {"a": ["x"], "b": ["y"]}
    # "x, y | z and w" and "x, y and z | w" are both valid readings: refuse
    assert p.match("pair x, y and z and w") is None


def test_types_from_template_params() -> None:
    p = TaskPattern("logging setup at level {level}", {"level": "choice(debug|info)"})
    assert p.match("logging setup at level INFO").bindings == {"level": "info"}
    with pytest.raises(PatternError):
        TaskPattern("logging setup at level {level}")


@pytest.mark.parametrize(
    "text",
    [
        "{name:identifier}",
        "[optional] {name:identifier}",
        "a the {name:identifier}",
        "make {a:identifier} {a:identifier}",
        "make {a:nope}",
        "make {a:field_list} {b:identifier}",
        "make {a:word} [to] {b:word}",
        "make (a|b) {x:identifier}",
        "make {x:identifier} | now",
        "make {1x:identifier}",
        "make {x}",
    ],
)
def test_bad_patterns(text: str) -> None:
    with pytest.raises(PatternError):
        TaskPattern(text)


def test_canonical_equality_and_fillers_dropped() -> None:
    a = TaskPattern("Create a dataclass {name:identifier}")
    b = TaskPattern("dataclass   {name:identifier}")
    assert a == b and hash(a) == hash(b)
    assert a.required_words == ("dataclass",)


def test_similarity() -> None:
    near = DATACLASS.similarity("dataclass Invoice with fields number: int and validation")
    far = DATACLASS.similarity("enum Color with members red, green")
    unrelated = DATACLASS.similarity("fastapi crud router for Invoice")
    assert 0.0 <= unrelated < far < near <= 1.0
    assert DATACLASS.similarity("") == 0.0
