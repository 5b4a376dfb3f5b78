"""Constraints learned at accept time: ranges from guards, orders of related numbers, fixed
words of names, and the boundary part of the generalisation check."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from engine.learning.body import Param
from engine.learning.constrain import boundary_cases, constrain
from engine.learning.guards import Bounds, infer_bounds, parse
from engine.learning.review import check
from engine.validation import CodeValidator


def _bounds(code: str, value: float) -> Bounds:
    tree = parse(code)
    assert tree is not None
    return infer_bounds(tree, value)


@pytest.mark.parametrize(
    ("code", "value", "lo", "hi"),
    [
        ("def f(n: int = 3) -> None:\n    if n < 1:\n        raise ValueError('n')\n", 3, 1, None),
        ("def f(n: int = 3) -> None:\n    if n <= 0:\n        raise ValueError('n')\n", 3, 1, None),
        ("def f(n: int = 3) -> None:\n    assert n > 0\n", 3, 1, None),
        ("def f(p: float = 15.5) -> None:\n    if not 0 <= p <= 100:\n        raise ValueError('p')\n", 15.5, 0, 100),
        ("def f(n: int = 3) -> None:\n    if n < 1 or n > 50:\n        raise ValueError('n')\n", 3, 1, 50),
        ("def f(xs: list, n: int = 3) -> list:\n    return [xs[i:i + n] for i in range(0, len(xs), n)]\n", 3, 1, None),
        ("def f(total: int, per: int = 60) -> float:\n    return total / per\n", 60, 1, None),
        ("def f(xs: list, n: int = 3) -> list:\n    return xs[:n]\n", 3, 0, None),
        ("import time\n\ndef f(d: float = 0.5) -> None:\n    time.sleep(min(8.0, d * 2))\n", 0.5, 0, None),
        ("def f(s: str, n: int = 8) -> bool:\n    return len(s) >= n\n", 8, 0, None),
        ("SIZE = 3\n\nfor i in range(0, 10, SIZE):\n    print(i)\n", 3, 1, None),
        ("def f(x: int = 3) -> int:\n    return x + 1\n", 3, None, None),
        ("def f(n: int = 3) -> None:\n    if not n:\n        raise ValueError('n')\n", 3, 1, None),
        (
            "class C:\n    def __init__(self, size: int = 8) -> None:\n        self.size = size\n\n"
            "    def check(self) -> None:\n        if self.size > 64:\n            raise ValueError('size')\n",
            8,
            None,
            64,
        ),
        ("def f(n: int = 3) -> list:\n    return [i for i in range(1, n + 1)]\n", 3, None, None),
        ("def f(n: int = 3) -> list:\n    return list(range(n + 1))\n", 3, 0, None),
        ("def f(n: int = 3) -> list:\n    return [0 for _ in range(n)]\n", 3, 1, None),
        ("def f(n: int = 3) -> str:\n    return '-' * n\n", 3, 1, None),
        ("def f(n: int = 0) -> str:\n    return '-' * n\n", 0, 0, None),
        ("from collections import deque\n\nRECENT = deque(maxlen=50)\n", 50, 1, None),
        (
            "import httpx\n\ndef f(url: str, t: float = 2.5) -> int:\n    return httpx.get(url, timeout=t).status_code\n",
            2.5,
            5e-324,
            None,
        ),
        ("def f(lo: int = 3, hi: int = 9) -> list:\n    return list(range(lo, hi))\n", 3, None, None),
    ],
)
def test_ranges_are_read_from_guards_and_uses(code: str, value: float, lo: float | None, hi: float | None) -> None:
    bounds = _bounds(code, value)
    assert (bounds.lo, bounds.hi) == (lo, hi)


def test_a_guard_the_learned_value_breaks_is_ignored() -> None:
    code = "def f(n: int = 0) -> None:\n    if n < 1:\n        raise ValueError('n')\n"
    assert _bounds(code, 0).lo is None


def _types(code: str, pattern: str, params: list[Param]) -> dict[str, str]:
    return {p.name: p.type for p in constrain(code, pattern, params)}


RANGE_CODE = '''def in_range(x: int, lo: int = 1, hi: int = 10) -> bool:
    """Return whether x lies between the bounds."""
    return lo <= x <= hi
'''
NORMALISED = '''def roll(a: int = 2, b: int = 12) -> int:
    """Return the larger bound minus the smaller."""
    low, high = min(a, b), max(a, b)
    return high - low
'''
RAISES = '''def in_range(x: int, lo: int = 1, hi: int = 10) -> bool:
    """Return whether x lies between the bounds."""
    if lo > hi:
        raise ValueError("empty interval")
    return lo <= x <= hi
'''


def test_related_numbers_keep_their_order_unless_the_code_handles_both() -> None:
    params = [Param("f", "identifier", "in_range"), Param("lo", "integer", 1), Param("hi", "integer", 10)]
    assert (
        _types(RANGE_CODE, "function {f:identifier} between {lo:integer} and {hi:integer}", params)["hi"]
        == "integer(>=lo)"
    )
    assert _types(RAISES, "function {f:identifier} between {lo:integer} and {hi:integer}", params)["hi"] == "integer"
    roll = [Param("f", "identifier", "roll"), Param("a", "integer", 2), Param("b", "integer", 12)]
    assert _types(NORMALISED, "function {f:identifier} between {a:integer} and {b:integer}", roll)["b"] == "integer"


def test_unrelated_numbers_get_no_order_and_keep_their_sign() -> None:
    code = '''def retry(attempts: int = 3, timeout: int = 30) -> int:
    """Return a budget."""
    return attempts * timeout
'''
    params = [Param("attempts", "integer", 3), Param("timeout", "integer", 30)]
    types = _types(code, "retry {attempts:integer} times with timeout {timeout:integer}", params)
    assert types == {"attempts": "integer(0..)", "timeout": "integer(0..)"}


def test_an_explicit_range_is_kept_and_tightened() -> None:
    code = "def f(n: int = 3) -> None:\n    if n < 1:\n        raise ValueError('n')\n"
    assert _types(code, "f {n:integer}", [Param("n", "integer(-5..20)", 3)])["n"] == "integer(1..20)"


CACHE = '''class LRUCache:
    """A cache that evicts the least recently used entry."""

    def get(self, key: str) -> None:
        """Nothing."""
'''


def test_names_of_definitions_fix_their_meaning_words() -> None:
    types = _types(CACHE, "class {name:identifier} with get", [Param("name", "identifier", "LRUCache")])
    assert types["name"] == "identifier(fixed=lru+cache)"


def test_prose_words_are_kept_and_pattern_words_are_not_fixed() -> None:
    code = '''def format_price(amount: float) -> str:
    """Format a price with a currency sign."""
    return f"${amount:.2f}"
'''
    types = _types(code, "function {f:identifier} that formats an amount", [Param("f", "identifier", "format_price")])
    assert types["f"] == "identifier(fixed=,keep=price)"
    stack = '''class OrderHistory:
    """A stack of orders."""
'''
    types = _types(stack, "class {name:identifier} implementing a stack", [Param("name", "identifier", "OrderStack")])
    assert "stack" not in types["name"]


def test_a_constant_name_carries_no_fixed_kind() -> None:
    types = _types(
        "MAX_SIZE = 10\n",
        "constant {name:identifier} equal to {v:integer}",
        [Param("name", "identifier", "MAX_SIZE"), Param("v", "integer", 10)],
    )
    assert types == {"name": "identifier", "v": "integer"}, "a constant that is only defined may be any integer"


def test_boundary_cases_respect_ranges_and_relations() -> None:
    params = [Param("lo", "integer", 1), Param("hi", "integer(>=lo)", 10)]
    labels = [label for label, _ in boundary_cases(params)]
    assert "lo=0" in labels and "hi=1000000" in labels
    assert "hi=0" not in labels and "lo and hi reversed" not in labels
    free = [Param("a", "integer", 2), Param("b", "integer", 12)]
    assert "a and b reversed" in [label for label, _ in boundary_cases(free)]
    ranged = [Param("n", "integer(1..)", 3)]
    assert [label for label, _ in boundary_cases(ranged)] == ["n=1", "n=1000000"]


WRAP = '''"""Wrapping text."""

import textwrap


def wrap_lines(text: str) -> list[str]:
    """Wrap text into lines."""
    return textwrap.wrap(text, 40)
'''


class ZeroWidthValidator:
    """The real validator plus one rule it could have: ``textwrap.wrap`` with width 0."""

    def __init__(self) -> None:
        self.inner = CodeValidator()
        self.seen: list[str] = []

    def validate(self, code: str) -> object:
        self.seen.append(code)
        report = self.inner.validate(code)
        if "textwrap.wrap(text, 0)" in code:
            finding = SimpleNamespace(rule_id="X001", message="zero width")
            return SimpleNamespace(ok=False, blocking=[finding], score=report.score)
        return report


def test_accept_check_refuses_a_template_that_validates_only_for_some_boundary_values() -> None:
    # Nothing in the code tells the reader that width 0 is wrong; the boundary render does.
    task = "function wrap_lines that wraps text at 40 columns"
    pattern = "function wrap_lines that wraps text at {width:integer} columns"
    validator = ZeroWidthValidator()
    refused = check(task, WRAP, pattern, [Param("width", "integer", 40)], validator)
    assert not refused.ok
    assert any("width=0 gives code that does not validate" in p for p in refused.problems)
    assert any("textwrap.wrap(text, 1000000)" in code for code in validator.seen)
    ranged = check(task, WRAP, pattern, [Param("width", "integer(1..)", 40)], ZeroWidthValidator())
    assert ranged.ok, ranged.problems


def test_accepted_preview_carries_the_constrained_params() -> None:
    params = [Param("f", "identifier", "in_range"), Param("lo", "integer", 1), Param("hi", "integer", 10)]
    preview = check(
        "function in_range between 1 and 10",
        RANGE_CODE,
        "function {f:identifier} between {lo:integer} and {hi:integer}",
        params,
        CodeValidator(),
    )
    assert preview.ok, preview.problems
    assert [p.type for p in preview.params] == ["identifier(fixed=)", "integer", "integer(>=lo)"]
    assert "{hi:integer(>=lo)}" in preview.pattern


def test_the_suggestion_prompt_offers_ranges_and_a_ranged_answer_is_read() -> None:
    from engine.learning.suggest import build_messages, parse_suggestion

    prompt = build_messages("a task", "code")[1]["content"]
    assert "integer(lo..hi)" in prompt and "number(lo..hi)" in prompt
    parsed = parse_suggestion(
        json.dumps(
            {
                "name": "chunk",
                "pattern": "chunks of {n:integer(1..100)} items",
                "params": [
                    {"name": "n", "type": "integer(1..100)", "value": 3, "confidence": 0.9},
                    {"name": "r", "type": "number(0..1)", "value": "0.5", "confidence": 0.9},
                ],
            }
        )
    )
    assert parsed.problems == []
    assert [(p.type, p.value) for p in parsed.params] == [("integer(1..100)", 3), ("number(0..1)", 0.5)]


def test_a_word_that_names_a_module_the_code_calls_is_fixed() -> None:
    code = '''"""Loading a document."""

import json
from pathlib import Path
from typing import Any


def load_document(path: str) -> Any:
    """Read the document at ``path``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
