"""Canonical wording: a table of wordings that must read the same, and of ones that must not.

Each pair is checked twice: on :func:`canonical_text`, and through the real matcher (the first
wording, with its name made a slot, as a learned pattern; the second as the task), so the rules
hold where they matter: in what a template serves.
"""

from __future__ import annotations

import re

import pytest

from engine.templates import PatternError, TaskPattern
from engine.templates.canonical import (
    canonical_text,
    canonical_word,
    request_prefix,
    singular,
)
from engine.templates.slots import SlotError, parse_slot_type

SAME = [
    # request verbs, politeness, articles, language word, trailing punctuation
    ("function is_prime that checks whether n is prime", "Define a function is_prime that checks whether n is prime."),
    (
        "function is_prime that checks whether n is prime",
        "Can you please write me a Python function is_prime that checks if n is prime?",
    ),
    ("function is_prime that checks whether n is prime", "I need a function is_prime which checks whether n is prime"),
    (
        "function is_prime that checks whether n is prime",
        "Give me a function is_prime that checks whether n is prime in Python",
    ),
    ("function is_prime that checks whether n is prime", "Implement function is_prime that checks whether n is prime!"),
    (
        "function is_prime that checks whether n is prime",
        "could you build a function is_prime that checks whether n is prime",
    ),
    (
        "function is_prime that checks whether n is prime",
        "I would like a function is_prime that checks whether n is prime",
    ),
    # named/called, that/which, to/into
    (
        "function c_to_f that converts celsius to fahrenheit",
        "function named c_to_f which converts celsius into fahrenheit",
    ),
    (
        "function c_to_f that converts celsius to fahrenheit",
        "function called c_to_f that converts Celsius to Fahrenheit",
    ),
    # singular/plural, synonyms
    ("function dedupe that removes duplicates from a list", "function dedupe that removes duplicate from lists"),
    ("function gcd that returns the gcd of two integers", "function gcd that returns the gcd of 2 ints"),
    ("function merge that merges two dicts", "function merge that merges two dictionaries"),
    ("function caps that capitalizes each word", "function caps that capitalizes every word"),
    ("function boxes_to_list that flattens the boxes", "function boxes_to_list that flattens the box"),
    # hyphens as word breaks, possessive 's, & for and
    ("function rle that run-length encodes a string", "function rle that run length encodes a string"),
    (
        "function nth_fib that returns the n-th fibonacci number",
        "function nth_fib that returns the n th fibonacci number",
    ),
    ("function rev that reverses a sentence's words", "function rev that reverses a sentence words"),
    ("class Stack implementing a stack with push and pop", "class Stack implementing a stack with push & pop"),
    # list separators and skippable punctuation
    ("function fmt that formats a duration as HH:MM:SS", "function fmt that formats a duration as HH MM SS"),
    (
        "function load that reads a JSON file and returns a dict",
        "function load that reads a JSON file, and returns a dict",
    ),
]

DIFFERENT = [
    ("function is_prime that checks whether n is prime", "function is_prime that checks whether n is not prime"),
    ("function dedupe that removes duplicates with order", "function dedupe that removes duplicates without order"),
    (
        "function sort_desc that sorts integers in ascending order",
        "function sort_desc that sorts integers in descending order",
    ),
    ("function c_to_f that converts celsius to fahrenheit", "function c_to_f that converts fahrenheit to celsius"),
    (
        "function conv that converts from celsius to fahrenheit",
        "function conv that converts to celsius from fahrenheit",
    ),
    ("class Stack implementing a stack with push and pop", "class Stack implementing a stack with push or pop"),
    ("class Stack implementing a stack with push and pop", "class Stack implementing a stack with push, pop and peek"),
    ("function fmt that formats seconds as HH:MM:SS", "function fmt that formats seconds as MM:SS"),
    (
        "function parse that parses a date in DD/MM/YYYY format",
        "function parse that parses a date in MM/DD/YYYY format",
    ),
    (
        "function parse that parses a date in DD/MM/YYYY format",
        "function parse that parses a date in DD-MM-YYYY format",
    ),
    ("function files that lists .txt files", "function files that lists .csv files"),
    (
        "function root that returns the square root of n (rounded down)",
        "function root that returns the square root of n (rounded up)",
    ),
    ("function sub that returns x - y", "function sub that returns x, y"),
    ("function sub that returns x - y", "function sub that returns x + y"),
    ("function fib that returns the n-th fibonacci number", "function fib that returns the first n fibonacci numbers"),
    ("function chunk that splits a list into chunks of 5 items", "function chunk that splits a list into 5 chunks"),
    ("function add that adds two numbers", "function add that adds three numbers"),
    (
        "function check that returns True if the file doesn't exist",
        "function check that returns True if the file does exist",
    ),
    ("function news that fetches the news", "function news that fetches the new"),
    ("build a URL from parts", "parse a URL from parts"),
    ("function ask that asks whether you can write", "function ask that asks whether you write"),
]


