"""Slot types: parsing from task text and checking plain data."""

from __future__ import annotations

import pytest

from engine.templates.errors import SlotError
from engine.templates.slots import parse_slot_type
from engine.templates.typeexpr import parse_type, type_imports


def parse(spec: str, text: str) -> object:
    return parse_slot_type(spec).parse(text)


@pytest.mark.parametrize("text", ["Invoice", "invoice_line", "HTTPClient", "_private", "x1"])
def test_identifier_accepts_as_written(text: str) -> None:
    assert parse("identifier", text) == text


@pytest.mark.parametrize(
    "text",
    [
        "class",
        "None",
        "foo;",
        "1abc",
        "__x",
        "_",
        "__",
        "int",
        "Path",
        "a b",
        "Ünï",
        "a-b",
        "",
        "foo; import os",
        "__import__('os')",
        "x" * 81,
    ],
)
def test_identifier_rejects(text: str) -> None:
    with pytest.raises(SlotError):
        parse("identifier", text)


def test_identifier_reserved_names() -> None:
    slot = parse_slot_type("identifier(!time,!logging)")
    assert slot.spec == "identifier(!logging,!time)"
    assert slot.parse("timer") == "timer"
    with pytest.raises(SlotError):
        slot.parse("time")


def test_string_needs_quotes() -> None:
    assert parse("string", '"hello world"') == "hello world"
    assert parse("string", "'it is'") == "it is"
    assert parse("string", "''") == ""
    for bad in ["hello", "'x\"", "'a'b'", '"a\nb"']:
        with pytest.raises(SlotError):
            parse("string", bad)
    with pytest.raises(SlotError):
        parse_slot_type("string").coerce("a\x00b")


def test_string_length_range() -> None:
    assert parse("string(1..1)", "';'") == ";"
    for bad in ["''", "';;'"]:
        with pytest.raises(SlotError):
            parse("string(1..1)", bad)


@pytest.mark.parametrize("text", ["utf-8", "my-tool", "v2.1", "x", "deploy_helper"])
def test_word_accepts(text: str) -> None:
    assert parse("word", text) == text


@pytest.mark.parametrize("text", ["a b", "-x", "x-", "it's", "a;b", '"x"', ""])
def test_word_rejects(text: str) -> None:
    with pytest.raises(SlotError):
        parse("word", text)


def test_integer() -> None:
    assert parse("integer", "42") == 42
    assert parse("integer", "-3") == -3
    assert parse("integer(1..100)", "100") == 100
    for bad in ["3.5", "five", "+3", "1_000", "101", "0"]:
        with pytest.raises(SlotError):
            parse("integer(1..100)", bad)
    with pytest.raises(SlotError):
        parse_slot_type("integer").coerce(True)


def test_number() -> None:
    assert parse("number", "0.5") == 0.5
    value = parse("number", "2")
    assert value == 2.0 and isinstance(value, float)
    assert parse("number", "1e3") == 1000.0
    for bad in ["1e999", "nan", "inf", ".5", "1,5", "0.5s"]:
        with pytest.raises(SlotError):
            parse("number", bad)
    with pytest.raises(SlotError):
        parse("number(0..10)", "11")


@pytest.mark.parametrize("text", ["https://api.example.com", "http://localhost:8080/v1", "'https://x.org/a?b=1'"])
def test_url_accepts(text: str) -> None:
    assert str(parse("url", text)).startswith("http")


@pytest.mark.parametrize(
    "text",
    [
        "ftp://x.org",
        "javascript:alert(1)",
        "https://user:pw@x.org",
        "https://",
        "x.org",
        "https://x.org/a b",
        "https://x.org/'+__import__('os')+'",
        "https://x.org:99999",
    ],
)
def test_url_rejects(text: str) -> None:
    with pytest.raises(SlotError):
        parse("url", text)


def test_choice() -> None:
    slot = parse_slot_type("choice(debug|info|warning)")
    assert slot.parse("DEBUG") == "debug"
    with pytest.raises(SlotError):
        slot.parse("verbose")
    with pytest.raises(SlotError):
        parse_slot_type("choice(a|a)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("red", ["red"]),
        ("red and green", ["red", "green"]),
        ("red, green and blue", ["red", "green", "blue"]),
        ("red, green, and blue", ["red", "green", "blue"]),
        ("red, green, blue", ["red", "green", "blue"]),
    ],
)
def test_identifier_list(text: str, expected: list[str]) -> None:
    assert parse("identifier_list", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "red and green and blue",
        "red, red",
        "red, Red",
        "red_x, redX",
        "red, 1",
        "red green",
        "a; import os",
        "red,, green",
        "red, green and",
        "_hidden",
        "red, class",
    ],
)
def test_identifier_list_rejects(text: str) -> None:
    with pytest.raises(SlotError):
        parse("identifier_list", text)


def test_field_list_canonical_types() -> None:
    fields = parse(
        "field_list",
        "a: int, b: Optional[str], c: List[Dict[str, int]], d: Union[int, str], e: tuple[int, ...] and f: str|None",
    )
    assert fields == [
        ("a", "int"),
        ("b", "str | None"),
        ("c", "list[dict[str, int]]"),
        ("d", "int | str"),
        ("e", "tuple[int, ...]"),
        ("f", "str | None"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "x: integer",
        "x: string",
        "x: int and validation",
        "x: int, y",
        "x: int = 3",
        "x: int; import os",
        "x: __import__('os')",
        "x: os.system",
        "x: int, x: str",
        "_x: int",
        "int: str",
        "x: dict[str]",
        "x: int[str]",
        "x: None",
        "x: list[None]",
        "x: tuple[..., int]",
        "x: list[list[list[list[list[list[int]]]]]]",
        "x: int and y: int and z: int",
        "x: MyType",
        "class: int",
    ],
)
def test_field_list_rejects(text: str) -> None:
    with pytest.raises(SlotError):
        parse("field_list", text)


def test_field_list_restrictions() -> None:
    slot = parse_slot_type("field_list(int,str,!id)")
    assert slot.parse("n: int, s: str | None") == [("n", "int"), ("s", "str | None")]
    for bad in ["x: float", "x: list[int]", "id: int"]:
        with pytest.raises(SlotError):
            slot.parse(bad)


def test_field_list_coerce_plain_lists() -> None:
    slot = parse_slot_type("field_list")
    assert slot.coerce([["a", "Optional[int]"]]) == [("a", "int | None")]
    with pytest.raises(SlotError):
        slot.coerce([["a; import os", "int"]])
    with pytest.raises(SlotError):
        slot.coerce([["a", "int; import os"]])


def test_type_imports_grouped() -> None:
    assert type_imports([("a", "datetime"), ("b", "date | None"), ("c", "Decimal")]) == [
        "from datetime import date, datetime",
        "from decimal import Decimal",
    ]
    assert parse_type("dict[str, list[UUID]]") == "dict[str, list[UUID]]"


@pytest.mark.parametrize(
    "spec", ["nope", "integer(5..1)", "choice()", "field_list(banana)", "identifier(x)", "word(1)"]
)
def test_bad_slot_type_specs(spec: str) -> None:
    with pytest.raises(SlotError):
        parse_slot_type(spec)
