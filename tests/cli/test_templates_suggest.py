"""``templar generate`` prints the answer before learning runs; ``templates suggest`` learns from a
paid answer whose learning never ran; ``templates show`` lists a template's aliases."""

from __future__ import annotations

import json

import pytest

from engine.service import Engine
from tests.cli.helpers import run_main as run
from tests.engine.conftest import user_settings
from tests.engine.test_aliases import CODE_FOR, TEACH, answer


@pytest.fixture
def home(paths, fake, keys):
    fake.responder = answer
    paths.user_settings.write_text(user_settings(fake, order='["openai"]', learning=True), encoding="utf-8")
    return paths


def test_generate_prints_then_learns_before_exit(home, capsys) -> None:
    code, out, _ = run(capsys, "generate", TEACH, "--json")
    assert code == 0
    sid = json.loads(out)["suggestion_id"]
    code, out, _ = run(capsys, "templates", "review", str(sid), "--accept", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "accepted"


def test_templates_suggest_processes_a_queued_answer(home, capsys) -> None:
    engine = Engine.from_settings()
    try:
        queued = engine.store.call(
            lambda: engine.library.add_suggestion(
                task=TEACH,
                code=CODE_FOR[TEACH],
                pattern="",
                params=[],
                confidence=0.0,
                reason="queued",
                provider="",
                model="",
                cost_micros=100,
                request_id="r-1",
                project="default",
                agent="default",
                status="queued",
            )
        )
    finally:
        engine.close()
    code, out, _ = run(capsys, "templates", "suggest", "--json")
    assert code == 0 and json.loads(out) == [{"suggestion": queued.id, "status": "pending"}]
    code, out, _ = run(capsys, "templates", "review", str(queued.id), "--accept", "--json")
    assert json.loads(out)[0]["status"] == "accepted"
    code, out, _ = run(capsys, "templates", "suggest", "--json")
    assert json.loads(out) == [], "nothing is left queued"


def test_show_lists_aliases_with_hits_and_review_says_same_as(home, capsys) -> None:
    run(capsys, "generate", TEACH, "--json")
    run(capsys, "templates", "review", "1", "--accept", "--json")
    wording = "function that tells if a number is prime"
    code, out, _ = run(capsys, "generate", wording, "--json")
    sid = json.loads(out)["suggestion_id"]
    code, out, _ = run(capsys, "templates", "review", str(sid), "--accept")
    assert code == 0 and "same as template 1" in out, (code, out, _)
    run(capsys, "generate", wording, "--no-cache", "--json")
    code, out, _ = run(capsys, "templates", "show", "1")
    assert code == 0
    aliases = out.split("--- aliases ---", 1)[1]
    assert "function that tell if number is prime" in aliases and "hits 1" in aliases
