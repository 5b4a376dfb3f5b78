"""The live log of a generation: which source is tried, attempts, retries, validation, learning.

``describe`` turns one engine event into one styled line (pure, tested); ``PipelineLog`` shows
them, and ``BackoffCountdown`` counts down the wait before the next attempt.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import RichLog, Static

from engine import events as ev
from tui.format import usd_f
from tui.theme import themed

_SOURCES = {"learned": "learned templates", "builtin": "built-in templates", "cache": "response cache"}


PURPOSES = {
    "llm": "",
    "repair": " (repair: re-asked with the findings)",
    "review": " (review by a second provider)",
    "suggest": " (template suggestion)",
    "ping": " (ping)",
}


def describe(event: ev.Event) -> Text | None:
    """One line for ``event``; None for events shown elsewhere (streamed tokens). Provider
    attempts say what they are for (the answer, a repair, a review, a template suggestion)."""
    if isinstance(event, ev.LookupResult):
        where = _SOURCES.get(event.source, event.source)
        if event.hit:
            return Text.assemble(("✓ ", "bold green"), (f"{where}: hit", "bold"), f"  {event.detail}")
        detail = f"  ({event.detail})" if event.detail else ""
        return Text.assemble(("· ", "dim"), f"{where}: no match{detail}")
    if isinstance(event, ev.Preparing):
        return Text.assemble(("… ", "dim"), event.detail)
    if isinstance(event, ev.ProviderSkipped):
        return Text.assemble(("↷ ", "yellow"), f"skip {event.provider}: {event.reason}")
    if isinstance(event, ev.AttemptStarted):
        label = PURPOSES.get(event.purpose, f" ({event.purpose})")
        return Text.assemble(
            ("→ ", "cyan"),
            f"{event.provider} {event.model} attempt {event.attempt}",
            (label, "italic"),
            (f"  reserved {usd_f(event.reserved_usd)}", "dim"),
        )
    if isinstance(event, ev.AttemptFailed):
        then = "will retry" if event.retryable else "next provider"
        return Text.assemble(
            ("✗ ", "bold red"),
            f"{event.provider} attempt {event.attempt}: {event.error_class}",
            (f"  {event.message[:100]}", "dim"),
            f"  ({then})",
        )
    if isinstance(event, ev.Backoff):
        return Text.assemble(
            ("⏳ ", "yellow"),
            f"{event.provider}: waiting {event.delay_s:.1f} s before attempt {event.attempt + 1} ({event.reason})",
        )
    if isinstance(event, ev.AttemptSucceeded):
        return Text.assemble(
            ("✓ ", "bold green"),
            f"{event.provider} answered: {event.tokens_in} in / "
            f"{event.tokens_out} out tokens, {usd_f(event.cost_usd)}, {event.latency_ms} ms",
        )
    if isinstance(event, ev.ProviderCooledDown):
        return Text.assemble(
            ("❄ ", "yellow"), f"{event.provider} cools down for {event.seconds:.0f} s after {event.failures} failures"
        )
    if isinstance(event, ev.StreamRestarted):
        return Text.assemble(("↺ ", "yellow"), f"{event.provider}: stream broke; partial text discarded")
    if isinstance(event, ev.BudgetLevelCrossed):
        who = event.scope if event.scope == "system" else f"{event.scope} {event.key}"
        return Text.assemble(
            ("▲ ", "bold yellow"),
            f"budget {who} ({event.period}) reached L{event.level} {event.level_name} at {event.percent:.1f}%",
        )
    if isinstance(event, ev.ChainReordered):
        return Text.assemble(("⇅ ", "yellow"), f"{event.reason}: order {' → '.join(event.order) or '(none)'}")
    if isinstance(event, ev.ValidationDone):
        verdict = ("passed", "green") if event.ok else ("blocked", "bold red")
        return Text.assemble(
            ("◇ ", "cyan"), "validation ", verdict, f": score {event.score}, {event.findings} findings"
        )
    if isinstance(event, ev.TemplateLearned):
        if event.suggestion_id:
            return Text.assemble(
                ("✎ ", "magenta"),
                f"suggestion #{event.suggestion_id} {event.status}",
                ("  (press L to review it)" if event.status == "pending" else "", "dim"),
            )
        return Text.assemble(("✎ ", "dim"), event.status)
    if isinstance(event, ev.Finished):
        return Text.assemble(
            ("■ ", "bold"), f"done from {event.source}: cost {usd_f(event.cost_usd)}, saved {usd_f(event.saved_usd)}"
        )
    if isinstance(event, ev.ConfigWarning):
        return Text.assemble(("! ", "bold yellow"), event.message)
    if isinstance(event, ev.TokensStreamed):
        return None
    return Text(str(event.to_dict()))


class PipelineLog(RichLog):
    """The lines of the current generation (cleared when a new one starts). Lines are kept and
    written again when the width changes (a log shown after being hidden, a resized terminal),
    so they wrap to the width they are shown at, not the width they arrived at."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=True, markup=False, highlight=False, auto_scroll=True, min_width=20)
        self.lines_text: list[str] = []
        self._lines: list[Text] = []
        self._written_width = 0

    def reset(self, first: str) -> None:
        self.clear()
        self.lines_text = []
        self._lines = []
        self.add(Text(first, style="bold"))

    def add(self, line: Text) -> None:
        self.lines_text.append(line.plain)
        self._lines.append(line)
        self._write(line)

    def _write(self, line: Text) -> None:
        # In the current theme's colours (a RichLog cannot read theme variables).
        self.write(themed(line, self.app.theme_variables))
        self._written_width = self.scrollable_content_region.width

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._written_width and self._lines:
            self.clear()
            for line in self._lines:
                self._write(line)


class BackoffCountdown(Static):
    """``retrying openai in 3.2 s``; empty when no backoff is running."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._until = 0.0
        self._what = ""
        self._timer = None

    def start(self, provider: str, attempt: int, delay_s: float) -> None:
        self._until = time.monotonic() + delay_s
        self._what = f"{provider} attempt {attempt}"
        if self._timer is None:
            self._timer = self.set_interval(0.1, self._tick)
        self._tick()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.update("")

    def _tick(self) -> None:
        left = self._until - time.monotonic()
        if left <= 0:
            self.stop()
            return
        self.update(f"⏳ retrying {self._what} in {left:4.1f} s  (esc cancels)")
