"""The help screen tells a person where the log file is, as they would type it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.helpers import press, settle, text_of
from tui.app import TemplarApp
from tui.screens.help import HelpScreen, help_text, shown_path

SIZE = (120, 40)


async def test_help_shows_the_engines_log_file(engine: Any) -> None:
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = text_of(app, "#help-text")
        assert "Log file: $TEMPLAR_HOME/data/templar.log" in text
        assert engine.log_file == engine.paths.data_dir / "templar.log"


def test_paths_are_shown_under_templar_home_then_home_then_in_full(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TEMPLAR_HOME", str(tmp_path / "th"))
    assert shown_path(tmp_path / "th" / "data" / "templar.log") == "$TEMPLAR_HOME/data/templar.log"
    assert shown_path(tmp_path / "thx" / "templar.log") != "$TEMPLAR_HOME/x/templar.log"  # a sibling, not inside
    monkeypatch.delenv("TEMPLAR_HOME")
    assert shown_path(Path.home() / ".local/share/templar/templar.log") == "~/.local/share/templar/templar.log"
    assert shown_path(Path("/var/tmp/templar.log")) in ("/var/tmp/templar.log",)
    assert "Log file" not in help_text() and "Log file: /var/tmp/t.log" in help_text(Path("/var/tmp/t.log"))
