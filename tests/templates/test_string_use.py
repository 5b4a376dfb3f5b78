"""Accept time: a string slot is typed by how the code uses its value, degenerate values are
rendered and validated, and the code's own literal style is kept."""

from __future__ import annotations

import pytest

from engine.learning.body import Param, ambiguous_values, build_body, round_trip
from engine.learning.review import check, literal_in_pattern
from engine.learning.stringprobe import string_probe_problems
from engine.learning.stringuse import analyse, refine_string_params
from engine.templates.render import render_body
from engine.validation import CodeValidator


def refined(code: str, value: str, type_: str = "string") -> str:
    params, problems = refine_string_params(code, [Param("v", type_, value)])
    assert not problems, problems
    return params[0].type


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ('def f(d):\n    return d.strftime("%Y-%m-%d")\n', "%Y-%m-%d", "strftime"),
        ('from datetime import datetime\nx = datetime.strptime(s, "%d/%m/%Y")\n', "%d/%m/%Y", "strftime"),
        ('import logging\nlogging.basicConfig(datefmt="%H:%M")\n', "%H:%M", "strftime"),
        ('import re\nP = re.compile(r"^a\\d+")\n', "^a\\d+", "regex"),
        ('import re\ndef f(s):\n    return re.sub("x+", "-", s)\n', "x+", "regex(groups=0)"),
        (
            'import re\nm = re.match(r"(?P<y>\\d+)-(\\d+)", s)\nprint(m.group("y"))\n',
            "(?P<y>\\d+)-(\\d+)",
            "regex(groups=2,names=y)",
        ),
        ('import re\nparts = re.split(",", s)\n', ",", "regex(literal)"),
        ('import re\ndef f(s):\n    return re.sub("x+", "-", s)\n', "-", "string"),  # the replacement
        ('from pathlib import Path\nfiles = Path(".").glob("*.py")\n', "*.py", "glob"),
        ('import fnmatch\nok = fnmatch.fnmatch(name, "*.txt")\n', "*.txt", "glob"),
        ('import glob\nfiles = glob.glob("data/*.csv")\n', "data/*.csv", "glob"),
        ('msg = "%d items" % n\n', "%d items", "printf(n)"),
        ('msg = "%s: %d" % (a, b)\n', "%s: %d", "printf(s,n)"),
        ('import logging\nlogging.info("got %s", x)\n', "got %s", "printf(s)"),
        ('import logging\nlogging.info("no args %d")\n', "no args %d", "string(1..200,!blank)"),  # a message
        ('label = "{:.2f} EUR".format(x)\n', "{:.2f} EUR", "format(0=n)"),
        ('label = "Hi {name}".format(name=n)\n', "Hi {name}", "format(name=s)"),
        ('text = data.decode("latin-1")\n', "latin-1", "encoding"),
        ('text = p.read_text(encoding="utf-8")\n', "utf-8", "encoding"),
        ('r = Response(body, media_type="text/csv")\n', "text/csv", "mime"),
        ('h = {"Content-Type": "application/json"}\n', "application/json", "mime"),
        ('with open("data/x.txt") as h:\n    pass\n', "data/x.txt", "path"),
        ('import httpx\nr = httpx.get("https://api.example.com/v1")\n', "https://api.example.com/v1", "url"),
        ('c = Client(base_url="https://x.example.com")\n', "https://x.example.com", "url"),
        ('t = format(x, ".2f")\n', ".2f", "format_spec(n)"),
        ('SPEC = ">10"\nt = f"{name:{SPEC}}"\n', ">10", "format_spec(s)"),
        ('FMT = "%Y-%m-%d"\nt = f"{day:{FMT}}"\n', "%Y-%m-%d", "format_spec(t)"),
        ('t = "{:%d.%m.%Y}".format(day)\n', "{:%d.%m.%Y}", "format(0=t)"),
        ('UNIT = "MB"\ndef size(n):\n    return f"{n / 1024 ** 2:.1f} {UNIT}"\n', "MB", "unit(MB)"),
        ('TIMEOUT_UNIT = "ms"\n', "ms", "unit(ms)"),
        ('parts = line.split(";")\n', ";", "string(1..200)"),
        ('a, _, b = line.partition("=")\n', "=", "string(1..200)"),
        ('ok = name.startswith("test_")\n', "test_", "string(1..200,!blank,!pattern)"),
        ('ok = "TODO" in text\n', "TODO", "string(1..200,!blank,!pattern)"),
        ('t = s.replace("-", "_")\n', "-", "string(1..200,!blank,!pattern)"),
        ('t = s.replace("-", "_")\n', "_", "string"),  # the replacement may be anything
        ('t = s.strip("/")\n', "/", "string(1..200)"),
        ('import csv\nr = csv.reader(h, delimiter=";")\n', ";", "string(1..1)"),
        ('t = s.center(20, "*")\n', "*", "string(1..1)"),
        ('s = ", ".join(words)\n', ", ", "string"),
        ('print(*xs, sep=" | ")\n', " | ", "string"),
        ('class E(Exception):\n    """E."""\n\n    msg = "boom"\n', "boom", "string(1..200,!blank)"),
        ('GREETING = "hi"\n', "hi", "string(1..200,!blank)"),  # a label: "" or " " is a degenerate task
        ('GREETING = ""\n', "", "string"),  # ... unless the original value was empty itself
        ('parts = line.split(" ")\n', " ", "string(1..200)"),  # a blank separator means something
    ],
)
def test_the_slot_type_follows_how_the_code_uses_the_value(code: str, value: str, expected: str) -> None:
    assert refined(code, value) == expected


