"""Security checker: Bandit findings, Templar's severity table, blocking policy, failing closed."""

from __future__ import annotations

import pytest

from engine.validation import CodeValidator, ValidationPolicy
from engine.validation import security as sec

# (name, code, bandit test id, line of the finding)
DANGEROUS = [
    ("eval", "def calc(expr):\n    return eval(expr)\n", "B307", 2),
    ("exec", "def run(src):\n    exec(src)\n", "B102", 2),
    (
        "subprocess-shell",
        "import subprocess\n\ndef run(cmd):\n    subprocess.run(cmd, shell=True)\n",
        "B602",
        4,
    ),
    (
        "subprocess-shell-literal",
        "import subprocess\nsubprocess.check_output('ls -l', shell=True)\n",
        "B602",
        2,
    ),
    ("os-system", "import os\n\ndef wipe(path):\n    os.system('rm -rf ' + path)\n", "B605", 4),
    ("os-system-literal", "import os\nos.system('clear')\n", "B605", 2),
    ("os-popen", "import os\nout = os.popen('ls').read()\n", "B605", 2),
    (
        "pickle-loads",
        "import pickle\n\ndef load(blob):\n    return pickle.loads(blob)\n",
        "B301",
        4,
    ),
    ("pickle-from-import", "from pickle import loads\nobj = loads(data)\n", "B301", 2),
    ("yaml-load", "import yaml\n\ndef read(text):\n    return yaml.load(text)\n", "B506", 4),
    ("yaml-unsafe-loader", "import yaml\ndata = yaml.load(text, Loader=yaml.Loader)\n", "B506", 2),
    ("password-assign", 'password = "hunter2"\n', "B105", 1),
    ("password-kwarg", 'conn = connect(user="admin", password="hunter2")\n', "B106", 1),
    ("password-default", 'def login(user, password="hunter2"):\n    return user\n', "B107", 1),
    (
        "sql-percent",
        "def find(cursor, name):\n    cursor.execute(\"SELECT * FROM users WHERE name = '%s'\" % name)\n",
        "B608",
        2,
    ),
    (
        "sql-fstring",
        "def find(cursor, name):\n    cursor.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n",
        "B608",
        2,
    ),
    (
        "sql-format",
        "def find(cursor, name):\n    cursor.execute(\"DELETE FROM users WHERE name = '{}'\".format(name))\n",
        "B608",
        2,
    ),
    (
        "sql-concat",
        'def find(cursor, name):\n    cursor.execute("SELECT * FROM users WHERE name = \'" + name + "\'")\n',
        "B608",
        2,
    ),
    (
        "sql-via-variable",
        "def find(cursor, name):\n    query = \"SELECT * FROM users WHERE name = '%s'\" % name\n    cursor.execute(query)\n",
        "B608",
        2,
    ),
    ("nosec-is-ignored", "value = eval(input())  # nosec\n", "B307", 1),
    ("nosec-with-id-is-ignored", "value = eval(input())  # nosec B307\n", "B307", 1),
]


@pytest.fixture(scope="module")
def validator() -> CodeValidator:
    return CodeValidator()


@pytest.mark.parametrize(("name", "code", "rule_id", "line"), DANGEROUS, ids=[d[0] for d in DANGEROUS])
def test_dangerous_code_is_blocked(validator, name, code, rule_id, line):
    report = validator.validate(code)
    assert not report.ok
    assert report.score < 50
    matching = [f for f in report.blocking if f.rule_id == rule_id]
    assert matching, f"{name}: expected blocking {rule_id}, got {report.findings}"
    finding = matching[0]
    assert finding.checker == "security"
    assert finding.line == line
    assert finding.severity in ("medium", "high")
    assert finding.message


def test_safe_variants_pass(validator):
    for code in (
        "import yaml\ndata = yaml.load(text, Loader=yaml.SafeLoader)\n",
        "import yaml\ndata = yaml.safe_load(text)\n",
        "import os\npassword = os.environ['DB_PASSWORD']\n",
        "def find(cursor, name):\n    cursor.execute('SELECT * FROM users WHERE name = ?', (name,))\n",
        "import ast\nvalue = ast.literal_eval(text)\n",
    ):
        report = validator.validate(code)
        assert report.ok, (code, report.findings)
        assert not [f for f in report.findings if f.checker == "security" and f.severity != "low"]


