"""``templar feedback`` and the feedback figures of ``templar stats``, as real processes.

Answers are made in process (fast: litellm is already loaded here); the commands under test run
as real ``templar`` processes against the same data directory."""

from __future__ import annotations

import json

import pytest

from engine.store.models import LedgerEntry, WrongReport
from tests.cli.helpers import run_main, templar
from tests.engine.conftest import user_settings
from tests.engine.test_learning import responder

COLOR = "enum Color with members red, green and blue"


@pytest.fixture
def home(paths, fake, keys):
    fake.responder = responder()
    paths.user_settings.write_text(user_settings(fake, order='["openai"]', learning=True), encoding="utf-8")
    return paths


def answer(capsys, task: str) -> dict:
    code, out, err = run_main(capsys, "generate", task, "--json")
    assert code == 0, err
    return json.loads(out)


def ledger_sources(request_id: str) -> list[str]:
    from engine.service import Engine

    engine = Engine.from_settings()
    try:
        return engine.store.call(
            lambda: [
                r.source
                for r in LedgerEntry.select().where(LedgerEntry.request_id == request_id).order_by(LedgerEntry.id)
            ]
        )
    finally:
        engine.close()


def test_feedback_reverses_a_template_answer_and_its_bindings_never_match_again(home, capsys) -> None:
    first = answer(capsys, COLOR)
    assert first["source"] == "builtin" and first["saved_usd"] > 0

    done = templar("feedback", first["request_id"], "--wrong", "members should be upper case", "--json")
    assert done.code == 0, done.err
    data = done.json()
    assert data["template"] == first["template_id"] and data["bindings"] == first["bindings"]
    assert data["reversed_usd"] == pytest.approx(first["saved_usd"]) and data["wrong_reports"] == 1
    assert data["retire_after"] == 3 and data["retired"] is False
    assert ledger_sources(first["request_id"]) == ["builtin", "reversal"]

    similar = templar("templates", "similar", COLOR, "--json")
    [refused] = [r for r in similar.json() if r["template"] == first["template_id"] and r["score"] == 1.0]
    assert refused["match"] is False and "reported wrong" in refused["refused"]

    again = answer(capsys, COLOR)
    assert again["source"] == "llm", "the reported bindings matched the template again"
    other = answer(capsys, "enum Shape with members circle, square and triangle")
    assert other["source"] == "builtin"

    text = templar("feedback", other["request_id"], "--wrong", "also wrong")
    assert text.code == 0, text.err
    assert "will not answer" in text.out and "savings reversed: $" in text.out and "2 of 3" in text.out


def test_feedback_errors_are_one_clear_line_and_exit_2(home, capsys) -> None:
    paid = answer(capsys, "write a function that adds two numbers")
    served = answer(capsys, COLOR)

    unknown = templar("feedback", "no-such-request", "--wrong", "why", "--json")
    assert unknown.code == 2 and "no request 'no-such-request'" in unknown.err
    assert unknown.json()["error"] == "not_found" and len(unknown.err.strip().splitlines()) == 1
    not_template = templar("feedback", paid["request_id"], "--wrong", "why")
    assert not_template.code == 2 and "not a template" in not_template.err
    missing = templar("feedback", served["request_id"])
    assert missing.code == 2 and "--wrong" in missing.err
    empty = templar("feedback", served["request_id"], "--wrong", "   ")
    assert empty.code == 2 and "say why" in empty.err
    assert ledger_sources(served["request_id"]) == ["builtin"], "a refused report wrote nothing"

    assert templar("feedback", served["request_id"], "--wrong", "first").code == 0
    duplicate = templar("feedback", served["request_id"], "--wrong", "second")
    assert duplicate.code == 2 and "already reported wrong (first)" in duplicate.err
    from engine.service import Engine

    engine = Engine.from_settings()
    try:
        assert engine.store.call(lambda: WrongReport.select().count()) == 1
    finally:
        engine.close()


def test_stats_shows_false_hits_failed_free_attempts_and_the_savings_basis(home, capsys) -> None:
    answers = [answer(capsys, COLOR), answer(capsys, "enum Shape with members circle, square and triangle")]
    assert [a["source"] for a in answers] == ["builtin", "builtin"]
    assert templar("feedback", answers[0]["request_id"], "--wrong", "wrong").code == 0

    stats = templar("stats", "--json")
    assert stats.code == 0, stats.err
    data = stats.json()
    hits = data["false_hits"]
    assert (hits["template_answers"], hits["wrong_reports"], hits["false_hit_rate"]) == (2, 1, 0.5)
    [row] = hits["templates"]
    assert row["template"] == answers[0]["template_id"] and row["false_hit_rate"] == 0.5
    assert data["total"]["reversed_usd"] == pytest.approx(answers[0]["saved_usd"])
    assert data["total"]["saved_usd"] == pytest.approx(answers[1]["saved_usd"])
    assert "first provider" in data["savings_basis"]

    text = templar("stats")
    assert text.code == 0, text.err
    assert "false hits: 1 wrong reports / 2 template answers = 50.0%" in text.out
    assert "savings basis: what the chain would have paid first" in text.out
    assert "savings reversed by wrong-answer reports" in text.out


def test_feedback_is_in_the_help(paths) -> None:
    top = templar("--help")
    assert top.code == 0 and "feedback" in top.out
    own = templar("feedback", "--help")
    assert own.code == 0 and "--wrong" in own.out and "retire_after_wrong" in own.out