def test_the_value_is_followed_through_constants_defaults_and_attributes() -> None:
    code = (
        'import csv\n\nDELIM = ";"\n\n\ndef read(h, delimiter: str = DELIM):\n'
        "    return csv.reader(h, delimiter=delimiter)\n"
    )
    assert refined(code, ";") == "string(1..1)"
    code = 'class Finder:\n    PATTERN = "*.log"\n\n    def run(self, p):\n        return p.glob(self.PATTERN)\n'
    assert refined(code, "*.log") == "glob"


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ('import glob, os\nfiles = glob.glob(os.path.join(folder, "*.csv"))\n', "*.csv", "glob"),
        ('import glob\nPATTERN = "*.csv"\nfiles = glob.glob(f"{folder}/{PATTERN}")\n', "*.csv", "glob"),
        ('import re\nP = re.compile(PREFIX + "[0-9]+")\n', "[0-9]+", "regex"),
        ('import fnmatch\nok = fnmatch.fnmatch(name.lower(), "*.TXT".lower())\n', "*.TXT", "glob"),
        ('from pathlib import Path\np = Path(root) / "data.json"\n', "data.json", "path"),
        ('import glob\nfrom pathlib import Path\nf = glob.glob(str(Path(d) / "*.csv"))\n', "*.csv", "glob"),
        ('import os\ndata = open(os.path.join(root, "notes.txt")).read()\n', "notes.txt", "path"),
        ('msg = "Hello " + name\nprint(msg)\n', "Hello ", "string(1..200,!blank)"),  # a plain part of a message
    ],
)
def test_a_value_that_is_part_of_a_glob_regex_or_path_takes_that_notation(code: str, value: str, expected: str) -> None:
    assert refined(code, value) == expected


def test_the_value_is_followed_into_functions_and_classes_defined_in_the_code() -> None:
    code = (
        "import re\n\n\ndef _matching(lines, pattern):\n    return [x for x in lines if re.search(pattern, x)]\n\n\n"
        'def errors(lines):\n    return _matching(lines, "^ERROR")\n'
    )
    assert refined(code, "^ERROR") == "regex"
    code = (
        "from pathlib import Path\n\n\nclass Finder:\n    def __init__(self, pattern):\n        self.pattern = pattern\n\n"
        "    def run(self, root):\n        return Path(root).glob(self.pattern)\n\n\n"
        'FINDER = Finder(pattern="*.md")\n'
    )
    assert refined(code, "*.md") == "glob"


@pytest.mark.parametrize(
    ("code", "value", "expected"),
    [
        ('import os\nv = os.environ.get("APP_URL", "")\n', "APP_URL", "envvar"),
        ('import os\nv = os.environ["APP_URL"]\n', "APP_URL", "envvar"),
        ('import os\nv = os.getenv("HOME")\n', "HOME", "envvar"),
        ('from zoneinfo import ZoneInfo\nTZ = ZoneInfo("Europe/Berlin")\n', "Europe/Berlin", "timezone"),
        ('import logging\nf = logging.Formatter("%(levelname)s %(message)s")\n', "%(levelname)s %(message)s", "logfmt"),
        ('import logging\nlogging.basicConfig(format="%(message)s")\n', "%(message)s", "logfmt"),
    ],
)
def test_environment_names_and_logging_formats(code: str, value: str, expected: str) -> None:
    assert refined(code, value) == expected


def test_a_docstring_that_equals_the_value_is_not_a_use() -> None:
    assert analyse('def f():\n    "%Y"\n    return 1\n', "%Y").notations == ()


def test_two_notations_for_one_value_are_refused() -> None:
    code = 'import re\nfrom pathlib import Path\nP = "*.txt"\nre.compile(P)\nPath(".").glob(P)\n'
    params, problems = refine_string_params(code, [Param("v", "string", "*.txt")])
    assert problems and "glob and regex" in problems[0]


def test_an_original_value_invalid_in_its_notation_keeps_the_suggestion_pending() -> None:
    code = 'import re\nP = re.compile("app-*.log")\n'
    _params, problems = refine_string_params(code, [Param("v", "string", "app-*.log")])
    assert problems and "does not fit regex" in problems[0]


def test_a_suggested_value_copied_with_its_escape_becomes_the_decoded_value() -> None:
    code = 'def f(line: str) -> list[str]:\n    return line.split("\\t")\n'
    params, problems = refine_string_params(code, [Param("sep", "string", "\\t")])
    assert not problems and params[0].value == "\t"
    code = 'def f(line: str) -> list[str]:\n    return line.split("\\\\t")\n'
    params, _ = refine_string_params(code, [Param("sep", "string", "\\t")])
    assert params[0].value == "\\t", "the code holds backslash-t: keep it"


