"""The bad input corpus: hostile TOML, huge and empty tasks, non-UTF-8 bytes, control characters,
malformed template imports, invalid arguments.

Each case must give ONE clear line on stderr (no traceback) and exit 2 (bad input), and leave
everything already stored exactly as it was: every database row, every config and data file.
The corpus found ten engine bugs when it was written (crashes on deep nesting, non-UTF-8 argv,
oversized values, malformed imports; multi-line argparse errors); all are fixed and these
cases keep them fixed.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.robustness.conftest import one_line, run_main, snapshot, write_tasks

EXPORT_HEADER = '[templar_export]\nformat = 1\nkind = "project-config"\nproject = "imported"\n\n'
GOOD_TEMPLATE = {
    "name": "int_constant",
    "pattern": "a constant {name:identifier} set to {value:integer}",
    "body": '"""Settings."""\n\n{{ name }}: int = {{ value }}\n',
    "params": [
        {"name": "name", "type": "identifier", "value": "MAX_RETRIES", "description": "constant name"},
        {"name": "value", "type": "integer", "value": 5, "description": "its value"},
    ],
    "task": "a constant MAX_RETRIES set to 5",
    "code": '"""Settings."""\n\nMAX_RETRIES: int = 5\n',
    "version": 1,
    "quality": 90,
    "counterfactual_usd": 0.001,
}


def templates_doc(templates: Any, **extra: Any) -> str:
    return json.dumps({"format": "templar-templates", "version": 1, "templates": templates, **extra})


@pytest.fixture(scope="module")
def golden_home(tmp_path_factory, _server) -> Path:
    """Built once per module: a home with something to lose: a paid answer (ledger, budget,
    cache), a project file, a learned template and a batch results log."""
    import contextlib

    from engine.cli.main import main
    from engine.paths import Paths
    from tests.robustness.conftest import FAKE_KEY, settings_text

    root = tmp_path_factory.mktemp("golden")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEMPLAR_HOME", str(root))
        for name in ("GEMINI", "OPENAI", "ANTHROPIC"):
            mp.setenv(f"{name}_API_KEY", FAKE_KEY)
        _server.reset()
        paths = Paths.from_env().ensure()
        paths.user_settings.write_text(
            settings_text(_server, order='["openai", "anthropic", "gemini"]'), encoding="utf-8"
        )
        good = root / "good-templates.json"
        good.write_text(templates_doc([GOOD_TEMPLATE]), encoding="utf-8")
        tasks = write_tasks(root / "stock.jsonl", [{"id": "s", "task": "function that sorts names"}])
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            assert main(["generate", "function that reverses a string", "--json"]) == 0
            assert main(["config", "set", "generation.max_tokens", "512", "--project", "keep"]) == 0
            assert main(["templates", "import", str(good)]) == 0
            assert main(["batch", str(tasks)]) == 0
    return root


@pytest.fixture
def stocked(configured, golden_home):
    """This test's home, a copy of the golden one."""
    import shutil

    shutil.copytree(golden_home / "config", configured.config_dir, dirs_exist_ok=True)
    shutil.copytree(golden_home / "data", configured.data_dir, dirs_exist_ok=True)
    state = snapshot(configured)
    assert state["db"]["ledger_entry"] and state["db"]["template"] and state["db"]["cache_entry"]
    assert any(k.startswith("batches/") for k in state["data"])
    return configured


def rejected(capsys, home, *args: str, needle: str | tuple[str, ...], code: int = 2, fake=None) -> str:
    """Run a command that must be refused; check the one line, the code and that nothing changed."""
    before = snapshot(home)
    requests = fake.count() if fake is not None else None
    rc, out, err = run_main(capsys, *args)
    line = one_line(err)
    assert rc == code, (rc, line)
    assert any(n in line for n in ((needle,) if isinstance(needle, str) else needle)), line
    assert snapshot(home) == before, "stored state changed"
    if fake is not None:
        assert fake.count() == requests, "a provider was called"
    return line


# -- hostile TOML ---------------------------------------------------------------------------------

