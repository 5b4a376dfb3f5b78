"""Notation slot types: a value in another notation does not bind."""

from __future__ import annotations

import pytest

from engine.templates.errors import SlotError
from engine.templates.slots import parse_slot_type

ACCEPTED = {
    "strftime": ["%Y-%m-%d", "%d/%m/%Y %H:%M", "%A %d %B %Y", "Week %V", "%d\t%m", "%Y%m%dT%H%M%S"],
    "regex": [r"^ERROR \d+", r"\bword\b", r"[a-z]+@[a-z]+\.com", r"colou?r", "^WARN(ING)?:", r".*\.csv$"],
    "regex(groups=1)": [r"(\d+)", r"id=(\w+);", r"(?:a|b)(c)"],
    "regex(groups=1,names=level)": [r"(?P<level>[A-Z]+):", r"^(?P<level>\w+)"],
    "regex(literal)": [",", ";", ", ", "\t", " ", "::", "a-b"],
    "glob": ["*.csv", "report_*.json", "sample-??.txt", "**/*.log", "[abc]*.txt", "data/2024-*"],
    "encoding": ["utf-8", "UTF8", "latin-1", "cp1252", "ascii", "utf-16-le"],
    "mime": ["text/csv", "application/json", "image/svg+xml", "text/html; charset=utf-8"],
    "path": ["data/orders.txt", "/var/log/app.log", "C:\\temp\\x.csv", "~/notes.md"],
    "printf(n)": ["found %d files", "%d files", "total: %5d", "%.2f%%", "%s files"],
    "printf(s,n)": ["%s has %d items", "%r: %x"],
    "printf(name=s)": ["hello %(name)s", "%(name)r!"],
    "format(0=n)": ["{:.2f} EUR", "USD {:,.2f}", "{:>10}", "~{0:.0f}", "{}"],
    "format(name=s)": ["Hello {name}!", "{name!r}"],
    "format_spec(n)": [".2f", ">10", ",", "08.3f", "+.1%"],
    "format_spec(i)": ["x", "05d", ",", ".2f", "b"],
    "format(0=i)": ["{:d} items", "{:x}", "{:.1f}", "{}"],
    "format_spec(s)": [">10", "^20", "*<8", ".5"],
    "format_spec(t)": ["%Y-%m-%d", "%d %B %Y", "%H:%M"],
    "format(0=t)": ["{:%Y-%m-%d}", "on {:%d/%m/%Y} at noon"],
    "unit(MB)": ["MB", "megabytes", "megabyte"],
    "unit(ms)": ["ms", "milliseconds", "msec"],
    "envvar": ["APP_URL", "HOME", "_PRIVATE", "x1"],
    "timezone": ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "Asia/Kolkata"],
    "string(1..200,!blank,!pattern)": ["test_", ".csv", "US$", "v", "what?", "a.b", "[x]"],
    "logfmt": ["%(levelname)s %(message)s", "%(asctime)s [%(name)s] %(message)s"],
}
REFUSED = {
    "strftime": ["DD/MM/YYYY", "yyyy-MM-dd", "{:%Y-%m-%d}", "%Q-%m", "YYYY-%m-%d", "today", "", "  "],
    "regex": ["*ERROR*", "ERROR [0-9", "app-*.log", "foo*", "*.txt", "(unclosed", "", " "],
    "regex(groups=1)": [r"\d+", r"(\d+)-(\d+)", r"(?P<x>a)(b)"],
    "regex(groups=1,names=level)": [r"(?P<lvl>[A-Z]+):", r"([A-Z]+)"],
    "regex(literal)": [".", "|", r"\s+", "a*", "(,)"],
    "glob": [r"^.*\.csv$", r".+\.log", "*.{csv,tsv}", r"\d+.txt", "(a|b).txt", "[abc.txt", "", "\t"],
    "encoding": ["utf-9", "text/plain", "base64", "rot13", "", " "],
    "mime": ["csv", ".csv", "text", "foo/bar", "utf-8", ""],
    "path": ["logs/*.log", "https://example.com/x", "data/file?.txt", "a\nb", "", "   "],
    "printf(n)": ["found {} files", "found %d files in %s", "found files", "%q", "%(n)d", "%*d", ""],
    "printf(s,n)": ["%d has %d items", "%s"],
    "format(0=n)": [
        "%.2f EUR",
        "{amount:.2f}",
        "{:.2f} {}",
        "{:%Y}",
        "{0.real}",
        "{:{w}}",
        "no field",
        "",
        "{:d}",
        "{:x}",
    ],
    "format(0=s)": ["{:.2f}", "{:d}", "{:,}", "{:>999999999}"],
    "format_spec(n)": ["%Y", "{:.2f}", "s", "", "%.2f", "x", "d"],
    "format_spec(s)": [".2f", ",", "d", ">999999999", ".999999999"],  # never probed: no huge allocation
    "format_spec(t)": ["DD/MM/YYYY", ".2f", ">10", "%Q"],
    "format(0=t)": ["{:DD/MM/YYYY}", "{:.2f}", "{}", "%Y-%m-%d"],
    "unit(MB)": ["GB", "mb", "Mb", "MiB", "kilobytes", ""],
    "unit(ms)": ["s", "seconds", "us", "min"],
    "envvar": ["APP URL", "1ST", "$HOME", "app-url", ""],
    "timezone": ["Berlin", "GMT+2x", "Europe/Atlantis", "../etc/passwd", "/etc/localtime", "CEST", ""],
    "string(1..200,!blank,!pattern)": [
        "*.csv",
        "test_*",
        r"\d+",
        "^ERROR",
        r"\.csv$",
        r"a\(b",
        ".*log",
        "[0-9]",
        " ",
        "",
    ],
    "logfmt": ["{levelname} {message}", "%s %s", "%(user)s did it", "plain text", ""],
}


