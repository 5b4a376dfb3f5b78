"""``templar generate --dry-run`` and ``--max-usd`` on the command line (exit codes in the README)."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import run_main
from tests.engine.conftest import user_settings
from tests.fakes import Reply

TASK = "function parse_port that reads a TCP port from the string '8080'"


@pytest.fixture
def configured(paths, fake, keys):
    paths.user_settings.write_text(user_settings(fake, order='["openai"]'), encoding="utf-8")
    return paths


def test_dry_run_prints_the_tier_and_worst_case_and_calls_nothing(configured, fake, capsys) -> None:
    code, out, _ = run_main(capsys, "generate", TASK, "--no-templates", "--dry-run", "--json")
    data = json.loads(out)
    assert code == 0 and data["dry_run"] and data["tier"] == "llm" and data["provider"] == "openai"
    assert data["worst_case_usd"] > 0 and fake.requests == []
    code, out, _ = run_main(capsys, "generate", TASK, "--no-templates", "--dry-run")
    assert code == 0 and out.startswith("dry run: llm via openai") and "worst case $" in out


def test_dry_run_of_a_builtin_hit_costs_nothing(configured, fake, capsys) -> None:
    code, out, _ = run_main(capsys, "generate", "dataclass named Point with fields x: int, y: int", "--dry-run")
    assert code == 0 and out.startswith("dry run: builtin") and fake.requests == []


def test_max_usd_below_the_worst_case_exits_3_without_a_call(configured, fake, capsys) -> None:
    code, out, err = run_main(capsys, "generate", TASK, "--no-templates", "--max-usd", "0.000001", "--json")
    assert code == 3 and json.loads(out)["error"] == "max_usd_exceeded" and "max_usd" in err
    assert fake.requests == []


def test_max_usd_that_fits_answers(configured, fake, capsys) -> None:
    fake.enqueue(
        "openai", Reply(text='```python\ndef port(text: str) -> int:\n    """P."""\n    return int(text)\n```')
    )
    code, out, _ = run_main(capsys, "generate", TASK, "--no-templates", "--max-usd", "1", "--json")
    assert code == 0 and json.loads(out)["source"] == "llm"


@pytest.mark.parametrize("bad", ["-1", "nan"])
def test_a_bad_max_usd_is_exit_2(configured, capsys, bad: str) -> None:
    code, _, err = run_main(capsys, "generate", TASK, "--max-usd", bad)
    assert code == 2 and "--max-usd" in err