TOML_CORPUS: dict[str, tuple[str | bytes, str | tuple[str, ...]]] = {
    "bad syntax: table": ("[generation\nmax_tokens = 5\n", "invalid TOML"),
    "bad syntax: value": ("[generation]\nmax_tokens = = 5\n", "invalid TOML"),
    "bad syntax: unterminated": ('[generation]\nlanguage = "python\n', "invalid TOML"),
    "wrong type: string for int": ('[generation]\nmax_tokens = "many"\n', "generation.max_tokens"),
    "wrong type: list for bool": ("[cache]\nenabled = [1, 2]\n", "cache.enabled"),
    "wrong type: table for string": ("[validation.block_severity]\nfirst = 1\n", "validation.block_severity"),
    "unknown key": ("[generation]\nmax_tokenz = 5\n", "did you mean generation.max_tokens"),
    "unknown table": ("[generatoin]\nmax_tokens = 5\n", "unknown key"),
    "huge integer": ("[generation]\nmax_tokens = 99999999999999999999999999999\n", "less than or equal to 200000"),
    "huge float": ("[generation]\ntemperature = 1e999\n", "generation.temperature"),
    "nan": ("[generation]\ntemperature = nan\n", "generation.temperature"),
    "negative budget": ("[budget.project]\nlimit_usd = -5\n", "budget.project.limit_usd"),
    "deep arrays": ("x = " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    "deep inline tables": ("x = " + "{a = " * 3_000 + "1" + "}" * 3_000 + "\n", "nested too deeply"),
    "deep dotted tables": ("[" + ".".join(["a"] * 5_000) + "]\n", ("unknown key", "nested too deeply")),
    "2 MB file": ("# " + "x" * 2_100_000 + "\n", "larger than 1000 kB"),
    "not UTF-8": (b'[generation]\nlanguage = "caf\xe9"\n', "not valid UTF-8"),
    "NUL byte": (b'[generation]\nlanguage = "a\x00b"\n', "invalid TOML"),
    "control character": ('[generation]\nlanguage = "a\x07b"\n', "invalid TOML"),
    "byte order mark": (b"\xef\xbb\xbf[generation]\nmax_tokens = 5\n", "invalid TOML"),
}
PROJECT_ONLY: dict[str, tuple[str | bytes, str | tuple[str, ...]]] = {
    "system-only key": ("[budget.system]\nlimit_usd = 1000\n", "can only be set in system settings"),
    "a key where a variable name goes": (
        '[providers.extra]\nmodel = "openai/gpt-4o-mini"\napi_key_env = "sk-live-0123456789abcdefghij"\n',
        ("NAME of an environment variable", "looks like a secret"),
    ),
    "agents not a table": ("agents = 5\n", "agents must be a table"),
}


def _bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


@pytest.mark.parametrize("case", sorted(TOML_CORPUS))
def test_hostile_user_settings_file(stocked, fake, capsys, tmp_path, case) -> None:
    data, needle = TOML_CORPUS[case]
    tasks = write_tasks(tmp_path / "t.jsonl", [{"id": "a", "task": "function that parses a date"}])
    good = stocked.user_settings.read_bytes()
    hostile = _bytes(data) + b"\n" + good  # fragment first: line numbers point into it
    stocked.user_settings.write_bytes(hostile)
    try:
        for args in (
            ["generate", "function that parses a date"],
            ["config", "show"],
            ["budget", "--json"],
            ["batch", str(tasks)],
        ):
            line = rejected(capsys, stocked, *args, needle=needle, fake=fake)
            assert str(stocked.user_settings) in line
        assert stocked.user_settings.read_bytes() == hostile, "Templar rewrote a hand-edited file"
    finally:
        stocked.user_settings.write_bytes(good)


@pytest.mark.parametrize("case", sorted(TOML_CORPUS | PROJECT_ONLY))
def test_hostile_project_file(stocked, fake, capsys, case) -> None:
    data, needle = (TOML_CORPUS | PROJECT_ONLY)[case]
    file = stocked.project_file("hostile")
    file.write_bytes(_bytes(data))
    for args in (
        ["generate", "function that parses a date", "--project", "hostile"],
        ["config", "show", "--project", "hostile"],
        ["budget", "--project", "hostile"],
        ["config", "set", "cache.ttl_s", "100", "--project", "hostile"],
    ):
        line = rejected(capsys, stocked, *args, needle=needle, fake=fake)
        assert str(file) in line
    assert file.read_bytes() == _bytes(data)


@pytest.mark.parametrize("case", sorted(TOML_CORPUS | PROJECT_ONLY))
def test_hostile_config_import_writes_nothing(stocked, capsys, tmp_path, case) -> None:
    data, needle = (TOML_CORPUS | PROJECT_ONLY)[case]
    payload = _bytes(data) + b"\n" + EXPORT_HEADER.encode()  # fragment first: root keys stay at the root
    file = tmp_path / "hostile-export.toml"
    file.write_bytes(payload)
    for project in ([], ["--project", "keep"]):
        rejected(capsys, stocked, "config", "import", str(file), *project, needle=needle)
    assert not stocked.project_file("imported").exists()


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ("", "missing [templar_export] table"),
        ("[chain]\nattempts = 3\n", "missing [templar_export] table"),
        (EXPORT_HEADER.replace("format = 1", "format = 2"), "unsupported export format 2"),
        (EXPORT_HEADER.replace("project-config", "templates"), "unsupported export format"),
        (EXPORT_HEADER.replace('"imported"', '"../../etc"'), "invalid project name"),
        (EXPORT_HEADER.replace('project = "imported"\n', ""), "no project name"),
    ],
)
def test_malformed_config_exports(stocked, capsys, tmp_path, payload, needle) -> None:
    file = tmp_path / "export.toml"
    file.write_text(payload, encoding="utf-8")
    rejected(capsys, stocked, "config", "import", str(file), needle=needle)


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("generation.max_tokenz", "5", "unknown key"),
        ("generation.max_tokens", "99999999999999999999999", "less than or equal to 200000"),
        ("generation.max_tokens", "1e400", "finite number"),
        ("generation.temperature", "nan", "generation.temperature"),
        ("chain.order", '"openai"', "valid list"),
        ("generation.max_tokens", "1\udcff", "not a TOML value"),  # non-UTF-8 byte in an argument
        ("providers.openai.api_key_env", '"sk-live-0123456789abcdefghij"', "NAME of an environment variable"),
        ("budget.system.limit_usd", "1000", "system"),
        ("a..b", "1", "not a valid key"),
        pytest.param("chain.order", "[" * 5_000 + "]" * 5_000, ("nested too deeply", "valid list"), id="deep-value"),
        pytest.param("prompts.system", '"' + "word " * 240_000 + '"', "1000 kB", id="value-too-big-to-read-back"),
    ],
)
def test_hostile_config_set_writes_nothing(stocked, capsys, key, value, needle) -> None:
    rejected(capsys, stocked, "config", "set", key, value, "--project", "keep", needle=needle)
    rejected(capsys, stocked, "config", "set", key, value, "--project", "fresh", needle=needle)
    assert not stocked.project_file("fresh").exists()