def _pattern(wording: str) -> TaskPattern:
    """The wording as a learned pattern: its first snake_case/CamelCase name becomes a slot."""
    m = re.search(r"\b(?:function|class) ([A-Za-z_][A-Za-z0-9_]*)", wording)
    if m is None:
        return TaskPattern(wording)
    return TaskPattern(wording[: m.start(1)] + "{name:identifier}" + wording[m.end(1) :])


@pytest.mark.parametrize(("first", "second"), SAME)
def test_same_meaning_canonicalises_equal_and_matches(first: str, second: str) -> None:
    assert canonical_text(first) == canonical_text(second)
    m = _pattern(first).match(second)
    assert m is not None, f"{second!r} should match the pattern learned from {first!r}"
    assert m.canonical or canonical_text(first).split() == canonical_text(second).split()


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_different_meaning_stays_apart(first: str, second: str) -> None:
    assert canonical_text(first) != canonical_text(second)
    assert _pattern(first).match(second) is None
    assert _pattern(second).match(first) is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("strings", "string"),
        ("classes", "class"),
        ("entries", "entry"),
        ("matches", "match"),
        ("status", "status"),
        ("process", "process"),
        ("sizes", "size"),
        ("capitalizes", "capitalize"),
        ("buzzes", "buzz"),
        ("boxes", "box"),
        ("caches", "cache"),
        ("cache", "cache"),
        ("analysis", "analysis"),
        ("has", "has"),
        ("into", "to"),
        ("which", "that"),
        ("dictionaries", "dict"),
        ("integers", "int"),
        ("two", "2"),
    ],
)
def test_word_forms(word: str, expected: str) -> None:
    assert canonical_word(word) == expected


def test_singular_keeps_short_and_non_alpha_words() -> None:
    assert singular("ids") == "ids"  # three letters or fewer are kept
    assert singular("utf8s") == "utf8s"


@pytest.mark.parametrize(
    ("words", "dropped"),
    [
        ("can you please write me a function", 5),
        ("i need a function", 2),
        ("give me a class", 2),
        ("define function f", 1),
        ("please build a thing", 2),
        ("i would like a parser", 3),
        ("function that builds", 0),
        ("build", 0),
        ("add two numbers", 0),
        ("give a talk", 0),
    ],
)
def test_request_prefix(words: str, dropped: int) -> None:
    assert request_prefix(words.split()) == dropped


def test_a_request_verb_inside_the_task_is_kept() -> None:
    assert canonical_text("function that builds a URL") == "function that build url"
    assert canonical_text("Build a URL") == "url"
    assert canonical_text("function that writes a file") == "function that writes file".replace("writes", "write")


def test_punctuation_in_a_pattern_is_literal() -> None:
    p = TaskPattern("function {f:identifier} that parses a date in DD/MM/YYYY format.")
    assert p.match("function parse_date that parses a date in dd/mm/yyyy format") is not None
    assert p.match("function parse_date that parses a date in DD MM YYYY format") is None
    q = TaskPattern("function {f:identifier} that lists all .txt files in a directory")
    assert q.match("function g that lists all .txt files in a folder") is not None
    assert q.match("function g that lists all txt files in a directory") is None
    r = TaskPattern("function {f:identifier} that returns the square root of n (rounded down)")
    assert r.match("Function isqrt that returns the square root of n (rounded down).") is not None
    assert r.match("function isqrt that returns the square root of n rounded down") is None


def test_pattern_syntax_still_works_and_stays_strict() -> None:
    p = TaskPattern("enum [class] [named|called] {name:identifier} with (members|values) {members:identifier_list}")
    assert p.match("Define an enum class called Color with values red, green and blue") is not None
    with pytest.raises(PatternError):
        TaskPattern("function {f:identifier} | other")
    with pytest.raises(PatternError):
        TaskPattern("(a|b c) {f:identifier}")


