"""``templates review`` as real processes: edit flags never accept by themselves, edits need an id,
headless acceptance shows the code and its findings, and ``--accept-all`` never accepts code with a
security finding."""

from __future__ import annotations

import json

import pytest

from engine.store.models import Suggestion, Template
from tests.cli.helpers import run_main, templar
from tests.engine.conftest import user_settings
from tests.engine.test_feedback import RISKY_CODES
from tests.engine.test_learning import CODE, MODEL_PATH, TASK, responder


def home_with(paths, fake, code: str = CODE):
    fake.responder = responder(code=code)
    paths.user_settings.write_text(
        user_settings(fake, order='["openai"]', learning=True, extra=MODEL_PATH), encoding="utf-8"
    )
    return paths


@pytest.fixture
def home(paths, fake, keys):
    return home_with(paths, fake)


def suggest(capsys, task: str = TASK) -> int:
    code, out, err = run_main(capsys, "generate", task, "--json")
    assert code == 0, err
    return int(json.loads(out)["suggestion_id"])


def rows() -> tuple[list[tuple[int, str, str]], int]:
    from engine.service import Engine

    engine = Engine.from_settings()
    try:
        return engine.store.call(
            lambda: (
                [(s.id, s.status, s.pattern) for s in Suggestion.select().order_by(Suggestion.id)],
                Template.select().count(),
            )
        )
    finally:
        engine.close()


@pytest.mark.parametrize(
    "edit",
    [
        ["--rename", "name=const"],
        ["--retype", "value=number"],
        ["--drop", "value"],
        ["--pattern", "a constant {name:identifier} equal to {value:integer}"],
    ],
)
def test_an_edit_without_an_id_is_refused_and_changes_nothing(home, capsys, edit) -> None:
    suggest(capsys)
    suggest(capsys, "a constant MAX_ITEMS set to 5")
    before = rows()
    done = templar("templates", "review", *edit, "--accept-all")
    assert done.code == 2 and "give its id" in done.err and edit[0] in done.err
    assert rows() == before, "an edit with no id touched a suggestion"


def test_an_edit_with_an_id_only_edits(home, capsys) -> None:
    sid = suggest(capsys)
    done = templar("templates", "review", str(sid), "--rename", "name=const", "--json")
    assert done.code == 0, done.err
    [outcome] = done.json()
    assert outcome["status"] == "edited" and outcome["code"] == CODE
    assert outcome["pattern"] == "a constant {const:identifier} set to {value:integer}"
    assert rows() == ([(sid, "pending", "a constant {const:identifier} set to {value:integer}")], 0)

    accepted = templar("templates", "review", str(sid), "--retype", "value=integer", "--accept")
    assert accepted.code == 0, accepted.err
    shown = accepted.out
    assert "--- code ---" in shown and "MAX_RETRIES: int = 5" in shown and "--- findings ---" in shown
    assert shown.index("MAX_RETRIES: int = 5") < shown.index(f"suggestion {sid}: accepted")
    assert rows()[0][0][1] == "accepted" and rows()[1] == 1


def test_accept_needs_an_id_and_reject_cannot_be_mixed_with_accept(home, capsys) -> None:
    sid = suggest(capsys)
    no_id = templar("templates", "review", "--accept")
    assert no_id.code == 2 and "--accept needs a suggestion id" in no_id.err
    mixed = templar("templates", "review", str(sid), "--reject", "--accept")
    assert mixed.code == 2 and "--reject cannot be combined" in mixed.err
    assert rows() == ([(sid, "pending", "a constant {name:identifier} set to {value:integer}")], 0)


def test_accept_all_shows_the_code_before_accepting(home, capsys) -> None:
    sid = suggest(capsys)
    done = templar("templates", "review", "--accept-all")
    assert done.code == 0, done.err
    assert done.out.index("MAX_RETRIES: int = 5") < done.out.index(f"suggestion {sid}: accepted")
    assert "findings ---\n  none" in done.out


@pytest.mark.parametrize("code", RISKY_CODES)
def test_accept_all_holds_code_with_any_security_finding(paths, fake, keys, capsys, code) -> None:
    home_with(paths, fake, code)
    sid = suggest(capsys)
    done = templar("templates", "review", "--accept-all", "--json")
    assert done.code == 2
    [outcome] = done.json()
    assert outcome["status"] == "held" and "security findings" in outcome["reason"]
    assert outcome["code"] == code and outcome["security_findings"]
    assert rows()[1] == 0 and rows()[0][0][1] == "pending"

    text = templar("templates", "review", str(sid), "--accept-all")
    assert text.code == 2 and "SECURITY" in text.out and f"suggestion {sid}: held" in text.out

    by_hand = templar("templates", "review", str(sid), "--accept", "--json")  # a person named it after reading
    assert by_hand.code == 0, by_hand.err
    assert by_hand.json()[0]["status"] == "accepted" and rows()[1] == 1


HIDING = '"""Settings."""\n\nMAX_RETRIES: int = 5  # \x1b[1A\x1b[2K\x1b[8mconcealed\x1b[0m\n'


def test_review_output_cannot_hide_code_with_terminal_sequences(paths, fake, keys, capsys) -> None:
    home_with(paths, fake, HIDING)
    sid = suggest(capsys)
    done = templar("templates", "review", str(sid), "--accept")
    assert done.code == 0, done.err
    assert "\x1b" not in done.out, "a raw escape sequence reached the reviewer's terminal"
    assert "MAX_RETRIES: int = 5  # \\x1b[1A\\x1b[2K\\x1b[8mconcealed\\x1b[0m" in done.out
