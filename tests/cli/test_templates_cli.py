"""``templar templates`` and ``templar validate`` from the command line."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import run_main as run
from tests.engine.conftest import user_settings
from tests.engine.test_learning import MODEL_PATH, TASK, responder


@pytest.fixture
def learning_home(paths, fake, keys):
    fake.responder = responder()
    paths.user_settings.write_text(
        user_settings(fake, order='["openai"]', learning=True, extra=MODEL_PATH), encoding="utf-8"
    )
    return paths


def test_scripted_review_then_learned_hit_then_export_import(learning_home, capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "generate", TASK, "--json")
    assert code == 0
    sid = json.loads(out)["suggestion_id"]
    code, out, _ = run(capsys, "templates", "review", str(sid), "--rename", "name=const", "--accept", "--json")
    assert code == 0
    [outcome] = json.loads(out)
    assert outcome["status"] == "accepted"
    code, out, _ = run(capsys, "templates", "list", "--json")
    [listed] = json.loads(out)
    assert listed["pattern"] == "a constant {const:identifier} set to {value:integer}"
    code, out, _ = run(capsys, "generate", "a constant RATE set to 7", "--json")
    hit = json.loads(out)
    assert hit["source"] == "learned" and hit["bindings"] == {"const": "RATE", "value": 7}
    code, out, _ = run(capsys, "templates", "show", str(listed["id"]))
    assert "{{ const }}" in out and "uses 1" in out
    code, out, _ = run(capsys, "templates", "similar", "a constant RATE set to 7 please", "--json")
    assert json.loads(out)[0]["match"] is True

    export = tmp_path / "t.json"
    assert run(capsys, "templates", "export", str(export))[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "templar-templates", "version": 2, "templates": []}')
    code, _, err = run(capsys, "templates", "import", str(bad))
    assert code == 2 and "unsupported export version" in err
    code, out, _ = run(capsys, "templates", "import", str(export), "--json")
    assert code == 0 and len(json.loads(out)["imported"]) == 1
    code, out, _ = run(capsys, "templates", "retire", str(listed["id"]), "--reason", "test")
    assert code == 0
    code, out, _ = run(capsys, "templates", "list", "--all", "--json")
    assert sorted(t["status"] for t in json.loads(out)) == ["active", "retired"]


def test_review_without_a_terminal_needs_flags(learning_home, capsys, monkeypatch) -> None:
    run(capsys, "generate", TASK)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run(capsys, "templates", "review")
    assert code == 2 and "--accept-all" in err
    code, out, _ = run(capsys, "templates", "review", "--reject", "--json")
    assert json.loads(out)[0]["status"] == "rejected"
    assert run(capsys, "templates", "review")[1].strip() == "no pending suggestions"


def test_validate_exit_codes(capsys, tmp_path) -> None:
    good = tmp_path / "good.py"
    good.write_text('"""Mod."""\n\n\ndef add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n')
    code, out, _ = run(capsys, "validate", str(good), "--json")
    assert code == 0 and json.loads(out)["score"] == 100
    bad = tmp_path / "bad.py"
    bad.write_text("import pickle\n\ndata = pickle.loads(b'x')\n")
    code, out, _ = run(capsys, "validate", str(bad))
    assert code == 5 and "BLOCKED" in out and "B301" in out
    code, _, err = run(capsys, "validate", str(tmp_path / "missing.py"))
    assert code == 2 and "no such file" in err
    (tmp_path / "latin1.py").write_bytes(b"x = '\xe9'\n")
    code, _, err = run(capsys, "validate", str(tmp_path / "latin1.py"))
    assert code == 2 and "UTF-8" in err


def test_builtin_template_answers_without_any_key(paths, capsys) -> None:
    code, out, _ = run(capsys, "generate", "enum Color with members red, green and blue", "--json")
    result = json.loads(out)
    assert code == 0 and result["source"] == "builtin" and result["cost_usd"] == 0
    assert "class Color" in result["code"] and result["validation"]["ok"]


def _suggesting(text: str):
    from tests.fakes import Reply

    def answer(request):
        system = request.messages()[0][1] if request.messages() else ""
        if "reusable template" in system:
            return Reply(text=text)
        return Reply(text='```python\n"""Names."""\n\nNAMES: list[str] = ["a", "b"]\n```')

    return answer


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("Sure! The pattern is: a constant {name} set to {values}", "the suggestion was not a JSON object"),
        ('{"name": "names", "params": []}', "the suggestion has no pattern"),
    ],
)
def test_review_names_an_unreadable_suggestion_as_the_reason(paths, fake, keys, capsys, answer, why) -> None:
    from tests.cli.helpers import run_main
    from tests.engine.conftest import user_settings

    paths.user_settings.write_text(user_settings(fake, order='["openai"]', learning=True), encoding="utf-8")
    fake.responder = _suggesting(answer)
    assert run_main(capsys, "generate", 'a constant NAMES set to ["a", "b"]', "-q")[0] == 0
    for _ in range(2):  # a failed accept stores the reason; the next look says it the same way
        code, out, err = run_main(capsys, "templates", "review", "1", "--accept", "--json")
        assert code == 2
        message = json.loads(out)[0]["check"]
        assert message.count(why) == 1 and "could not be read" in message and message.count("could not be read") == 1
        assert "give a pattern in review" in message


def test_review_reason_of_a_readable_suggestion_is_unchanged(paths, fake, keys, capsys) -> None:
    from tests.cli.helpers import run_main
    from tests.engine.conftest import user_settings

    paths.user_settings.write_text(user_settings(fake, order='["openai"]', learning=True), encoding="utf-8")
    fake.responder = _suggesting(
        json.dumps(
            {
                "name": "names",
                "pattern": "a list called {name:identifier}",
                "params": [{"name": "name", "type": "identifier", "value": "NAMES"}],
            }
        )
    )
    assert run_main(capsys, "generate", 'a constant NAMES set to ["a", "b"]', "-q")[0] == 0
    code, out, _ = run_main(capsys, "templates", "review", "1", "--accept", "--json")
    assert code == 2 and "could not be read" not in json.loads(out)[0]["check"]