def test_a_printf_type_without_signature_takes_the_original_values_arguments() -> None:
    code = 'def f(n: int) -> str:\n    return PREFIX + str(n)\n\nPREFIX = "%d and %s"\n'
    assert refined(code, "%d and %s", "printf") == "printf(n,s)"


def test_probe_rendering_reports_a_degenerate_value_that_breaks_the_code() -> None:
    params = [Param("sep", "string", ";")]
    ok_body = "x = {{ sep | repr }}\n"
    bad_body = 'x = {{ sep | repr }}\ny = "{{ sep }}"\n'

    def compiles(code: str) -> bool:
        try:
            compile(code, "<probe>", "exec")
        except SyntaxError:
            return False
        return True

    assert string_probe_problems(lambda v: render_body(ok_body, v), params, compiles) == []
    problems = string_probe_problems(lambda v: render_body(bad_body, v), params, compiles)
    assert problems and "does not validate" in problems[0]


def test_probes_the_slot_refuses_are_never_rendered() -> None:
    rendered: list[str] = []

    def render(values: dict) -> str:
        rendered.append(values["sep"])
        return "x = 1\n"

    string_probe_problems(render, [Param("sep", "string(1..1)", ";")], lambda _code: True)
    assert rendered and all(len(v) == 1 for v in rendered)


def test_a_raw_regex_literal_becomes_a_placeholder_that_keeps_its_style() -> None:
    code = 'import re\n\nPATTERN = re.compile(r"^ERROR \\d+")\n'
    params = [Param("pattern", "regex", "^ERROR \\d+")]
    body, missing = build_body(code, params)
    assert not missing and "literal('r'" in body
    assert round_trip(body, params, code) == (True, "")
    other = render_body(body, {"pattern": "a\tb"})
    assert 'compile("a\\tb")' in other, "a raw literal cannot hold a tab: falls back to an escape"


def test_a_string_value_counted_in_any_spelling_is_ambiguous() -> None:
    code = "A = ';'\nB = \";\"\n"
    assert ambiguous_values(code, [Param("sep", "string", ";")])


def test_the_review_check_refines_types_and_stores_them_in_the_preview() -> None:
    task = 'function cut that splits a line on ";"'
    code = (
        '"""Splitting lines."""\n\n\ndef cut(line: str) -> list[str]:\n    """Split."""\n    return line.split(";")\n'
    )
    params = [Param("func", "identifier", "cut"), Param("sep", "string", ";")]
    preview = check(
        task, code, "function {func:identifier} that splits a line on {sep:string}", params, CodeValidator()
    )
    assert preview.ok, preview.problems
    # (the name's meaning words are the meaning branch's business: only the string slot here)
    assert preview.params[1].type == "string(1..200)"
    assert "{sep:string(1..200)}" in preview.pattern


def test_a_dropped_string_parameter_goes_back_into_the_pattern_with_its_escapes() -> None:
    text = literal_in_pattern("split on {sep:string}", Param("sep", "string", 'a\t"b'))
    assert text == 'split on "a\\t\\"b"'


@pytest.mark.parametrize(
    ("suggested", "code", "value", "expected"),
    [
        ("unit", 'UNIT = "ms"\n', "ms", "unit(ms)"),
        ("format_spec", 't = format(x, ".2f")\n', ".2f", "format_spec(n)"),
        ("format", 't = "{:d} items".format(n)\n', "{:d} items", "format(0=i)"),
    ],
)
def test_notation_types_suggested_without_arguments_get_them_from_the_code(
    suggested: str, code: str, value: str, expected: str
) -> None:
    assert refined(code, value, suggested) == expected


def test_an_export_written_before_string_typing_imports_as_a_consistent_matchable_template(tmp_path) -> None:
    import json

    from engine.learning.review import spec_for
    from engine.learning.transfer import read_export

    code = (
        '"""Splitting lines."""\n\n\ndef cut(line: str) -> list[str]:\n    """Split."""\n    return line.split(";")\n'
    )
    document = {
        "format": "templar-templates",
        "version": 1,
        "templates": [
            {
                "name": "cut",
                "pattern": "function {func:identifier} that splits a line on {sep:string}",
                "body": '"""Splitting lines."""\n\n\ndef {{ func }}(line: str) -> list[str]:\n    """Split."""\n'
                "    return line.split({{ sep | repr }})\n",
                "params": [
                    {"name": "func", "type": "identifier", "value": "cut"},
                    {"name": "sep", "type": "string", "value": ";"},
                ],
                "task": 'function cut that splits a line on ";"',
                "code": code,
            }
        ],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    entry = read_export(path)[0]
    spec = spec_for("learned-9", entry["pattern"], entry["body"], entry["params"], None)
    assert spec.match('function chop that splits a line on ","') is not None
    assert spec.match('function chop that splits a line on ""') is None