# -- tasks ----------------------------------------------------------------------------------------


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("task", "stdin", "needle"),
    [
        ("x" * 1_000_000, None, "the task is 1,000,000 characters; the limit is 20,000"),
        ("-", b"y" * 1_000_000, "the task is 1,000,000 characters"),
        ("", None, "the task is empty"),
        ("   \t\n  ", None, "the task is empty"),
        ("-", b"", "the task is empty"),
        ("-", b"  \n\t\n", "the task is empty"),
        ("-", b"function that \xff\xfe parses", "not valid UTF-8"),
        ("-", b"\xc3\x28 invalid continuation", "not valid UTF-8"),
        ("nul\x00byte", None, "control characters"),
        ("bell\x07", None, "control characters"),
        ("ansi \x1b[31mred\x1b[0m", None, "control characters"),
        ("delete\x7f", None, "control characters"),
        ("-", b"form\x0cfeed", "control characters"),
        pytest.param("lone surrogate \udcff from a non-UTF-8 argv", None, "not valid UTF-8", id="non-utf8-argv"),
    ],
)
def test_bad_tasks_are_refused_before_any_work(stocked, fake, capsys, monkeypatch, task, stdin, needle) -> None:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
    rejected(capsys, stocked, "generate", task, needle=needle, fake=fake)
    if stdin is None:
        rejected(capsys, stocked, "generate", task, "--json", "--project", "keep", needle=needle, fake=fake)


def test_task_with_a_control_character_in_a_batch_file_is_one_reported_line(stocked, fake, capsys, tmp_path) -> None:
    file = write_tasks(
        tmp_path / "ctl.jsonl", [{"id": "a", "task": "esc \x1b[2J clear"}, b'{"id": "b", "task": "\xff"}']
    )
    before = snapshot(stocked)
    code, out, err = run_main(capsys, "batch", str(file))
    assert code == 2 and "Traceback" not in err
    assert f"{file}:1: the task contains control characters" in err and f"{file}:2: not valid UTF-8" in err
    after = snapshot(stocked)
    assert after["db"] == before["db"] and after["config"] == before["config"]


# -- template import files -----------------------------------------------------------------------

