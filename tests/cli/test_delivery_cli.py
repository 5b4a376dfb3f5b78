"""``templar generate`` as a real process never hands over an undeliverable answer: exit 5, no
code on stdout, no --output file, the reason and findings on stderr, ``ok: false`` in --json;
``--allow-invalid`` prints the code but still exits 5. ``templar batch`` applies the same rule."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import templar
from tests.engine.conftest import user_settings
from tests.fakes.trust import DANGEROUS, SAFE, answering, reviews


@pytest.fixture
def configured(paths, fake, keys):
    paths.user_settings.write_text(user_settings(fake, order='["openai", "anthropic"]'), encoding="utf-8")
    return paths


@pytest.mark.parametrize("name", sorted(DANGEROUS))
def test_invalid_code_is_exit_5_with_nothing_on_stdout_and_no_output_file(configured, fake, tmp_path, name) -> None:
    code, rule_id, line = DANGEROUS[name]
    fake.responder = answering(code)
    target = tmp_path / "out.py"
    run = templar("generate", "a helper that runs things", "-o", str(target))
    assert run.code == 5, run.err
    assert run.out == "" and not target.exists()
    # progress lines come first (on by default); the refusal is the first `templar:` line
    first = next(line for line in run.err.splitlines() if line.startswith("templar:"))
    assert first.startswith("templar: the answer fails validation after 1 repair") and "exit 5" in first
    assert f"line {line}: {rule_id} " in run.err
    assert f"{target} was not written" in run.err
    assert "Traceback" not in run.err


def test_json_carries_the_code_with_ok_false_and_allow_invalid_prints_it_but_exits_5(
    configured, fake, tmp_path
) -> None:
    code, rule_id, _ = DANGEROUS["eval"]
    fake.responder = answering(code)
    run = templar("generate", "a calculator", "--json")
    assert run.code == 5
    data = json.loads(run.out)
    assert data["ok"] is False and data["code"] == code
    assert data["problem"]["findings"][0]["rule_id"] == rule_id
    target = tmp_path / "kept.py"
    run = templar("generate", "a calculator", "--allow-invalid", "-o", str(target))
    assert run.code == 5 and run.out == code
    assert not target.exists(), "--allow-invalid never writes --output"
    assert rule_id in run.err


def test_a_rejected_critical_answer_is_exit_5_with_the_reviewer_s_issues(configured, fake, tmp_path) -> None:
    fake.responder = answering(SAFE, verdict="reject", issues=("no input validation",))
    target = tmp_path / "out.py"
    run = templar("generate", "an adder", "--critical", "-o", str(target))
    assert run.code == 5 and run.out == "" and not target.exists()
    assert "critical request not approved by anthropic" in run.err
    assert "review no input validation" in run.err
    assert [r.format for r in reviews(fake.requests)] == ["anthropic"]


def test_success_is_exit_0_with_ok_true(configured, fake, tmp_path) -> None:
    fake.responder = answering(SAFE)
    target = tmp_path / "out.py"
    run = templar("generate", "an adder", "--json", "-o", str(target))
    assert run.code == 0 and json.loads(run.out)["ok"] is True and target.read_text() == SAFE


def test_batch_marks_the_same_answers_failed_with_exit_5(configured, fake, tmp_path) -> None:
    runner, safe = answering(DANGEROUS["os_system"][0]), answering(SAFE, verdict="reject")
    fake.responder = lambda request: (runner if "runner" in request.prompt_text else safe)(request)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        "\n".join(
            json.dumps(t)
            for t in [
                {"id": "bad", "task": "a runner"},
                {"id": "builtin", "task": "enum Color with members red, green and blue"},
                {"id": "critical", "task": "enum Color with members red, green and blue", "critical": True},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    run = templar("batch", str(tasks), "--json", "-c", "1")
    assert run.code == 5, run.err
    results = {r["id"]: r for r in json.loads(run.out)["results"]}
    assert (results["bad"]["status"], results["bad"]["exit_code"]) == ("failed", 5)
    assert "fails validation" in results["bad"]["error"] and "B605" in results["bad"]["error"]
    assert results["bad"]["code"] == DANGEROUS["os_system"][0], "kept for inspection, as in generate --json"
    assert results["builtin"]["status"] == "ok"
    assert (results["critical"]["status"], results["critical"]["exit_code"]) == ("failed", 5)
    assert "not approved" in results["critical"]["error"]
