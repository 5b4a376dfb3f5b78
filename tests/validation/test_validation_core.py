"""Syntax, coverage, policy, score, report serialization, async/threads, no execution, imports."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.validation import (
    CodeValidator,
    Finding,
    ValidationPolicy,
    ValidationReport,
    validate_async,
)

REPO = Path(__file__).resolve().parents[2]

CLEAN = textwrap.dedent(
    '''\
    """Small arithmetic helpers."""


    def add(a: int, b: int) -> int:
        """Return the sum of a and b."""
        return a + b
    '''
)
UNDOCUMENTED = "def add(a: int, b: int) -> int:\n    return a + b\n"
DANGEROUS = '"""Calculator."""\n\n\ndef calc(expr: str) -> int:\n    """Evaluate."""\n    return eval(expr)\n'


@pytest.fixture(scope="module")
def validator() -> CodeValidator:
    v = CodeValidator()
    v.warm_up()
    return v


# --- syntax ----------------------------------------------------------------------------------


def test_syntax_error_blocks_with_line_and_skips_other_checkers(validator):
    report = validator.validate("def f(x):\n    return x +\n\nprint(f(1))\n")
    assert not report.ok
    assert report.score == 0
    (finding,) = report.findings
    assert finding == report.blocking[0]
    assert (finding.rule_id, finding.checker, finding.severity, finding.line) == (
        "syntax",
        "syntax",
        "high",
        2,
    )
    assert "SyntaxError" in finding.message
    assert len(report.checkers) == 1 and report.checkers[0].startswith("syntax:compile ")


def test_indentation_error_and_compile_stage_errors_have_lines(validator):
    report = validator.validate("def f():\nreturn 1\n")
    assert report.blocking[0].line == 2
    # 'return' outside a function is caught by the compiler, not the parser.
    report = validator.validate("x = 1\nreturn x\n")
    assert not report.ok and report.blocking[0].line == 2


def test_null_bytes_are_a_syntax_finding(validator):
    report = validator.validate("x = 1\x00\n")
    assert not report.ok and report.findings[0].rule_id == "syntax"


def test_syntax_warnings_are_low_findings(validator, capfd):
    report = validator.validate('import re\npattern = re.compile("\\d+")\nif pattern is 1:\n    pass\n')
    assert report.ok
    warnings_found = [f for f in report.findings if f.rule_id == "syntax-warning"]
    assert {f.line for f in warnings_found} == {2, 3}
    assert all(f.severity == "low" and not f.blocking for f in warnings_found)
    assert capfd.readouterr().err == ""


# --- coverage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = 1\n", 1.0),
        ("", 1.0),
        ("def f(a: int) -> int:\n    return a\n\ndef g(a):\n    return a\n", 0.5),
        ("def f(a: int):\n    return a\n", 0.0),  # return missing
        ("def f() -> None:\n    pass\n", 1.0),
        ("async def f(a: int, *args: int, **kw: str) -> None:\n    pass\n", 1.0),
        ("def f(a: int, *args, **kw: str) -> None:\n    pass\n", 0.0),
        ("def f(*, key: str, other) -> None:\n    pass\n", 0.0),
        ("def f(a: int, /, b: int) -> None:\n    pass\n", 1.0),
        # self / cls exempt, staticmethod first parameter is not
        (
            (
                "class A:\n"
                "    def m(self, x: int) -> int:\n        return x\n"
                "    @classmethod\n    def c(cls) -> int:\n        return 1\n"
                "    @staticmethod\n    def s(x) -> int:\n        return x\n"
            ),
            2 / 3,
        ),
        # __init__: mypy convention (no '-> None' needed when an argument is annotated)
        ("class A:\n    def __init__(self, x: int):\n        self.x = x\n", 1.0),
        ("class A:\n    def __init__(self):\n        self.x = 1\n", 0.0),
        # nested functions count
        (
            "def outer(a: int) -> int:\n    def inner(b):\n        return b\n    return inner(a)\n",
            0.5,
        ),
        # lambdas do not count
        ("square = lambda x: x * x\n", 1.0),
    ],
)
def test_type_hint_coverage_exact(validator, code, expected):
    report = validator.validate(code)
    assert report.type_hint_coverage == pytest.approx(expected)
    missing = [f for f in report.findings if f.checker == "types"]
    assert bool(missing) == (expected < 1.0)
    assert all(f.severity == "low" and not f.blocking and f.rule_id.startswith("ANN") for f in missing)


def test_type_findings_use_ruff_style_ids(validator):
    code = (
        "def pub(a, *args, **kw):\n    pass\n"
        "def _priv(x: int):\n    pass\n"
        "class A:\n    def __eq__(self, other: object):\n        return True\n"
        "def outer() -> None:\n    def inner() -> None:\n        pass\n    def nested():\n        pass\n"
    )
    ids = sorted((f.rule_id, f.line) for f in validator.validate(code).findings if f.checker == "types")
    assert ids == [
        ("ANN001", 1),
        ("ANN002", 1),
        ("ANN003", 1),
        ("ANN201", 1),
        ("ANN202", 3),
        ("ANN202", 11),
        ("ANN204", 6),
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", 1.0),
        ("x = 1\n", 0.0),  # the module itself is the one public item
        ('"""Module."""\nx = 1\n', 1.0),
        ('"""Module."""\n\ndef f():\n    """Doc."""\n\ndef g():\n    pass\n', 2 / 3),
        ('"""Module."""\n\ndef _private():\n    pass\n', 1.0),
        ('"""Module."""\n\ndef f():\n    """   """\n', 0.5),  # blank docstring counts as missing
        (
            (
                '"""M."""\nclass A:\n    """A."""\n    def __init__(self):\n        pass\n'
                "    def __repr__(self):\n        return ''\n    def m(self):\n        pass\n"
                "    def _h(self):\n        pass\n"
            ),
            2 / 3,  # module, A documented; m missing; dunders and _h not public
        ),
        ('"""M."""\nclass _Hidden:\n    def m(self):\n        pass\n', 1.0),
        (
            '"""M."""\ndef f():\n    """F."""\n    def inner():\n        pass\n    class Local:\n        pass\n',
            1.0,
        ),
        ('"""M."""\nclass A:\n    """A."""\n    class Inner:\n        pass\n', 2 / 3),
        ('"""M."""\nif True:\n    def f():\n        pass\n', 0.5),
    ],
)
def test_docstring_coverage_exact(validator, code, expected):
    report = validator.validate(code)
    assert report.docstring_coverage == pytest.approx(expected)
    missing = [f for f in report.findings if f.checker == "docs"]
    assert bool(missing) == (expected < 1.0)
    assert all(f.severity == "low" and not f.blocking and f.rule_id.startswith("D") for f in missing)


def test_doc_findings_use_pydocstyle_ids(validator):
    code = "class A:\n    class B:\n        pass\n    def m(self):\n        pass\n\ndef f():\n    pass\n"
    ids = sorted((f.rule_id, f.line) for f in validator.validate(code).findings if f.checker == "docs")
    assert ids == [("D100", 1), ("D101", 1), ("D102", 4), ("D103", 7), ("D106", 2)]


# --- policy ----------------------------------------------------------------------------------

HALF_ANNOTATED = (
    '"""M."""\n\ndef f(a: int) -> int:\n    """F."""\n    return a\n\ndef g(a):\n    """G."""\n    return a\n'
)


def test_coverage_blocks_below_minimum():
    report = CodeValidator(ValidationPolicy(min_type_hint_coverage=0.8, coverage_blocks=True)).validate(HALF_ANNOTATED)
    assert not report.ok
    assert report.type_hint_coverage == 0.5
    rule_ids = {f.rule_id for f in report.blocking}
    assert rule_ids == {"coverage-types", "ANN001", "ANN201"}
    assert all(f.checker == "types" for f in report.blocking)
    assert report.score < 50


def test_coverage_below_minimum_only_lowers_score_when_not_blocking():
    base = CodeValidator().validate(HALF_ANNOTATED)
    report = CodeValidator(ValidationPolicy(min_type_hint_coverage=0.8)).validate(HALF_ANNOTATED)
    assert report.ok and base.ok
    summary = [f for f in report.findings if f.rule_id == "coverage-types"]
    assert len(summary) == 1 and not summary[0].blocking and "50%" in summary[0].message
    assert report.score < base.score
    # exactly: raw 100 - 10, times (0.8 + 0.1 * 0.5 + 0.1 * 1.0)
    assert base.score == 95 and report.score == 86


def test_coverage_at_minimum_does_not_block():
    policy = ValidationPolicy(min_type_hint_coverage=0.5, min_docstring_coverage=1.0, coverage_blocks=True)
    report = CodeValidator(policy).validate(HALF_ANNOTATED)
    assert report.ok


def test_docstring_coverage_blocks_below_minimum():
    policy = ValidationPolicy(min_docstring_coverage=0.9, coverage_blocks=True)
    report = CodeValidator(policy).validate(UNDOCUMENTED)
    assert not report.ok
    assert {f.rule_id for f in report.blocking} == {"coverage-docs", "D100", "D103"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"block_severity": "critical"},
        {"block_severity": 3},
        {"min_type_hint_coverage": 1.5},
        {"min_docstring_coverage": -0.1},
        {"min_docstring_coverage": float("nan")},
        {"min_type_hint_coverage": "0.5"},
        {"coverage_blocks": "yes"},
        {"severity_overrides": (("B101", "severe"),)},
        {"severity_overrides": ("B101",)},
    ],
)
def test_policy_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        ValidationPolicy(**kwargs)


def test_policy_normalizes():
    policy = ValidationPolicy(block_severity="HIGH", min_type_hint_coverage=1, severity_overrides={"b101": "Medium"})
    assert policy.block_severity == "high"
    assert policy.min_type_hint_coverage == 1.0
    assert policy.severity_overrides == (("B101", "medium"),)
    assert hash(policy) == hash(
        ValidationPolicy(
            block_severity="high",
            min_type_hint_coverage=1.0,
            severity_overrides=(("B101", "medium"),),
        )
    )


# --- score -----------------------------------------------------------------------------------


def test_score_ordering_and_bounds(validator):
    clean = validator.validate(CLEAN)
    undocumented = validator.validate(UNDOCUMENTED)
    unannotated = validator.validate("def add(a, b):\n    return a + b\n")
    dangerous = validator.validate(DANGEROUS)
    assert clean.ok and undocumented.ok and unannotated.ok and not dangerous.ok
    assert clean.score == 100
    assert undocumented.score == 90
    assert unannotated.score == 80
    assert dangerous.score < 50
    assert clean.score > undocumented.score > unannotated.score > dangerous.score
    # a documented function without a module docstring still scores >= 90
    assert validator.validate('def add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n').score == 95


def test_score_is_deterministic(validator):
    scores = {validator.validate(DANGEROUS).score for _ in range(5)}
    assert len(scores) == 1


def test_low_security_findings_cost_two_points_each(validator):
    code = '"""M."""\n\n\ndef f(x: int) -> int:\n    """F."""\n    assert x\n    assert x > 1\n    return x\n'
    report = validator.validate(code)
    assert [f.rule_id for f in report.findings] == ["B101", "B101"]
    assert report.score == 96


# --- report ----------------------------------------------------------------------------------


def test_report_to_dict_is_json_safe_and_round_trips(validator):
    report = validator.validate(DANGEROUS + "\ndef g(a):\n    return a\n")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and isinstance(data["findings"], list) and isinstance(data["checkers"], list)
    assert set(data) == {
        "ok",
        "score",
        "findings",
        "type_hint_coverage",
        "docstring_coverage",
        "checkers",
    }
    assert ValidationReport.from_dict(data) == report
    assert report.blocking == tuple(f for f in report.findings if f.blocking)
    assert all(isinstance(f, Finding) for f in report.findings)


def test_checkers_name_tools_and_versions(validator):
    import bandit

    report = validator.validate(CLEAN)
    assert report.checkers[0].startswith("syntax:compile 3.")
    assert f"security:bandit {bandit.__version__}" in report.checkers
    assert any(c.startswith("types:ast") for c in report.checkers)
    assert any(c.startswith("docs:ast") for c in report.checkers)


def test_findings_are_sorted_by_line(validator):
    report = validator.validate("import os\n\ndef f(a):\n    os.system(a)\n\ndef g(b):\n    return eval(b)\n")
    lines = [f.line or 0 for f in report.findings]
    assert lines == sorted(lines)


# --- never executes --------------------------------------------------------------------------


def test_validation_never_executes_code(validator, tmp_path, capfd):
    marker = tmp_path / "SOME_MARKER"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    snippets = [
        f"open({str(marker)!r}, 'w').write('x')\n",
        f"import os\nos.remove({str(victim)!r})\n",
        f"from pathlib import Path\nPath({str(marker)!r}).touch()\nprint('ran')\n",
        f"__import__('os').remove({str(victim)!r})\n",
        "import sys\nsys.exit(3)\n",
        "raise SystemExit(1)\n",
        "import os\nos._exit(1)\n",
        "while True:\n    pass\n",
        "import time\ntime.sleep(30)\n",
        f"def f(p={str(marker)!r}):\n    return p\nopen(f(), 'w').close()\n",
    ]
    started = time.perf_counter()
    for code in snippets:
        validator.validate(code)
    assert time.perf_counter() - started < 5
    assert not marker.exists()
    assert victim.read_text() == "keep me"
    assert "ran" not in capfd.readouterr().out


# --- async and threads -----------------------------------------------------------------------


async def test_validate_async_matches_validate(validator):
    expected = validator.validate(DANGEROUS)
    assert await validator.validate_async(DANGEROUS) == expected
    assert await validate_async(DANGEROUS) == expected
    lenient = await validate_async(DANGEROUS, policy=ValidationPolicy(block_severity="high"))
    assert lenient.ok


async def test_validate_async_runs_concurrently_off_the_loop(validator):
    codes = [CLEAN, UNDOCUMENTED, DANGEROUS, "x = (\n"] * 5
    reports = await asyncio.gather(*(validator.validate_async(c) for c in codes))
    assert [r.ok for r in reports] == [True, True, False, False] * 5


def test_thread_safe(validator):
    codes = [CLEAN, DANGEROUS, 'x = "\\d"\n', "def f(:\n"] * 10
    expected = [validator.validate(c) for c in codes]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(validator.validate, codes))
    assert got == expected


# --- imports and speed -----------------------------------------------------------------------


def test_import_is_light():
    probe = (
        "import sys\n"
        "import engine.validation\n"
        "heavy = sorted(m for m in ('litellm', 'textual', 'bandit', 'ruff', 'peewee', 'asyncio') if m in sys.modules)\n"
        "v = engine.validation.CodeValidator()\n"
        "r = v.validate('x = eval(input())\\n')\n"
        "after = sorted(m for m in ('litellm', 'textual') if m in sys.modules)\n"
        "print(heavy, after, r.ok)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "[] [] False", out.stderr
    assert out.stderr == ""


def test_validate_200_lines(validator):
    """A 200-line file validates fully (its speed is a bench figure: bench/validation_scores.py;
    house rule: no wall-time asserts, this machine is shared)."""
    code = "\n\n".join(
        textwrap.dedent(
            f'''\
            def func_{i}(values: list[int], factor: int = {i}) -> list[int]:
                """Scale values by factor {i}."""
                result = []
                for value in values:
                    if value % 2 == 0:
                        result.append(value * factor)
                    else:
                        result.append(value + factor)
                return result
            '''
        )
        for i in range(20)
    )
    assert code.count("\n") >= 200
    report = validator.validate(code)
    assert report.ok and report.type_hint_coverage == 1.0
    assert "security:ast templar-rules 1" in report.checkers
