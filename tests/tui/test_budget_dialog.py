"""The L5 confirmation dialog states the configured thresholds, not hard-coded ones (issue 11, item 5)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.tui.helpers import press, settle, spend
from tui.app import TemplarApp
from tui.screens.generate import GenerateScreen
from tui.screens.modals import ConfirmModal

SIZE = (120, 40)


async def test_l5_dialog_names_the_projects_own_thresholds(engine: Any, fake: Any, paths: Any) -> None:
    paths.project_file("default").parent.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text(
        "[budget.project]\nlimit_usd = 1.0\n\n[alerts]\nnotice = 10\nwatch = 20\nwarning = 30\nhigh = 40\n"
        "critical = 60\nexhausted = 75\n",
        encoding="utf-8",
    )
    spend(engine, 650_000)  # 65 %: L5 critical with these thresholds (L4 with the defaults)
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GenerateScreen)
        screen.query_one("#task", Input).value = "a constant MAX_RETRIES set to 5"
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmModal)
        message = app.screen.message
        assert "critical level" in message
        assert "60 %" in message and "75 %" in message
        assert "95" not in message
        await press(pilot, "n")


async def test_budget_screen_lists_usage_anomalies_in_the_alert_log(engine: Any, fake: Any) -> None:
    from textual.widgets import DataTable

    from tests.fakes import Reply
    from tui.screens.budget import BudgetScreen

    fake.responder = lambda request: Reply(text="```python\nX = 1\n```", tokens_in=10**12, tokens_out=10**12)
    result = await engine.generate("function that adds two integers", max_tokens=200, confirmed=True)
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "b")
        screen = app.screen
        assert isinstance(screen, BudgetScreen)
        alerts = screen.query_one("#alerts", DataTable)
        rows = [" ".join(str(c) for c in alerts.get_row_at(i)) for i in range(alerts.row_count)]
        assert any("anomaly" in r and result.request_id[:8] in r for r in rows), rows
