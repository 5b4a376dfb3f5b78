"""The package people install: a wheel that works in a clean venv, shell completion, --version.

The wheel test builds ``templar-code`` from this checkout, installs it (with its dependencies,
from the package registry) into a new virtual environment that shares nothing with the test
venv, and runs the installed ``templar`` command there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from engine import __version__
from tests.cli.helpers import ROOT, proc_env, templar, templar_argv


def test_version_comes_from_one_place() -> None:
    done = templar("--version")
    assert done.code == 0
    assert done.out.strip() == f"templar {__version__}"
    assert (
        "version =" not in (ROOT / "pyproject.toml").read_text(encoding="utf-8").split("[project]")[1].split("\n[")[0]
    )


@pytest.mark.parametrize(
    "shell, marker",
    [("bash", "_python_argcomplete"), ("zsh", "#compdef templar"), ("fish", "complete --command templar")],
)
def test_completion_script_for_each_shell(shell: str, marker: str) -> None:
    done = templar("completion", shell)
    assert done.code == 0, done.err
    assert marker in done.out


def test_completion_rejects_an_unknown_shell() -> None:
    done = templar("completion", "tcsh")
    assert done.code == 2
    assert "invalid choice" in done.err


def complete(line: str, tmp_path: Path) -> list[str]:
    """What the shell hook gets for ``line`` (argcomplete's protocol: env vars in, words out)."""
    out = tmp_path / "completions"
    env = proc_env(
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_SHELL="bash",
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(out),
        _ARGCOMPLETE_IFS="\n",
    )
    done = subprocess.run(templar_argv(), env=env, cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [w.strip() for w in out.read_text(encoding="utf-8").splitlines() if w.strip()]


def test_completion_answers_from_the_parser(tmp_path: Path) -> None:
    assert complete("templar gen", tmp_path) == ["generate"]
    flags = complete("templar generate --no-", tmp_path)
    assert set(flags) == {"--no-cache", "--no-templates"}
    assert "allocate" in complete("templar budget a", tmp_path)


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_clean_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheels = list(dist.glob("templar_code-*.whl"))
    assert len(wheels) == 1, list(dist.iterdir())
    names = zipfile.ZipFile(wheels[0]).namelist()
    for needed in (
        "engine/py.typed",
        "tui/py.typed",
        "engine/config/settings.toml",
        "tui/styles/app.tcss",
        "engine/templates/vocabulary.toml",
    ):
        assert needed in names
    assert any(n.startswith("engine/templates/builtin/") and n.endswith(".toml") for n in names)
    assert any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in names)
    assert not any(n.startswith("tests/") or n.startswith("bench/") for n in names)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    py = env_dir / "bin" / "python"
    installed = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", str(wheels[0])], capture_output=True, text=True, timeout=900
    )
    assert installed.returncode == 0, installed.stderr[-2000:]

    home = tmp_path / "home"
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("TEMPLAR_")
    }
    env.update(TEMPLAR_HOME=str(home), LITELLM_OFFLINE_MODE="true", LITELLM_LOCAL_MODEL_COST_MAP="True")
    templar_bin = env_dir / "bin" / "templar"
    version = subprocess.run(
        [str(templar_bin), "--version"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert version.stdout.strip() == f"templar {__version__}", version.stderr
    doctor = subprocess.run(
        [str(templar_bin), "doctor", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    report = json.loads(doctor.stdout)
    assert str(home) in json.dumps(report)
    where = subprocess.run(
        [str(py), "-c", "import engine, tui; print(engine.__file__); print(tui.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert str(env_dir) in where.stdout and str(ROOT) not in where.stdout