TEMPLATE_CORPUS: list[Any] = [
    ("not JSON", "{not json", "not valid JSON"),
    ("empty file", "", "not valid JSON"),
    ("a list", "[]", "not a Templar templates export"),
    ("not UTF-8", b"\xff\xfe{}", "not UTF-8"),
    ("wrong format", json.dumps({"format": "x", "version": 1, "templates": []}), "not a Templar templates export"),
    (
        "wrong version",
        json.dumps({"format": "templar-templates", "version": 9, "templates": []}),
        "unsupported export version 9",
    ),
    ("templates not a list", templates_doc({}), "'templates' must be a list"),
    ("item not an object", templates_doc([5]), "template 1: not an object"),
    ("missing fields", templates_doc([{"name": "x"}]), "template 1: malformed"),
    (
        "unknown parameter type",
        templates_doc([{**GOOD_TEMPLATE, "params": [{"name": "name", "type": "nosuchtype", "value": "X"}]}]),
        "template 1",
    ),
    (
        "body that escapes the sandbox",
        templates_doc([{**GOOD_TEMPLATE, "body": "{{ ''.__class__.__mro__ }}\n"}]),
        "template 1",
    ),
    ("code that does not compile", templates_doc([{**GOOD_TEMPLATE, "code": "x = (\n"}]), "template 1"),
    (
        "insecure code",
        templates_doc(
            [
                {
                    **GOOD_TEMPLATE,
                    "body": "import os\nos.system({{ name|repr }})\n",
                    "code": "import os\nos.system('MAX_RETRIES')\n",
                }
            ]
        ),
        "template 1",
    ),
    (
        "one good, one bad: nothing imported",
        templates_doc([GOOD_TEMPLATE, {**GOOD_TEMPLATE, "code": "x = (\n"}]),
        "template 2",
    ),
    pytest.param("params not a list", templates_doc([{**GOOD_TEMPLATE, "params": "zzz"}]), "template 1"),
    pytest.param("deep nesting", '{"templates": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
    pytest.param("huge version", templates_doc([{**GOOD_TEMPLATE, "version": 10**30}]), "template 1"),
    pytest.param("NaN saving", templates_doc([{**GOOD_TEMPLATE, "counterfactual_usd": float("nan")}]), "template 1"),
    pytest.param("version not a number", templates_doc([{**GOOD_TEMPLATE, "version": "abc"}]), "template 1"),
]


@pytest.mark.parametrize(
    ("name", "payload", "needle"),
    TEMPLATE_CORPUS,
    ids=[c.values[0] if hasattr(c, "marks") else c[0] for c in TEMPLATE_CORPUS],
)
def test_malformed_template_imports_import_nothing(stocked, capsys, tmp_path, name, payload, needle) -> None:
    file = tmp_path / "templates.json"
    file.write_bytes(_bytes(payload))
    line = rejected(capsys, stocked, "templates", "import", str(file), needle=needle)
    assert str(file) in line


def test_validate_refuses_a_non_utf8_file(stocked, capsys, tmp_path) -> None:
    file = tmp_path / "bad.py"
    file.write_bytes(b"x = '\xff'\n")
    rejected(capsys, stocked, "validate", str(file), needle="not valid UTF-8")


def test_generate_output_into_a_missing_directory_is_refused_before_paying(stocked, fake, capsys, tmp_path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "out.py"
    rejected(
        capsys, stocked, "generate", "function that parses a date", "-o", str(target), needle=str(target), fake=fake
    )


def test_template_id_out_of_range_is_not_found(stocked, capsys) -> None:
    rejected(capsys, stocked, "templates", "show", "99999999999999999999999", needle="no template")


# -- invalid arguments ----------------------------------------------------------------------------

BAD_ARGS = [
    ["nosuchcommand"],
    ["generate"],
    ["generate", "x", "--no-such-flag"],
    ["generate", "x", "--max-tokens", "many"],
    ["generate", "x", "--max-tokens", "0"],
    ["generate", "x", "--project", "../etc"],
    ["templates", "show", "abc"],
    ["stats", "--by", "colour"],
    ["stats", "--since", "yesterday-ish"],
    ["config", "set", "generation.max_tokens"],
    ["config", "explain", "chain.order", "--agent", "a"],
    ["batch"],
    ["batch", "tasks.jsonl", "--concurrency", "many"],
    ["budget", "--project", "x" * 100],
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=[" ".join(a)[:40] for a in BAD_ARGS])
def test_invalid_arguments_are_exit_2_without_a_traceback(stocked, fake, capsys, args) -> None:
    before = snapshot(stocked)
    code, out, err = run_main(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    errors = [line for line in err.splitlines() if "error" in line or line.startswith("templar:")]
    assert len(errors) == 1, err
    assert snapshot(stocked) == before


@pytest.mark.parametrize("args", [a for a in BAD_ARGS if a[0] in ("nosuchcommand", "generate") and len(a) <= 4][:4])
def test_argument_errors_are_one_line(stocked, capsys, args) -> None:
    code, out, err = run_main(capsys, *args)
    assert code == 2
    one_line(err)
