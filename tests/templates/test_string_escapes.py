"""Escapes in task strings: read with Python's rules for \\t \\n \\r \\\\ \\" \\', written back
as literals that mean exactly the value (a tab is never a raw tab or a backslash-t)."""

from __future__ import annotations

import ast

import pytest

from engine.templates import TemplateSpec
from engine.templates.escapes import (
    decode_task_string,
    encode_task_string,
    literal_style,
    python_literal,
)
from engine.templates.normalize import NormalizedTask
from engine.templates.render import render_body

SPEC = TemplateSpec.from_dict(
    {
        "name": "splitter",
        "description": "split on a separator",
        "patterns": ["function {func:identifier} that splits on {sep:string}"],
        "body": "def {{ func }}(line: str) -> list[str]:\n    return line.split({{ sep | repr }})\n",
        "params": [{"name": "func", "type": "identifier"}, {"name": "sep", "type": "string"}],
    }
)


@pytest.mark.parametrize(
    ("inner", "value"),
    [
        (r"\t", "\t"),
        (r"\n", "\n"),
        (r"\r\n", "\r\n"),
        (r"\\t", "\\t"),  # a literal backslash followed by t
        (r"\\", "\\"),
        (r"\"", '"'),
        (r"\'", "'"),
        (r"\d+", "\\d+"),  # unknown escapes keep their backslash (regexes)
        (r"\bword\b", "\\bword\\b"),  # never a backspace
        (r"C:\\temp", "C:\\temp"),
        (r"\x41\u00e9\N{EM DASH}", "Aé\u2014"),  # named characters, as in Python
        (r"\N{NO SUCH NAME}", "\\N{NO SUCH NAME}"),
        (r"(a)\1", "(a)\\1"),  # a back-reference, never octal 1
        (r"\0", "\\0"),
        ("plain", "plain"),
    ],
)
def test_task_escapes_decode_with_python_rules_for_the_common_escapes(inner: str, value: str) -> None:
    assert decode_task_string(inner) == value


@pytest.mark.parametrize("value", ["\t", "\n", "a\\tb", '"', "'", "\\", 'it\'s "x"', "\\d+\t"])
def test_encoding_for_a_task_is_the_inverse_of_decoding(value: str) -> None:
    quoted = encode_task_string(value)
    assert decode_task_string(quoted[1:-1]) == value


def test_a_tab_written_in_the_task_reaches_the_code_as_a_tab_escape() -> None:
    match = SPEC.match(r'function split_tsv that splits on "\t"')
    assert match is not None and match.bindings["sep"] == "\t"
    code = match.render()
    assert 'line.split("\\t")' in code
    assert "\t" not in code.split("split(")[1], "a raw tab inside the literal"
    assert ast.literal_eval(code.split("split(")[1].split(")")[0]) == "\t"


def test_a_literal_backslash_t_stays_backslash_t() -> None:
    match = SPEC.match(r'function split_odd that splits on "\\t"')
    assert match is not None and match.bindings["sep"] == "\\t"
    code = match.render()
    assert 'line.split("\\\\t")' in code and 'split("\\t")' not in code


@pytest.mark.parametrize(
    ("task", "value"),
    [
        (r'function f that splits on "\""', '"'),
        (r"function f that splits on '\''", "'"),
        (r'function f that splits on "it\'s"', "it's"),
        (r'function f that splits on "\\"', "\\"),
    ],
)
def test_escaped_quotes_and_backslashes_bind_one_character_and_render_valid_code(task: str, value: str) -> None:
    match = SPEC.match(task)
    assert match is not None and match.bindings["sep"] == value
    code = match.render()
    compile(code, "<t>", "exec")
    call = ast.parse(code).body[0].body[0].value  # type: ignore[attr-defined]
    assert call.args[0].value == value


def test_a_quoted_token_ends_at_the_first_unescaped_quote() -> None:
    tokens = NormalizedTask(r'split on "a\"b" and "c"').tokens
    assert [t.text for t in tokens if t.kind == "quoted"] == [r'"a\"b"', '"c"']


def test_control_characters_other_than_tab_newline_return_are_still_refused() -> None:
    assert SPEC.match(r'function f that splits on "\x07"') is None, "a bell from an escape"
    slot = SPEC.params[1].slot
    for bad in ("\x00", "\x07", "\x1b[31m", "\x7f"):
        with pytest.raises(Exception, match="control characters"):
            slot.coerce(bad)
    assert slot.coerce("a\tb\nc\r") == "a\tb\nc\r"


@pytest.mark.parametrize(
    "value", ["", "\t", "\n", 'a"b', "a'b", "a'\"b", "\\", "x\\", "\\d+", "\x07", "\u200b", "é", "\\\\"]
)
@pytest.mark.parametrize(("prefix", "quote"), [("", '"'), ("", "'"), ("r", '"'), ("r", "'")])
def test_python_literal_always_means_the_value(value: str, prefix: str, quote: str) -> None:
    literal = python_literal(value, prefix, quote)
    assert "\n" not in literal and "\t" not in literal
    assert ast.literal_eval(literal) == value


def test_raw_style_is_kept_only_when_it_means_the_same_value() -> None:
    assert python_literal("^ERROR \\d+", "r", '"') == 'r"^ERROR \\d+"'
    assert python_literal("a\tb", "r", '"') == '"a\\tb"', "raw cannot hold a tab"
    assert python_literal("x\\", "r", '"') == '"x\\\\"', "raw cannot end in one backslash"


def test_literal_style_reads_prefix_and_quote_and_skips_other_literals() -> None:
    assert literal_style('"x"') == ("", '"')
    assert literal_style("r'\\d'") == ("r", "'")
    for other in ('"""x"""', 'b"x"', 'f"{x}"', "x"):
        assert literal_style(other) is None


def test_the_literal_filter_renders_the_style_and_refuses_non_strings() -> None:
    assert render_body("{{ v | literal('r', '\"') }}", {"v": "\\w+"}) == 'r"\\w+"'
    with pytest.raises(Exception, match="literal needs a str"):
        render_body("{{ v | literal }}", {"v": 3})


def test_the_builtin_csv_template_takes_a_tab_delimiter_written_as_an_escape() -> None:
    from engine.templates import TemplateIndex, load_builtin_pack

    match = TemplateIndex(load_builtin_pack()).match(r"csv to json converter with delimiter '\t'")
    assert match is not None and match.bindings["delimiter"] == "\t"
    assert 'DELIMITER = "\\t"' in match.render()
