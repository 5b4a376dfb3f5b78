"""Without the ``serve`` extra (the base install leaves it out), ``templar serve`` and ``templar
mcp`` say which install step is missing and exit 2 before binding or announcing anything."""

from __future__ import annotations

import sys

import pytest

from engine.cli.main import main


@pytest.mark.parametrize(
    "argv,hidden",
    [(["serve", "--port", "0"], "uvicorn"), (["serve", "--port", "0"], "starlette"), (["mcp"], "mcp")],
)
def test_a_missing_extra_is_one_clear_line_and_exit_2(
    argv: list[str], hidden: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, hidden, None)  # `import hidden` now raises ImportError
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert "'serve' extra" in err and hidden in err and "templar-code[serve]" in err
    assert "listening" not in out + err and "internal error" not in err
