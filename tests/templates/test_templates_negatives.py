"""Near misses must never be served from a built-in template (precision over recall)."""

from __future__ import annotations

import pytest

from engine.templates import TemplateIndex, load_builtin_pack

INDEX = TemplateIndex(load_builtin_pack())

# (category, task)
NEGATIVES = [
    # reversed direction
    ("reversed", "convert json to csv"),
    ("reversed", "json to csv converter"),
    ("reversed", "teardown logging"),
    # negation
    ("negation", "csv to json converter without headers"),
    ("negation", "retry decorator without exponential backoff"),
    ("negation", "dataclass Invoice with fields number: int but not frozen"),
    ("negation", "logging setup not at level debug"),
    ("negation", "do not write a dataclass Invoice with fields x: int"),
    ("negation", "dataclass Invoice with no fields"),
    ("negation", "settings loader Config with fields host: str without env"),
    ("negation", "enum Color with members red, green, blue without values"),
    # extra requirement
    ("extra", "dataclass Invoice with fields number: int and validation"),
    ("extra", "dataclass Invoice with fields number: int, customer: str and a to_json method"),
    ("extra", "dataclass Invoice with fields number: int, total: float and tests"),
    ("extra", "dataclass Invoice with fields x: int in rust"),
    ("extra", "enum Color with members red, green and blue and sorted"),
    ("extra", "csv to json converter that streams"),
    ("extra", "convert csv to json and back"),
    ("extra", "retry decorator with exponential backoff and jitter"),
    ("extra", "retry decorator with exponential backoff, 3 attempts and max delay 5 seconds"),
    ("extra", "logging setup at level debug to a file"),
    ("extra", "logging setup with json output"),
    ("extra", "async http client Api for https://api.example.com with retries"),
    ("extra", "timer context manager that logs to stdout"),
    ("extra", "pytest tests for function parse in module app.x with fixtures"),
    ("extra", "sqlite repository for User with fields name: str and soft delete"),
    ("extra", "fastapi crud router for User with fields name: str and authentication"),
    ("extra", "argparse cli tool with options input: Path and subcommands"),
    ("extra", "cli tool with options input: Path, verbose: bool and a config file"),
    ("extra", "pydantic model User with fields name: str and validators"),
    ("extra", "named tuple Point with fields x: float and a method"),
    ("extra", "settings loader Config with fields host: str, port: int from yaml"),
    ("extra", "typed dict Movie with keys title: str, total=False"),
    # a different kind of thing
    ("kind", "enum Invoice with fields number: int"),
    ("kind", "class Invoice with fields number: int"),
    ("kind", "frozen dataclass Invoice with fields number: int"),
    ("kind", "attrs class Invoice with fields number: int"),
    ("kind", "protocol Invoice with fields number: int"),
    ("kind", "int enum Color with members red, green"),
    ("kind", "flag enum Permission with members read, write"),
    ("kind", "csv to yaml converter"),
    ("kind", "excel to json converter"),
    ("kind", "retry decorator with linear backoff"),
    ("kind", "async retry decorator with exponential backoff"),
    ("kind", "structured logging setup"),
    ("kind", "sync http client Api for https://api.example.com"),
    ("kind", "http client Api for https://api.example.com"),
    ("kind", "async aiohttp client Api for https://api.example.com"),
    ("kind", "async http server Api for https://api.example.com"),
    ("kind", "async timer context manager"),
    ("kind", "timer decorator"),
    ("kind", "context manager that opens a file"),
    ("kind", "context manager named timer that measures memory"),
    ("kind", "pytest tests for class Parser in module app.x"),
    ("kind", "unittest tests for function parse in module app.x"),
    ("kind", "postgres repository for User with fields name: str"),
    ("kind", "flask crud router for User with fields name: str"),
    ("kind", "fastapi read only router for User with fields name: str"),
    ("kind", "click cli tool with options input: Path"),
    ("kind", "pydantic dataclass User with fields name: str"),
    ("kind", "pydantic v1 model User with fields name: str"),
    ("kind", "django model User with fields name: str"),
    ("kind", "model User with fields name: str"),
    ("kind", "sort numbers ascending"),
    ("kind", "write a dataclass Invoice with fields x: int in javascript"),
    # wrong slot types
    ("type", "dataclass Invoice with fields number: integer"),
    ("type", "dataclass Invoice with fields number"),
    ("type", "dataclass 123 with fields x: int"),
    ("type", "dataclass Invoice with fields x: int = 5"),
    ("type", "enum Color with members 'red', 'green'"),
    ("type", "csv to json converter with delimiter ';;'"),
    ("type", "csv to json converter with delimiter tab"),
    ("type", "retry decorator with exponential backoff with many attempts"),
    ("type", "retry decorator with exponential backoff with 3.5 attempts"),
    ("type", "retry decorator with exponential backoff with 0 attempts"),
    ("type", "retry decorator with exponential backoff with 3 retries"),
    ("type", "retry decorator with exponential backoff, 3 attempts and base delay -1 seconds"),
    ("type", "logging setup at level verbose"),
    ("type", "async http client Api for ftp://api.example.com"),
    ("type", "async http client Api for https://user:secret@api.example.com"),
    ("type", "pytest tests for function parse in module app/x.py"),
    ("type", "sqlite repository for User with fields id: int, name: str"),
    ("type", "sqlite repository for User with fields data: dict[str, int]"),
    ("type", "fastapi crud router for User with fields name: list[str]"),
    ("type", "settings loader Config with fields tags: list[str]"),
    ("type", "argparse cli tool with options data: dict[str, int]"),
    ("type", "argparse cli tool with options help: bool"),
    ("type", "timer context manager named time"),
    # identifier / code injection
    ("injection", "dataclass foo; import os with fields x: int"),
    ("injection", "dataclass Invoice with fields x: int; import os"),
    ("injection", "dataclass Invoice with fields x: __import__('os')"),
    ("injection", "dataclass __import__ with fields x: int"),
    ("injection", "enum Color with members red, green; __import__('os').system('id')"),
    ("injection", "pytest tests for function parse; import os in module app.x"),
    ("injection", "pytest tests for function parse in module os; import sys"),
    ("injection", "sqlite repository for User; DROP TABLE users with fields name: str"),
    ("injection", "sqlite repository for User with fields name: str); DROP TABLE users; --"),
    ("injection", "async http client Api for https://api.example.com'); import os; ('"),
    ("injection", "enum Color with members {{ ''.__class__.__mro__ }}"),
    ("injection", "dataclass {{ config }} with fields x: int"),
    ("injection", "csv to json converter with delimiter '{% import 'os' %}'"),
    ("injection", "cli x{{7*7}} with options a: int"),
]


@pytest.mark.parametrize(("category", "task"), NEGATIVES, ids=[t for _, t in NEGATIVES])
def test_near_miss_never_matches(category: str, task: str) -> None:
    found = INDEX.match(task)
    assert found is None, f"{category}: {task!r} served by {found.template.name if found and found.template else '?'}"


def test_near_misses_are_offered_as_similar() -> None:
    similar = INDEX.similar("dataclass Invoice with fields number: int and validation")
    assert similar and similar[0].template.name == "dataclass"
    assert similar[0].missing == ()
    assert "validation" in similar[0].extra
    names = [s.template.name for s in INDEX.similar("convert json to csv")]
    assert "csv_to_json" in names
    retry = INDEX.similar("retry decorator with linear backoff")
    assert retry[0].template.name == "retry_decorator"
    assert "exponential" in retry[0].missing


def test_similar_never_lists_a_template_that_matches() -> None:
    task = "dataclass Invoice with fields number: int"
    assert INDEX.match(task) is not None
    assert all(s.template.name != "dataclass" for s in INDEX.similar(task))