'''
    types = _types(code, "function load_document that reads a {fmt:word} file", [Param("fmt", "word", "json")])
    assert types["fmt"] == "choice(json)"
    data = '"""Encoding."""\n\n\ndef to_bytes(text: str) -> bytes:\n    """Encode text."""\n    return text.encode("utf-8")\n'
    assert _types(data, "encode text as {enc:word}", [Param("enc", "word", "utf-8")])["enc"] == "word"


def test_an_api_name_in_an_identifier_slot_keeps_its_kind() -> None:
    code = '''"""Hashing."""

import hashlib


def digest(data: bytes) -> str:
    """Return a hex digest."""
    return hashlib.sha256(data).hexdigest()
'''
    types = _types(
        code, "function digest that hashes bytes with {algo:identifier}", [Param("algo", "identifier", "sha256")]
    )
    assert types["algo"] == "identifier(fixed=sha256)"


def test_a_choice_that_only_changes_prose_is_fixed_and_a_data_word_stays_free() -> None:
    code = '''"""Sorting scores."""


def sort_scores(scores: list[int]) -> list[int]:
    """Return the scores in ascending order."""
    return sorted(scores)
'''
    params = [Param("order", "choice(ascending|descending)", "ascending")]
    assert _types(code, "function sort_scores in {order:choice(ascending|descending)} order", params)["order"] == (
        "choice(ascending)"
    )
    handled = code.replace("return sorted(scores)", 'return sorted(scores, reverse="ascending" != "ascending")')
    assert _types(handled, "function sort_scores in {order:choice(ascending|descending)} order", params)["order"] == (
        "choice(ascending|descending)"
    )


def test_numbers_in_different_arguments_of_one_call_are_related() -> None:
    code = '''"""Sampling."""

