"""Code and report views: syntax-highlighted code (plain while it streams in), result badges,
and a validation report table."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.format import cells, usd

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


class CodeView(VerticalScroll):
    """A scrollable code panel."""

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(id=id, classes="code-view")
        self.code = ""
        self._placeholder = placeholder

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text(self._placeholder, style="dim"), classes="code-body")

    def show(self, code: str, *, streaming: bool = False) -> None:
        self.code = code
        body = self.query_one(".code-body", Static)
        if streaming or not code:
            body.update(Text(code or self._placeholder, style="" if code else "dim"))
        else:
            body.update(Syntax(code, "python", theme="monokai", line_numbers=True, word_wrap=False,
                               background_color="default", indent_guides=False))
        if streaming:
            self.scroll_end(animate=False)
        else:
            self.scroll_home(animate=False)


def badges(result: Any) -> Text:
    """Source, provider, cost, saved and latency of a ``GenerationResult``."""
    text = Text()
    style = {"learned": "bold black on green", "builtin": "bold black on green", "cache": "bold black on cyan",
             "llm": "bold black on yellow"}.get(result.source, "reverse")
    text.append(f" {result.source} ", style=style)
    if result.provider:
        text.append(f"  {result.provider} {result.model}")
    text.append(f"  cost {usd(result.cost_micros)}")
    text.append(f"  saved {usd(result.saved_micros)}", style="green" if result.saved_micros else "")
    text.append(f"  {result.latency_ms} ms")
    if result.attempts:
        text.append(f"  {result.attempts} attempt{'s' if result.attempts != 1 else ''}")
    return text


def explanation(data: dict[str, Any]) -> Text | None:
    """Why a template answered (template, pattern, bindings), or the similar templates offered."""
    if data.get("template_id") is not None:
        text = Text()
        template = data["template_id"]
        text.append("template ", style="bold")
        text.append(f"{'learned #' if isinstance(template, int) else 'built-in '}{template} "
                    f"v{data.get('template_version', 1)}")
        text.append("  pattern ", style="bold")
        text.append(str(data.get("pattern", "")))
        bindings = ", ".join(f"{k}={v!r}" for k, v in (data.get("bindings") or {}).items())
        text.append("\nbindings ", style="bold")
        text.append(bindings or "—")
        return text
    similar = data.get("similar") or []
    if similar:
        rows = [f"{s['source']} {s['template']} ({s['score']}): {s['pattern']}" for s in similar[:3]]
        return Text("similar templates (not served): " + "; ".join(rows), style="dim")
    return None


def report(data: dict[str, Any]) -> RenderableType:
    """The validation report of a result dict (``to_dict()``), findings sorted by severity."""
    validation = data.get("validation")
    if not validation:
        if data.get("source") == "cache":
            return Text("Cached answers were validated when first generated; only passing answers are cached.",
                        style="dim")
        return Text("No validation report.", style="dim")
    verdict = Text()
    verdict.append(" passed " if validation.get("ok") else " blocked ",
                   style="bold black on green" if validation.get("ok") else "bold white on red")
    verdict.append(f"  score {validation.get('score', 0)}/100")
    if validation.get("repairs"):
        verdict.append(f"  after {validation['repairs']} repair(s)")
    review = validation.get("review")
    if review:
        verdict.append(f"  review by {review.get('reviewer') or '—'}: {review.get('verdict')}")
    findings = sorted(validation.get("findings", []),
                      key=lambda f: (SEVERITY_ORDER.get(f["severity"], 3), f.get("line") or 0))
    if not findings:
        return Group(verdict, Text("no findings", style="dim"))
    table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    for name, kwargs in (("sev", {"width": 6}), ("rule", {"width": 8}), ("line", {"width": 4, "justify": "right"}),
                         ("message", {"ratio": 1}), ("", {"width": 5})):
        table.add_column(name, **kwargs)
    for f in findings[:50]:
        sev_style = {"high": "bold red", "medium": "yellow"}.get(f["severity"], "dim")
        table.add_row(*cells(Text(f["severity"], style=sev_style), f["rule_id"], f.get("line") or "",
                             f["message"], "block" if f.get("blocking") else ""))
    return Group(verdict, table)
