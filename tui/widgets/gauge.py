"""A budget gauge: one budget's spent and reserved share as a bar, coloured by its alert level;
the border names the budget and its period (title) and its level and what it does (subtitle).

The colour comes from TCSS: the gauge carries the class ``level-N`` (N = 0..6) and the
stylesheet gives each level's bar a theme colour. Amounts are integer micro-dollars.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from engine.api.budget import LEVEL_ACTIONS, LEVEL_NAMES
from tui.format import usd

LEVEL_CLASSES = tuple(f"level-{n}" for n in range(len(LEVEL_NAMES)))


class BudgetGauge(Widget):
    """Shows a ``BudgetStatus`` (or nothing yet)."""

    COMPONENT_CLASSES = {"budget-gauge--bar", "budget-gauge--reserved", "budget-gauge--track"}

    status: reactive[Any] = reactive(None, layout=False)

    def __init__(self, scope: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="budget-gauge")
        self.scope = scope
        self.border_title = scope

    def watch_status(self, status: Any) -> None:
        level = 0 if status is None else int(status.level)
        for index, name in enumerate(LEVEL_CLASSES):
            self.set_class(index == level, name)
        if status is None:
            self.border_title = self.scope
            self.border_subtitle = ""
            return
        label = status.scope if status.scope == "system" else f"{status.scope} {status.key}"
        self.border_title = f"{label} · {status.period_kind} {status.period}"
        action = LEVEL_ACTIONS[level]
        self.border_subtitle = f"L{level} {LEVEL_NAMES[level]}" + ("" if action == "none" else f": {action}")

    @property
    def level(self) -> int:
        return 0 if self.status is None else int(self.status.level)

    def render(self) -> Text:
        status = self.status
        if status is None:
            return Text("loading…")
        style = self.get_component_rich_style
        width = max(10, self.content_size.width)
        bar = Text()
        if status.limit_micros is None:
            suffix = "  no limit"
            bar.append("░" * max(4, width - len(suffix)), style=style("budget-gauge--track"))
            figures = [f"spent {usd(status.spent_micros)} · no limit set", f"reserved {usd(status.reserved_micros)}"]
        else:
            suffix = f" {status.percent:6.1f}%"
            cells = max(4, width - len(suffix))
            limit = max(1, status.limit_micros)
            spent = min(cells, round(cells * status.spent_micros / limit))
            reserved = min(cells - spent, round(cells * status.reserved_micros / limit))
            bar.append("█" * spent, style=style("budget-gauge--bar"))
            bar.append("▒" * reserved, style=style("budget-gauge--reserved"))
            bar.append("░" * (cells - spent - reserved), style=style("budget-gauge--track"))
            figures = [
                f"spent {usd(status.spent_micros)} of {usd(status.limit_micros)}",
                f"reserved {usd(status.reserved_micros)} · remaining {usd(status.remaining_micros)}",
            ]
        bar.append(suffix)
        return Text("\n").join([bar, *(Text(line) for line in figures)])
