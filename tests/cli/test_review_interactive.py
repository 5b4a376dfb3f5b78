"""``templates review`` at a terminal: each key goes through Engine's typed review methods
(rename, retype, drop, pattern, reject, accept, skip), a refused edit is shown and changes
nothing, and the outcome is printed per suggestion."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.cli.helpers import run_main
from tests.cli.test_review_flags import home, rows, suggest  # noqa: F401


@pytest.fixture
def keys_typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    answers: list[str] = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": answers.pop(0))
    yield answers
    assert answers == [], "every scripted answer was asked for"


def test_rename_retype_then_accept_at_the_terminal(home, capsys, keys_typed) -> None:  # noqa: F811
    sid = suggest(capsys)
    keys_typed += [
        "n",
        "nope",
        "x",  # refused: no such parameter, shown, nothing changed
        "n",
        "name",
        "const",
        "t",
        "value",
        "integer",
        "a",
    ]
    code, out, _ = run_main(capsys, "templates", "review", str(sid))
    assert code == 0
    assert "! suggestion" in out and "no parameter 'nope'" in out
    assert f"suggestion {sid}: accepted (template 1)" in out
    assert rows() == ([(sid, "accepted", "a constant {const:identifier} set to {value:integer}")], 1)


def test_drop_reject_and_skip_at_the_terminal(home, capsys, keys_typed) -> None:  # noqa: F811
    first, second = suggest(capsys), suggest(capsys, "a constant MAX_ITEMS set to 5")
    keys_typed += ["d", "value", "r", "s"]
    code, out, _ = run_main(capsys, "templates", "review")
    assert code == 0
    assert f"suggestion {first}: rejected" in out and f"suggestion {second}: skipped" in out
    [(_, status, pattern), (_, still, _)] = rows()[0]
    assert status == "rejected" and "{value" not in pattern and still == "pending"