@pytest.mark.parametrize(
    ("code", "rule_id"),
    [
        ("def f(x):\n    assert x > 0\n    return x\n", "B101"),
        ("import random\nx = random.randint(1, 6)\n", "B311"),
        ("import hashlib\ndigest = hashlib.md5(b'x').hexdigest()\n", "B324"),
        ("try:\n    f()\nexcept Exception:\n    pass\n", "B110"),
        ("import subprocess\nsubprocess.run(['ls', '-l'])\n", "B603"),
    ],
)
def test_low_findings_are_reported_but_do_not_block(validator, code, rule_id):
    report = validator.validate(code)
    assert report.ok
    found = [f for f in report.findings if f.rule_id == rule_id]
    assert found and all(f.severity == "low" and not f.blocking and f.checker == "security" for f in found)


def test_block_severity_high_lets_medium_through_but_not_high():
    lenient = CodeValidator(ValidationPolicy(block_severity="high"))
    report = lenient.validate("value = eval(input())\n")
    assert report.ok
    (finding,) = [f for f in report.findings if f.rule_id == "B307"]
    assert finding.severity == "medium" and not finding.blocking

    report = lenient.validate("import os\n\ndef wipe(path):\n    os.system('rm -rf ' + path)\n")
    assert not report.ok
    assert [f.rule_id for f in report.blocking] == ["B605"]
    assert report.blocking[0].severity == "high"


def test_block_severity_low_blocks_everything_bandit_reports():
    strict = CodeValidator(ValidationPolicy(block_severity="low"))
    report = strict.validate("import random\nx = random.random()\n")
    assert not report.ok
    assert [f.rule_id for f in report.blocking] == ["B311"]


def test_policy_severity_overrides_replace_the_table():
    policy = ValidationPolicy(severity_overrides=(("B307", "low"), ("b324", "HIGH")))
    assert policy.severity_overrides == (("B307", "low"), ("B324", "high"))
    validator = CodeValidator(policy)
    assert validator.validate("value = eval(input())\n").ok
    report = validator.validate("import hashlib\nh = hashlib.md5(b'x')\n")
    assert [f.rule_id for f in report.blocking] == ["B324"]


@pytest.mark.parametrize(
    ("test_id", "bandit", "expected"),
    [
        ("B105", "LOW", "medium"),
        ("B106", "LOW", "medium"),
        ("B107", "LOW", "medium"),
        ("B602", "LOW", "medium"),
        ("B602", "HIGH", "high"),
        ("B605", "LOW", "medium"),
        ("B605", "HIGH", "high"),
        ("B324", "HIGH", "low"),
        ("B101", "LOW", "low"),
        ("B311", "LOW", "low"),
        ("B307", "MEDIUM", "medium"),
        ("B999", "UNDEFINED", "high"),
    ],
)
def test_severity_table(test_id, bandit, expected):
    assert sec.effective_severity(test_id, bandit) == expected


def test_message_names_bandit_severity_confidence_and_policy(validator):
    report = validator.validate('password = "hunter2"\n')
    (finding,) = report.blocking
    assert "hunter2" in finding.message
    assert "bandit severity low" in finding.message
    assert "confidence medium" in finding.message
    assert "Templar policy: medium" in finding.message


def test_bidi_control_characters_block(validator):
    report = validator.validate('access = "user\u202e \u2066# admin\u2069 \u2066"\n')
    assert "B613" in [f.rule_id for f in report.blocking]


def test_fails_closed_when_bandit_is_unavailable(monkeypatch):
    def missing():
        raise sec.ScanFailed("Bandit is not available (ImportError: No module named 'bandit')")

    monkeypatch.setattr(sec, "_load", missing)
    report = CodeValidator().validate("def f() -> int:\n    return 1\n")
    assert not report.ok
    assert [f.rule_id for f in report.blocking] == ["security-scan-failed"]
    assert "security:bandit unavailable" in report.checkers
    assert report.score < 50


def test_fails_closed_when_bandit_cannot_scan(validator):
    # ~1000 chained additions compile but exceed the recursion limit of Bandit's AST visitor.
    report = validator.validate("x = " + " + ".join(["a"] * 1500) + "\n")
    assert not report.ok
    assert [f.rule_id for f in report.blocking] == ["security-scan-failed"]
    assert any(c.startswith("security:bandit") and c.endswith("(failed)") for c in report.checkers)


def test_scan_prints_nothing(capfd):
    validator = CodeValidator()
    for code in (
        "value = eval(input())  # nosec\n",
        "x = '\\d'\nif x is 1:\n    pass\n",
        "import os\nos.system(c)\n",
    ):
        validator.validate(code)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