def test_exact_matches_are_not_marked_canonical() -> None:
    p = TaskPattern("function {f:identifier} that converts celsius to fahrenheit")
    exact = p.match("a function c_to_f that converts celsius to fahrenheit")
    canon = p.match("Define a function named c_to_f which converts Celsius into Fahrenheit")
    assert exact is not None and not exact.canonical
    assert canon is not None and canon.canonical and "[canonical]" in canon.explanation


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("x (float), y (float)", [("x", "float"), ("y", "float")]),
        ("title as str and pages as int", [("title", "str"), ("pages", "int")]),
        ("name of type str, price of type float", [("name", "str"), ("price", "float")]),
        ("a: dict[str, int], b (list[int])", [("a", "dict[str, int]"), ("b", "list[int]")]),
    ],
)
def test_field_syntax_variants(text: str, fields: list[tuple[str, str]]) -> None:
    assert parse_slot_type("field_list").parse(text) == fields


@pytest.mark.parametrize("text", ["x (int", "f (int) extra", "x as", "x of type"])
def test_broken_field_syntax_is_refused(text: str) -> None:
    with pytest.raises(SlotError):
        parse_slot_type("field_list").parse(text)


PUNCTUATED_TASKS = [
    ("function rle_encode that run-length encodes a string", "rle_encode"),
    ("function nth_fib that returns the n-th fibonacci number", "nth_fib"),
    ("function fmt that formats a number of seconds as HH:MM:SS", "fmt"),
    ("function rev that reverses the order of a sentence's words", "rev"),
    ("function isqrt that returns the square root of n (rounded down)", "isqrt"),
    ("function parse_date that parses a date in DD/MM/YYYY format", "parse_date"),
    ("function list_txt that lists all .txt files in a directory", "list_txt"),
    ("function load_json that reads a JSON file, and returns a dict", "load_json"),
]


@pytest.mark.parametrize(("task", "name"), PUNCTUATED_TASKS)
def test_a_task_with_punctuation_can_be_learned(task: str, name: str) -> None:
    """A faithful suggestion (the task with its name as a slot, punctuation and commas kept) passes review."""
    from engine.learning.body import Param
    from engine.learning.review import check
    from engine.validation import CodeValidator

    code = f'"""Module."""\n\n\ndef {name}(value: str) -> str:\n    """Answer the task."""\n    return value\n'
    pattern = task.replace(name, "{func:identifier}", 1)
    preview = check(task, code, pattern, [Param("func", "identifier", name, "", 0.9)], CodeValidator())
    assert preview.ok, preview.problems


@pytest.mark.parametrize(
    ("task", "tokens"),
    [
        (
            "reverse a sentence's words",
            [("word", "reverse"), ("word", "a"), ("word", "sentence"), ("punct", "'s"), ("word", "words")],
        ),
        ("doesn't exist", [("word", "doesn"), ("punct", "'"), ("word", "t"), ("word", "exist")]),
        ("returns f'hi {x}'", [("word", "returns"), ("word", "f"), ("quoted", "'hi {x}'")]),
        (
            "b'abc' and Bob's 'name'",
            [
                ("word", "b"),
                ("quoted", "'abc'"),
                ("word", "and"),
                ("word", "Bob"),
                ("punct", "'s"),
                ("quoted", "'name'"),
            ],
        ),
    ],
)
def test_apostrophes_inside_words_are_not_quotes(task: str, tokens: list[tuple[str, str]]) -> None:
    from engine.templates.normalize import NormalizedTask

    assert [(t.kind, t.text) for t in NormalizedTask(task).tokens] == tokens


@pytest.mark.parametrize(
    ("task", "name", "renamed"),
    [
        ("function capitalize_words that capitalizes every word in a sentence", "capitalize_words", "capitalize_words"),
        ("function sort_orders that sorts orders by their totals", "sort_orders", "sort_invoices"),
    ],
)
def test_meaning_checks_see_the_words_as_written(task: str, name: str, renamed: str) -> None:
    """A name's meaning words are compared with the pattern's words as written, not their canonical stems."""
    from engine.learning.body import Param
    from engine.learning.review import check, spec_for
    from engine.validation import CodeValidator

    code = f'"""Module."""\n\n\ndef {name}(value: str) -> str:\n    """Answer the task."""\n    return value\n'
    pattern = task.replace(name, "{func:identifier}", 1)
    preview = check(task, code, pattern, [Param("func", "identifier", name, "", 0.9)], CodeValidator())
    assert preview.ok, preview.problems
    spec = spec_for("t", preview.pattern, preview.body, list(preview.params), task)
    assert spec.match("Define a function named " + renamed + task.split(name, 1)[1]) is not None