@pytest.mark.parametrize(("spec", "value"), [(s, v) for s, vs in ACCEPTED.items() for v in vs])
def test_values_in_the_notation_bind(spec: str, value: str) -> None:
    assert parse_slot_type(spec).coerce(value) == value


@pytest.mark.parametrize(("spec", "value"), [(s, v) for s, vs in REFUSED.items() for v in vs])
def test_values_in_another_notation_do_not_bind(spec: str, value: str) -> None:
    with pytest.raises(SlotError):
        parse_slot_type(spec).coerce(value)


@pytest.mark.parametrize(
    "spec",
    [
        "strftime",
        "regex",
        "glob",
        "encoding",
        "mime",
        "path",
        "printf(n)",
        "printf(s,n)",
        "printf()",
        "format(0=n)",
        "format(0=s,1=n)",
        "format(name=s)",
        "string",
        "string(1..1)",
        "regex(groups=2,names=a|b)",
        "regex(literal)",
        "format_spec(n)",
        "unit(MB)",
        "unit(°C)",
        "envvar",
        "logfmt",
        "string(1..200,!blank,!pattern)",
        "string(0..200,!pattern)",
        "timezone",
        "string(1..200,!blank)",
        "string(0..10)",
    ],
)
def test_slot_type_spellings_round_trip(spec: str) -> None:
    assert parse_slot_type(spec).spec == spec


@pytest.mark.parametrize(
    "bad",
    [
        "regex(1..2)",
        "printf(x)",
        "format(0=q)",
        "string(1..2,!odd)",
        "string(3..1)",
        "unit(parsecs)",
        "format_spec(q)",
        "regex(groups=x)",
    ],
)
def test_bad_string_type_spellings_are_refused(bad: str) -> None:
    with pytest.raises(SlotError):
        parse_slot_type(bad)


def test_blank_flag_refuses_whitespace_only_but_keeps_inner_spaces() -> None:
    slot = parse_slot_type("string(1..200,!blank)")
    assert slot.coerce(" v ") == " v "
    for blank in (" ", "\t", " \n "):
        with pytest.raises(SlotError, match="blank"):
            slot.coerce(blank)


def test_notation_slots_match_from_task_text_with_escapes() -> None:
    slot = parse_slot_type("regex")
    assert slot.parse(r'"\bERROR\b"') == "\\bERROR\\b"
    assert slot.parse(r'"\\d+"') == "\\d+"
    with pytest.raises(SlotError):
        slot.parse('"*.log"')


@pytest.mark.parametrize(
    "spec",
    [
        "strftime",
        "regex",
        "glob",
        "encoding",
        "mime",
        "path",
        "printf(n)",
        "format(0=n)",
        "string(1..1)",
        "string",
        "format_spec(n)",
        "unit(MB)",
    ],
)
def test_each_slot_offers_a_different_valid_variant_for_the_generalisation_check(spec: str) -> None:
    slot = parse_slot_type(spec)
    original = {
        "strftime": "%Y-%m-%d",
        "regex": "^a+",
        "glob": "*.csv",
        "encoding": "utf-8",
        "mime": "text/csv",
        "path": "data/a.txt",
        "printf(n)": "%d files",
        "format(0=n)": "{:.2f}",
        "string(1..1)": ";",
        "string": "x",
        "format_spec(n)": ".2f",
        "unit(MB)": "MB",
    }[spec]
    variant = slot.variant(original)  # type: ignore[attr-defined]
    assert variant != original and slot.coerce(variant) == variant
