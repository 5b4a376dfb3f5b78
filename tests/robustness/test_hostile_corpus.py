"""The hostile input corpus: special files, huge inputs, invisible and control characters,
hostile paths, hostile templates and hostile numbers, each run through the real ``templar``
command as a separate process under a time limit.

Every case must end in its documented exit code (README: 0 ok, 1 store error, 2 bad input,
3 refused by budget), with one clear line on stderr naming the problem: never a traceback,
never "internal error", never a hang (a case that runs past its process timeout fails). The
corpus size and outcome counts are in tests/robustness/README.md; ``test_readme_counts_match``
keeps them honest.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.robustness.conftest import templar, write_tasks

README = Path(__file__).with_name("README.md")
PROCESS_TIMEOUT_S = 60  # a case still running after this is a hang
BUILTIN_TASK = "enum Color with members red, green, blue"
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
BIG = "9" * 5000  # more digits than Python converts by default (4300)


@dataclass
class Home:
    """What a case can set up: the Templar home, a scratch dir, extra environment."""

    root: Path
    scratch: Path
    env: dict[str, str] = field(default_factory=dict)
    devices: list[Path] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def data(self) -> Path:
        return self.root / "data"


@dataclass(frozen=True)
class Case:
    name: str
    klass: str
    argv: Callable[[Home], list[str]]
    code: int
    needle: str
    setup: Callable[[Home], Any] = lambda home: None


# -- setup helpers --------------------------------------------------------------------------------


def device(home: Home, name: str, minor: int) -> Path:
    """A character device node of our own in the scratch dir (1,3 = null, 1,7 = full); a case
    aiming at it can only ever damage this copy. Needs root (mknod): skipped otherwise."""
    path = home.scratch / name
    if not path.exists():
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
        except PermissionError:
            pytest.skip("making a device node needs root")
        home.devices.append(path)
    return path


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def link(path: Path, target: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def sparse(path: Path, size: int = 3_000_000_000) -> Path:
    """A file that claims several GB (sparse: it takes no disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def input_file_cases(
    label: str, command: list[str], name: str, *, device: str = "/dev/zero", huge: bool = True
) -> list[Case]:
    """A command that reads a file the user names, given a FIFO, a device, and (``huge``) a file
    that claims 3 GB: each refused with exit 2 and a reason, never read."""
    cases = [
        Case(
            f"{label} from a FIFO",
            "special file",
            lambda h: [*command, str(h.scratch / name)],
            2,
            "FIFO",
            lambda h: fifo(h.scratch / name),
        ),
        Case(f"{label} from {device}", "special file", lambda h: [*command, device], 2, "a device"),
    ]
    if huge:
        cases.append(
            Case(
                f"{label} from a file that claims 3 GB",
                "huge input",
                lambda h: [*command, str(h.scratch / name)],
                2,
                "larger than",
                lambda h: sparse(h.scratch / name),
            )
        )
    return cases


def templates_file(path: Path, **changes: Any) -> Path:
    path.write_text(
        json.dumps({"format": "templar-templates", "version": 1, "templates": [{**GOOD_TEMPLATE, **changes}]}),
        encoding="utf-8",
    )
    return path


def project(home: Home, name: str = "p", text: str = "[generation]\nmax_tokens = 500\n") -> None:
    (home.config / "projects").mkdir(parents=True, exist_ok=True)
    (home.config / "projects" / f"{name}.toml").write_text(text, encoding="utf-8")


def user_settings_extra(home: Home, text: str) -> None:
    with (home.config / "settings.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)


def future_schema(home: Home) -> None:
    import sqlite3

    assert templar("templates", "list", env=home.env).code == 0  # creates and migrates the store
    con = sqlite3.connect(home.data / "templar.db")
    con.execute("INSERT INTO schema_migration (name, applied) VALUES ('9999_from_the_future', CURRENT_TIMESTAMP)")
    con.commit()
    con.close()


def hostile_body(body: str) -> Callable[[Home], list[str]]:
    return lambda h: ["templates", "import", str(templates_file(h.scratch / "t.json", body=body))]


def named(name: str) -> Callable[[Home], list[str]]:
    return lambda h: ["templates", "import", str(templates_file(h.scratch / "t.json", name=name))]


def batch_lines(*lines: str) -> Callable[[Home], list[str]]:
    return lambda h: ["batch", str(write_tasks(h.scratch / "tasks.jsonl", list(lines))), "--json"]


def settings_file(h: Home) -> Path:
    return h.config / "settings.toml"


def replace_settings(make: Callable[[Path], Any]) -> Callable[[Home], Any]:
    def setup(h: Home) -> None:
        settings_file(h).unlink()
        make(settings_file(h))

    return setup


# -- the corpus -----------------------------------------------------------------------------------

GOOD_LINE = json.dumps({"id": "good", "task": BUILTIN_TASK})

CORPUS: list[Case] = [
    # special files: never opened for long, never read without bound
    Case("settings file is a FIFO", "special file", lambda h: ["config", "show"], 2, "FIFO", replace_settings(fifo)),
    Case(
        "settings file is /dev/zero",
        "special file",
        lambda h: ["generate", BUILTIN_TASK],
        2,
        "a device",
        replace_settings(lambda p: link(p, "/dev/zero")),
    ),
    Case(
        "settings file is /dev/urandom",
        "special file",
        lambda h: ["config", "show"],
        2,
        "a device",
        replace_settings(lambda p: link(p, "/dev/urandom")),
    ),
    Case(
        "settings file is a directory",
        "special file",
        lambda h: ["config", "show"],
        2,
        "a directory",
        replace_settings(lambda p: p.mkdir()),
    ),
    Case(
        "settings file claims 3 GB",
        "huge input",
        lambda h: ["config", "show"],
        2,
        "larger than 1000 kB",
        replace_settings(sparse),
    ),
    Case(
        "project file is a FIFO",
        "special file",
        lambda h: ["config", "show", "--project", "p"],
        2,
        "FIFO",
        lambda h: fifo(h.config / "projects" / "p.toml"),
    ),
    *input_file_cases("config import", ["config", "import"], "in.toml", huge=False),
    *input_file_cases("templates import", ["templates", "import"], "t.json"),
    *input_file_cases("batch", ["batch"], "b.jsonl"),
    *input_file_cases("validate", ["validate"], "c.py", device="/dev/urandom", huge=False),
    # paths
    Case(
        "TEMPLAR_HOME is a file",
        "path",
        lambda h: ["generate", BUILTIN_TASK],
        2,
        "is not a directory",
        lambda h: (h.scratch / "afile").write_text("x") and h.env.update(TEMPLAR_HOME=str(h.scratch / "afile")),
    ),
    Case(
        "TEMPLAR_HOME/data is a file",
        "path",
        lambda h: ["generate", BUILTIN_TASK],
        2,
        "needs a directory",
        lambda h: h.data.rmdir() or h.data.write_text("x"),
    ),
    Case(
        "config export onto a directory",
        "path",
        lambda h: ["config", "export", "--project", "p", str(h.scratch)],
        2,
        "it is a directory",
        project,
    ),
    Case(
        "config export onto a device node",
        "path",
        lambda h: ["config", "export", "--project", "p", str(h.scratch / "null")],
        2,
        "it is a device",
        lambda h: project(h) or device(h, "null", 3),
    ),
    Case(
        "config export into a missing directory",
        "path",
        lambda h: ["config", "export", "--project", "p", str(h.scratch / "no" / "dir" / "x.toml")],
        2,
        "does not exist",
        project,
    ),
    Case(
        "templates export into a missing directory",
        "path",
        lambda h: ["templates", "export", str(h.scratch / "no" / "dir" / "t.json")],
        2,
        "does not exist",
    ),
    Case(
        "templates export onto a directory",
        "path",
        lambda h: ["templates", "export", str(h.scratch)],
        2,
        "it is a directory",
    ),
    Case(
        "templates export onto a device node",
        "path",
        lambda h: ["templates", "export", str(device(h, "null", 3))],
        2,
        "it is a device",
    ),
    Case(
        "generate --output a full device",
        "path",
        lambda h: ["generate", BUILTIN_TASK, "-o", str(device(h, "full", 7))],
        2,
        "it is a device",
    ),
    Case(
        "generate --output a FIFO",
        "path",
        lambda h: ["generate", BUILTIN_TASK, "-o", str(h.scratch / "out.py")],
        2,
        "FIFO",
        lambda h: fifo(h.scratch / "out.py"),
    ),
    Case(
        "store.url under a missing directory",
        "path",
        lambda h: ["generate", BUILTIN_TASK],
        2,
        "does not exist",
        lambda h: h.env.update(TEMPLAR_DATABASE_URL=f"sqlite:///{h.scratch}/no/such/dir/t.db"),
    ),
    Case(
        "store.url relative",
        "path",
        lambda h: ["generate", BUILTIN_TASK],
        2,
        "must be absolute",
        lambda h: h.env.update(TEMPLAR_DATABASE_URL="sqlite:///relative/t.db"),
    ),
    Case(
        "store.url is a directory",
        "path",
        lambda h: ["generate", BUILTIN_TASK],
        2,
        "not a regular file",
        lambda h: h.env.update(TEMPLAR_DATABASE_URL=f"sqlite:///{h.scratch}"),
    ),
    Case("template name with ../", "path", named("../../etc/passwd"), 2, "looks like a path"),
    Case("template name with a backslash", "path", named("..\\windows\\x"), 2, "looks like a path"),
    Case(
        "api_key_env = PATH",
        "path",
        lambda h: ["config", "show"],
        2,
        "PATH is a system variable",
        lambda h: user_settings_extra(h, '[providers.local]\nmodel = "openai/x"\napi_key_env = "PATH"\n'),
    ),
    Case(
        "api_key_env = LD_PRELOAD by config set",
        "path",
        lambda h: ["config", "set", "providers.openai.api_key_env", '"LD_PRELOAD"', "--project", "p"],
        2,
        "LD_PRELOAD is a system variable",
    ),
    Case(
        "api_key_env = TEMPLAR_HOME in a project",
        "path",
        lambda h: ["config", "show", "--project", "p"],
        2,
        "TEMPLAR_HOME is a system variable",
        lambda h: project(h, "p", '[providers.openai]\nmodel = "openai/gpt-4o-mini"\napi_key_env = "TEMPLAR_HOME"\n'),
    ),
    Case(
        "schema version from the future",
        "path",
        lambda h: ["generate", BUILTIN_TASK],
        1,
        "written by a newer Templar",
        future_schema,
    ),
    # invisible and control characters
    Case(
        "task of zero-width spaces",
        "invisible",
        lambda h: ["generate", "\u200b\u200c\u200d\u2060\ufeff"],
        2,
        "the task is empty",
    ),
    Case(
        "task of Hangul fillers and braille blanks",
        "invisible",
        lambda h: ["generate", "\u3164\u2800\u115f"],
        2,
        "the task is empty",
    ),
    Case("task of odd spaces", "invisible", lambda h: ["generate", "\u00a0\u3000\u2003\u202f"], 2, "the task is empty"),
    Case(
        "task of combining marks only",
        "invisible",
        lambda h: ["generate", "\u0301\u0308\u20dd"],
        2,
        "the task is empty",
    ),
    Case(
        "task with a bidi override",
        "invisible",
        lambda h: ["generate", "sort names \u202edesc\u202c"],
        2,
        "bidirectional control",
    ),
    Case(
        "batch line of zero-width spaces",
        "invisible",
        batch_lines(json.dumps({"id": "zw", "task": "\u200b\u200b"}), GOOD_LINE),
        2,
        "tasks.jsonl:1",
    ),
    Case("template name with a bidi override", "invisible", named("safe\u202egnp.exe"), 2, "bidi"),
    Case("template name with a terminal escape", "invisible", named("x\x1b[2Jy"), 2, "control"),
    Case("template name of zero-width spaces", "invisible", named("\u200b\u200b"), 2, "the name is empty"),
    # hostile templates: every render has a time limit and size limits
    Case(
        "template with nested huge loops",
        "hostile template",
        hostile_body(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
            '"""Settings."""\n\n{{ name }}: int = {{ value }}\n'
        ),
        2,
        "took longer than",
    ),
    Case(
        "template multiplying a string",
        "hostile template",
        hostile_body("{{ 'x' * 1000000000 }}"),
        2,
        "longer than 1,000,000",
    ),
    Case(
        "template multiplying a list",
        "hostile template",
        hostile_body("{% set l = [0] * 100000000 %}x"),
        2,
        "longer than 1,000,000",
    ),
    Case(
        "template with a huge power",
        "hostile template",
        hostile_body("{{ 9 ** 99999999 }}"),
        2,
        "power in the template is too large",
    ),
    Case("template padding to 1 GB", "hostile template", hostile_body("{{ 'a'.ljust(1000000000) }}"), 2, "too large"),
    Case(
        "template centering to 1 GB", "hostile template", hostile_body("{{ 'a'|center(1000000000) }}"), 2, "too large"
    ),
    Case(
        "template with a huge format width",
        "hostile template",
        hostile_body("{{ '%1000000000d' % 1 }}"),
        2,
        "format width",
    ),
    Case(
        "template with a huge str.format width",
        "hostile template",
        hostile_body("{{ '{:>1000000000}'.format(1) }}"),
        2,
        "format width",
    ),
    Case(
        "template recursing forever",
        "hostile template",
        hostile_body("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}"),
        2,
        "template 1",
    ),
    Case("template asking for lipsum", "hostile template", hostile_body("{{ lipsum(1000000) }}"), 2, "lipsum"),
    Case(
        "template printing 10 MB",
        "hostile template",
        hostile_body("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}"),
        2,
        "exceeds 1000000",
    ),
    # hostile numbers
    Case(
        "batch line with a 5000-digit id",
        "hostile number",
        batch_lines('{"id": ' + BIG + ', "task": "' + BUILTIN_TASK + '"}', GOOD_LINE),
        2,
        "tasks.jsonl:1",
    ),
    Case(
        "batch line with a 5000-digit flag",
        "hostile number",
        batch_lines('{"id": "n", "critical": ' + BIG + ', "task": "x"}', GOOD_LINE),
        2,
        "tasks.jsonl:1",
    ),
    Case(
        "batch line with 1e999",
        "hostile number",
        batch_lines('{"id": 1e999, "task": "x"}', GOOD_LINE),
        2,
        "tasks.jsonl:1",
    ),
    Case(
        "templates import with a 5000-digit version",
        "hostile number",
        lambda h: ["templates", "import", str(h.scratch / "t.json")],
        2,
        "not usable JSON",
        lambda h: (h.scratch / "t.json").write_text(
            '{"format": "templar-templates", "version": ' + BIG + ', "templates": []}'
        ),
    ),
    Case(
        "config set a 5000-digit integer",
        "hostile number",
        lambda h: ["config", "set", "generation.max_tokens", BIG, "--project", "p"],
        2,
        "generation.max_tokens",
    ),
    Case(
        "settings with a 5000-digit integer",
        "hostile number",
        lambda h: ["config", "show"],
        2,
        "settings.toml",
        lambda h: user_settings_extra(h, f"[generation]\nmax_tokens = {BIG}\n"),
    ),
    Case(
        "templates show a 5000-digit id", "hostile number", lambda h: ["templates", "show", BIG], 2, "invalid int value"
    ),
    Case(
        "generate --max-tokens with 5000 digits",
        "hostile number",
        lambda h: ["generate", BUILTIN_TASK, "--max-tokens", BIG],
        2,
        "max-tokens",
    ),
]

DOCUMENTED_CODES = {0, 1, 2, 3, 4, 5}


@pytest.fixture
def home(configured, tmp_path) -> Home:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return Home(configured.config_dir.parent, scratch)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_input_ends_in_its_documented_exit_code(home: Home, case: Case) -> None:
    case.setup(home)
    try:
        run = templar(*case.argv(home), env=home.env, timeout=PROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.name}: still running after {PROCESS_TIMEOUT_S} s (a hang)")
    for node in home.devices:
        assert stat.S_ISCHR(os.stat(node).st_mode), f"{node} is no longer a device node"
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err[-2000:]
    assert run.code == case.code, (run.code, run.err[-2000:])
    assert run.code in DOCUMENTED_CODES
    problems = [
        line for line in run.err.splitlines() if line.startswith("templar") and not line.startswith("templar: note:")
    ]
    if "--json" not in case.argv(home):  # batch --json reports per line in its JSON; the summary is stderr
        assert len(problems) == 1, run.err[-2000:]
        assert case.needle in problems[0], problems[0]
    else:
        assert case.needle in run.err, run.err[-2000:]
    if case.klass == "hostile number" and case.argv(home)[0] == "batch":
        report = run.json()
        assert [e["line"] for e in report["errors"]] == [1], report["errors"]
        ok = {t["id"] for t in report["results"] if t["status"] == "ok"}
        assert ok == {"good"}, "the other line of the batch still ran"


def test_the_machine_devices_are_intact() -> None:
    """The cases aim at device nodes of their own (never /dev/null itself: a regression would
    replace the machine's); the machine's are still character devices."""
    for path in ("/dev/null", "/dev/full", "/dev/zero", "/dev/urandom"):
        assert stat.S_ISCHR(os.stat(path).st_mode), path


def corpus_counts() -> tuple[int, Counter, Counter]:
    return len(CORPUS), Counter(c.klass for c in CORPUS), Counter(c.code for c in CORPUS)


def test_readme_counts_match_the_corpus() -> None:
    """tests/robustness/README.md states the corpus size, cases per class and per exit code."""
    text = README.read_text(encoding="utf-8")
    size, classes, codes = corpus_counts()
    assert re.search(rf"\b{size} cases\b", text), f"README must say '{size} cases'"
    for klass, n in classes.items():
        assert re.search(rf"\|\s*{re.escape(klass)}\s*\|\s*{n}\s*\|", text), f"README row for {klass}: {n}"
    for code, n in codes.items():
        assert re.search(rf"\|\s*exit {code}\s*\|\s*{n}\s*\|", text), f"README row for exit {code}: {n}"
