"""The PostgreSQL tests skip, with the reason, only where no server can be had; under CI they fail.

Runs pytest on one PostgreSQL test in a subprocess, pointed at a loopback port where nothing
listens, with and without ``CI`` set. Needs no server itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.team.conftest import ROOT

NOWHERE = "postgresql://nobody@127.0.0.1:1/none"
TARGET = "tests/team/test_store_pg.py::test_fresh_database_is_migrated_to_the_models"


def run_pytest(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["TEMPLAR_TEST_POSTGRES_URL"] = NOWHERE
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", TARGET, "-q", "-rsE", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_unreachable_server_skips_with_the_reason_outside_ci() -> None:
    done = run_pytest(ci=None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "PostgreSQL tests skipped: no PostgreSQL server at postgresql://nobody@127.0.0.1:1/none" in done.stdout


@pytest.mark.slow
def test_unreachable_server_fails_under_ci() -> None:
    done = run_pytest(ci="true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 error" in done.stdout and "skipped" not in done.stdout
    assert "CI is set, so this is a failure, not a skip" in done.stdout
