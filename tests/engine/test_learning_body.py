"""Building template bodies: coincidences that would make a template serve wrong code."""

from __future__ import annotations

from engine.learning.body import Param, build_body, round_trip
from engine.learning.review import check
from engine.validation import CodeValidator

FIB = '''"""Fibonacci."""


def first_fibonacci(count: int = 1) -> list[int]:
    """The first numbers."""
    a, b = 0, 1
    out = []
    while len(out) < count:
        out.append(a)
        a, b = b, a + b
    return out
'''


def test_a_value_that_also_appears_elsewhere_keeps_the_suggestion_pending() -> None:
    params = [Param("count", "integer", 1)]
    preview = check(
        "the first 1 fibonacci numbers", FIB, "the first {count:integer} fibonacci numbers", params, CodeValidator()
    )
    assert not preview.ok and "occurs 2 times" in preview.reason


def test_one_word_snake_form_is_not_replaced_in_prose_but_is_in_code() -> None:
    code = '"""A simple LIFO stack."""\n\n\nclass Stack:\n    """A stack."""\n\n    def __init__(self) -> None:\n        """Make it."""\n        self.stack_items: list[int] = []\n'
    body, missing = build_body(code, [Param("name", "identifier", "Stack")])
    assert missing == [] and round_trip(body, [Param("name", "identifier", "Stack")], code)[0]
    assert '"""A simple LIFO stack."""' in body and "class {{ name }}:" in body
    assert "self.{{ name | snake }}_items" in body


def test_braces_in_code_cannot_open_a_tag() -> None:
    code = 'NAME = "x"\nTEMPLATE = "{{ user }} {% if %}"\n'
    params = [Param("n", "string", "x")]
    body, _ = build_body(code, params)
    assert round_trip(body, params, code) == (True, "")
    from engine.templates.render import render_body

    assert render_body(body, {"n": "{{ boom }}"}).endswith('TEMPLATE = "{{ user }} {% if %}"\n')
