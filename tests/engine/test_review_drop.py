"""Dropping a string parameter in review: its value goes back into the pattern as a literal the
parser accepts and that still matches the task, for every string kind and for values holding
pattern syntax ({ } [ ] ( ) |), quotes and backslashes; when no spelling can, the drop is refused
with a clear error and nothing is written."""

from __future__ import annotations

import pytest

from engine.errors import BadInput
from engine.learning.body import Param
from engine.learning.review import check, literal_in_pattern
from engine.templates.escapes import encode_task_string, quoted_literal, quoted_value
from engine.templates.pattern import TaskPattern
from engine.validation import CodeValidator

# (slot type, value): every string kind, hostile values included
VALUES = [
    ("string", ";"),
    ("string", 'a\t"b'),
    ("string", "{name} [x]"),
    ("string", "hello | world"),
    ("string", "it's (fine)"),
    ("string", "back\\slash {3}"),
    ("string", "{x:string}"),
    ("regex", r"^\d{3}(a|b)[x]$"),
    ("glob", "*.[ch]"),
    ("format", "{:d} items"),
    ("format_spec", ".2f"),
    ("printf", "%d of %s"),
    ("strftime", "%Y-%m-%d"),
    ("path", "/tmp/a b.txt"),
    ("unit", "ms"),
    ("encoding", "utf-8"),
]


@pytest.mark.parametrize(("kind", "value"), VALUES)
@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_dropped_string_goes_back_as_a_literal_that_parses_and_matches(kind: str, value: str, quote: str) -> None:
    task = f"function cut that splits a line on {encode_task_string(value, quote)}"
    pattern = f"function {{func:identifier}} that splits a line on {{sep:{kind}}}"
    dropped = literal_in_pattern(pattern, Param("sep", kind, value), task)
    parsed = TaskPattern(dropped)  # parses
    found = parsed.match(task)
    assert found is not None and set(found.bindings) == {"func"}, dropped
    other = f"function cut that splits a line on {encode_task_string(value + 'z', quote)}"
    assert parsed.match(other) is None  # only that value


def test_quoted_literal_round_trips() -> None:
    for _, value in VALUES:
        assert quoted_value(quoted_literal(value)) == value


def test_a_value_the_task_wrote_unquoted_goes_back_unquoted() -> None:
    task = "read the config file from /etc/app.toml"
    dropped = literal_in_pattern("read the config file from {p:path}", Param("p", "path", "/etc/app.toml"), task)
    assert dropped == "read the config file from /etc/app.toml" and TaskPattern(dropped).match(task)


def test_a_drop_no_spelling_can_match_is_refused_clearly() -> None:
    task = 'split a line on "\\x3b"'  # the task spells ';' with an escape a literal does not write
    with pytest.raises(BadInput, match="cannot drop sep"):
        literal_in_pattern("split a line on {sep:string}", Param("sep", "string", ";"), task)


def test_after_dropping_the_string_the_review_check_passes() -> None:
    task = 'function cut that splits a line on "{;}"'
    code = (
        '"""Splitting lines."""\n\n\ndef cut(line: str) -> list[str]:\n    """Split."""\n    return line.split("{;}")\n'
    )
    params = [Param("func", "identifier", "cut"), Param("sep", "string", "{;}")]
    pattern = literal_in_pattern("function {func:identifier} that splits a line on {sep:string}", params[1], task)
    preview = check(task, code, pattern, params[:1], CodeValidator())
    assert preview.ok, preview.problems


def test_apostrophes_and_quoted_slots_keep_their_meaning() -> None:
    assert TaskPattern("don't stop {x:identifier}").match("don't stop go") is not None
    assert TaskPattern("split on {sep:string}").match('split on "x"') is not None