import secrets


def pick(k: int = 3, n: int = 10) -> list[int]:
    """Pick k distinct numbers below n."""
    return secrets.SystemRandom().sample(range(n), k)
'''
    types = _types(code, "pick {k:integer} of {n:integer}", [Param("k", "integer", 3), Param("n", "integer", 10)])
    assert types == {"k": "integer(1..)", "n": "integer(1..,>=k)"}
    product = '''def budget(attempts: int = 3, timeout: int = 30) -> int:
    """Return a budget."""
    return max(attempts * timeout, 1)
'''
    types = _types(
        product,
        "retry {attempts:integer} times for {timeout:integer} seconds",
        [Param("attempts", "integer", 3), Param("timeout", "integer", 30)],
    )
    assert types["timeout"] == "integer(0..)", "one argument holding both is not an order"


def test_words_the_code_names_its_constants_with_are_kept() -> None:
    code = '''"""Letter statistics."""

VOWELS = frozenset("aeiou")


def count_vowels(text: str) -> int:
    """Return how many letters of text are in the set."""
    return sum(1 for ch in text.lower() if ch in VOWELS)
'''
    types = _types(code, "function {f:identifier} that counts letters", [Param("f", "identifier", "count_vowels")])
    assert types["f"] == "identifier(fixed=,keep=vowel)"  # "count" is stated by the pattern
