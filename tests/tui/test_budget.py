"""The budget screen: gauges change level (and colour class) as spend grows, the alert log fills,
the allocator's proposal is shown and applied after a confirmation."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from tests.tui.helpers import press, settle, spend, text_of
from tui.app import TemplarApp
from tui.screens.budget import BudgetScreen, daily_series
from tui.screens.modals import ConfirmModal
from tui.widgets.gauge import BudgetGauge

SIZE = (120, 40)


def levels(screen: BudgetScreen) -> dict[str, int]:
    return {g.scope: g.level for g in screen.query(BudgetGauge)}


async def test_gauges_change_level_as_spend_grows(engine: Any, paths: Any) -> None:
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("default").write_text(
        "[budget.project]\nlimit_usd = 1.0\n\n[agents.default.budget.agent]\nlimit_usd = 2.0\n"
    )
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "b")
        screen = app.screen
        assert isinstance(screen, BudgetScreen)
        assert levels(screen) == {"system": 0, "project": 0, "agent": 0}
        seen = []
        for micros, project_level in ((550_000, 1), (250_000, 3), (110_000, 4), (50_000, 5), (40_000, 6)):
            spend(engine, micros)
            await press(pilot, "u")
            gauge = screen.query_one("#gauge-project", BudgetGauge)
            assert gauge.level == project_level and gauge.has_class(f"level-{project_level}")
            assert sum(gauge.has_class(f"level-{n}") for n in range(7)) == 1
            seen.append(levels(screen))
        assert seen[-1] == {"system": 0, "project": 6, "agent": 1}, "$1.00 of $20 (system) and of $2 (agent)"
        alerts = screen.query_one("#alerts", DataTable)
        assert alerts.row_count == 6 + 1, "every level crossed once: L1..L6 project, L1 agent"
        assert "spent $1.00" in text_of(app, "#savings")
        assert screen.query_one("#breakdown", DataTable).row_count == 1


async def test_allocator_proposal_is_applied_after_a_confirmation(engine: Any, paths: Any) -> None:
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    for name, weight in (("acme", 3), ("beta", 1)):
        paths.project_file(name).write_text(f"[budget.project]\nweight = {weight}\n")
    app = TemplarApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "escape", "b")
        table = app.screen.query_one("#allocation", DataTable)
        assert table.row_count == 2
        await press(pilot, "A")
        assert isinstance(app.screen, ConfirmModal)
        await press(pilot, "y")
        assert app.errors == []
    acme = engine.config("acme").settings.budget.project.limit_usd
    beta = engine.config("beta").settings.budget.project.limit_usd
    assert acme is not None and beta is not None and acme > beta


def test_daily_series_is_oldest_first_and_zero_filled() -> None:
    now = 1736942400.0  # 2025-01-15
    series = daily_series([{"day": "2025-01-15", "cost_usd": 0.5}, {"day": "2025-01-14", "cost_usd": 0.25}], now, 3)
    assert series == [0.0, 0.25, 0.5]
