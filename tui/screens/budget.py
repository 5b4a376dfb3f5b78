"""Budgets: a gauge per level (system, project, agent) coloured by alert level, spend over the
last 30 days, spend by provider and model, savings from templates and the cache, the alert
log, and the allocator's proposal (applied only after a confirmation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import DataTable, Label, Sparkline, Static

from engine.api.budget import level_label
from tui.format import cells, usd_f, when_short
from tui.messages import AllocationLoaded, BudgetLoaded, Failed
from tui.screens.base import TemplarScreen
from tui.screens.modals import ConfirmModal
from tui.theme import themed
from tui.widgets.gauge import BudgetGauge
from tui.widgets.scope import ScopePicker

DAYS = 30


def daily_series(groups: list[dict[str, Any]], now: float, days: int = DAYS) -> list[float]:
    """Spend per UTC day for the last ``days`` days, oldest first, zero-filled."""
    by_day = {g["day"]: float(g["cost_usd"]) for g in groups}
    today = datetime.fromtimestamp(now, UTC).date()
    return [by_day.get((today - timedelta(days=i)).isoformat(), 0.0) for i in range(days - 1, -1, -1)]


class BudgetScreen(TemplarScreen):
    MODE = "budget"
    AUTO_FOCUS = "#alerts"
    HELP = "Spend against every budget, where it went, what templates and the cache saved, and the allocator."
    BINDINGS = [
        Binding("m", "toggle_breakdown", "Provider/model", id="budget.breakdown"),
        Binding("A", "apply_allocation", "Apply allocation", id="budget.apply", key_display="A"),
        Binding("u", "reload", "Update", id="budget.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.breakdown = "provider"
        self.data: dict[str, Any] = {}

    def body(self) -> ComposeResult:
        with Horizontal(id="budget-top"):
            yield ScopePicker(id="budget-scope")
        yield Static("", id="savings")
        # Side by side when wide; stacked and scrolled as one when narrow (budget.tcss). Neither
        # container takes the focus: Tab goes from table to table, each visibly focused.
        with ScrollableContainer(id="budget-main", can_focus=False):
            with Vertical(id="budget-left"):
                yield BudgetGauge("system", id="gauge-system")
                yield BudgetGauge("project", id="gauge-project")
                yield BudgetGauge("agent", id="gauge-agent")
                yield Label(f"Spend per day, last {DAYS} days", classes="pane-title", id="spark-title")
                yield Sparkline([0.0] * DAYS, id="spend-spark", summary_function=max)
                yield Label("Alert log", classes="pane-title")
                yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
            with Vertical(id="budget-right"):
                yield Label("Spend by provider (m: by model)", classes="pane-title", id="breakdown-title")
                yield DataTable(id="breakdown", cursor_type="row")
                yield Label("Allocator proposal (A applies)", classes="pane-title")
                yield Static("", id="alloc-note")
                yield DataTable(id="allocation", cursor_type="row")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#alerts", DataTable).add_columns("UTC", "budget", "period", "level", "at")
        self.query_one("#breakdown", DataTable).add_columns("name", "calls", "cost", "saved", "p50 ms")
        allocation = self.query_one("#allocation", DataTable)
        # Fixed widths: the rows arrive from a worker, and columns that grew with them would make the
        # layout (and its snapshots) depend on when the proposal landed.
        for label, width in (("project", 16), ("weight", 6), ("burn", 10), ("limit now", 16), ("proposed", 10)):
            allocation.add_column(label, width=width)

    # -- data ---------------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_budget(*self.scope())
        self.load_allocation()

    @work(exclusive=True, group="budget", exit_on_error=False)
    async def load_budget(self, project: str, agent: str) -> None:
        engine = self.engine
        assert engine is not None
        try:
            statuses = await engine.budget_status(project, agent)
            now = engine.clock()
            since = now - DAYS * 86400
            # the screen shows no false-hit table, and one "templates/cache" row rather than one per template
            days = await engine.stats(since, "day", false_hits=False)
            providers = await engine.stats(since, "provider", false_hits=False)
            models = await engine.stats(since, "model", false_hits=False, fold_templates=True)
            log = await engine.budget_alerts(observe=False)  # the statuses above recorded this scope's level
            alerts, anomalies = list(log.levels), list(log.anomalies)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Budget", exc))
            return
        self.post_message(BudgetLoaded(statuses, now, days, providers, models, alerts, anomalies))

    @work(exclusive=True, group="allocation", exit_on_error=False)
    async def load_allocation(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            proposal = await engine.budget_allocation()
        except Exception as exc:  # noqa: BLE001 - e.g. no system budget: shown in place
            self.post_message(AllocationLoaded(None, str(exc)))
            return
        self.post_message(AllocationLoaded(proposal))

    @on(BudgetLoaded)
    def _loaded(self, m: BudgetLoaded) -> None:
        self.data = {
            "statuses": m.statuses,
            "now": m.now,
            "days": m.days,
            "provider": m.providers,
            "model": m.models,
            "alerts": m.alerts,
            "anomalies": m.anomalies,
        }
        self._show_budget()

    @on(AllocationLoaded)
    def _allocation(self, message: AllocationLoaded) -> None:
        self._show_allocation(message.proposal if message.proposal is not None else {"error": message.error})

    def _show_budget(self) -> None:
        data = self.data
        for status in data["statuses"]:
            self.query_one(f"#gauge-{status.scope}", BudgetGauge).status = status
        series = daily_series(data["days"].get("groups", []), data["now"])
        self.query_one("#spend-spark", Sparkline).data = series
        self.query_one("#spark-title", Label).update(
            f"Spend per day, last {DAYS} days: {usd_f(sum(series))} total, peak {usd_f(max(series))}"
        )
        total = data["days"]["total"]
        savings = Text()
        savings.append(f"Last {DAYS} days: spent {usd_f(total['cost_usd'])}")
        savings.append(f"  ·  saved {usd_f(total['saved_usd'])}", style="bold green")
        savings.append(
            f" by templates and the cache ({total['template_hits']} template and {total['cache_hits']} "
            f"cache answers of {total['requests']} requests; {total['paid_calls']} paid calls)"
        )
        self.query_one("#savings", Static).update(themed(savings))
        alerts = self.query_one("#alerts", DataTable)
        alerts.clear()
        for a in data["alerts"]:
            who = "system" if a["scope"] == "system" else f"{a['scope']} {a['key']}"
            level = level_label(int(a["level"]))
            alerts.add_row(*cells(when_short(a["ts"]), who, a["period"], level, f"{a['percent']:.1f}%"))
        for u in data.get("anomalies", []):  # usage claims charged at the worst case instead
            alerts.add_row(
                *cells(
                    when_short(u["ts"]),
                    f"{u['provider']} {u['request_id'][:8]}",
                    "anomaly",
                    u["what"],
                    f"charged {usd_f(u['charged_usd'])}",
                )
            )
        self._show_breakdown()

    def _show_breakdown(self) -> None:
        if not self.data:
            return
        by = self.breakdown
        self.query_one("#breakdown-title", Label).update(
            f"Spend by {by}, last {DAYS} days (m: by {'model' if by == 'provider' else 'provider'})"
        )
        table = self.query_one("#breakdown", DataTable)
        table.clear()
        for g in self.data[by].get("groups", []):
            p50 = g.get("latency_p50_ms")
            name = g[by] if g[by] != "-" else "templates/cache"
            table.add_row(
                *cells(
                    name,
                    g["paid_calls"] or g["requests"],
                    usd_f(g["cost_usd"]),
                    usd_f(g["saved_usd"]),
                    "—" if p50 is None else p50,
                )
            )

    def _show_allocation(self, proposal: dict[str, Any]) -> None:
        table = self.query_one("#allocation", DataTable)
        table.clear()
        note = self.query_one("#alloc-note", Static)
        if "error" in proposal:
            note.update(themed(Text(proposal["error"], style="yellow")))
            return
        note.update(
            f"system {usd_f(proposal['system_limit_usd'])}, reserve {usd_f(proposal['reserve_usd'])}, "
            "this period's spend"
        )
        for p in proposal["projects"]:
            current = p["current_limit_usd"]
            limit_now = "—" if current is None else usd_f(current) + (" (cap)" if p.get("cap_usd") is not None else "")
            table.add_row(
                *cells(
                    p["project"], f"{p['weight']:g}", usd_f(p["burn_usd"]), limit_now, usd_f(p["proposed_limit_usd"])
                )
            )
        if not proposal["projects"]:
            note.update("no projects yet: the allocator divides the system budget among project files")

    # -- actions ------------------------------------------------------------------------------

    def action_toggle_breakdown(self) -> None:
        self.breakdown = "model" if self.breakdown == "provider" else "provider"
        self._show_breakdown()

    def action_apply_allocation(self) -> None:
        engine = self.need_engine()
        if engine is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.apply_allocation()

        self.app.push_screen(
            ConfirmModal(
                "Apply the allocation?",
                "Each project's budget.project.limit_usd is set to the proposed limit "
                "(written to its project file). Limits a person set are caps: they are kept.",
                yes="Apply",
            ),
            answered,
        )

    @work(exclusive=True, group="allocation", exit_on_error=False)
    async def apply_allocation(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            proposal = await engine.budget_allocation(apply=True)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Allocator", exc))
            return
        self.post_message(AllocationLoaded(proposal))
        self.notify(f"Applied limits to {len(proposal['projects'])} projects.")
        self.reload()
