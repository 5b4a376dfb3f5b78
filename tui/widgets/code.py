"""Code and report views: highlighted code (plain while it streams in), result badges, and a
validation report.

Invariant: nothing here names a colour. Code is highlighted with ``textual.highlight`` and the
badges and report are ``Content`` markup over theme variables ($success, $warning, $text-muted,
…), so the panel's background shows through every token and a theme switch (command palette)
recolours everything, light themes included.
"""

from __future__ import annotations

from typing import Any

from textual.containers import ScrollableContainer
from textual.content import Content
from textual.widgets import Static

from tui.format import usd

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
SOURCE_BADGE = {"learned": "$success", "builtin": "$success", "cache": "$primary", "llm": "$warning"}
SEVERITY_STYLE = {"high": "bold $text-error", "medium": "$text-warning"}


def highlighted(code: str) -> Content:
    """``code`` highlighted as Python with a line-number gutter; theme variables only."""
    from textual.highlight import highlight

    lines = highlight(code.rstrip("\n"), language="python").split("\n", allow_blank=True)
    width = len(str(len(lines)))
    gutter = [Content.styled(f"{n:>{width}} ", "$text-muted") for n in range(1, len(lines) + 1)]
    return Content("\n").join(Content.assemble(number, line) for number, line in zip(gutter, lines, strict=True))


class CodeView(ScrollableContainer):
    """A code panel that scrolls both ways (long lines are never cut or wrapped)."""

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(id=id, classes="code-view")
        self.code = ""
        self._placeholder = placeholder

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Content.styled(self._placeholder, "$text-muted"), classes="code-body")

    def show(self, code: str, *, streaming: bool = False) -> None:
        self.code = code
        body = self.query_one(".code-body", Static)
        if not code:
            body.update(Content.styled(self._placeholder, "$text-muted"))
        elif streaming:
            body.update(Content(code))
        else:
            body.update(highlighted(code))
        if streaming:
            self.scroll_end(animate=False)
        else:
            self.scroll_home(animate=False)


def badges(result: Any) -> Content:
    """Source, provider, cost, saved and latency of a ``GenerationResult``."""
    colour = SOURCE_BADGE.get(result.source, "$secondary")
    parts: list[Content | tuple[str, str] | str] = [(f" {result.source} ", f"bold $background on {colour}")]
    if result.provider:
        parts.append(f"  {result.provider} {result.model}")
    parts.append(f"  cost {usd(result.cost_micros)}")
    parts.append((f"  saved {usd(result.saved_micros)}", "$text-success" if result.saved_micros else ""))
    parts.append(f"  {result.latency_ms} ms")
    if result.attempts:
        parts.append(f"  {result.attempts} attempt{'s' if result.attempts != 1 else ''}")
    return Content.assemble(*parts)


def explanation(data: dict[str, Any]) -> Content | None:
    """Why a template answered (template, pattern, bindings), or the similar templates offered."""
    if data.get("template_id") is not None:
        template = data["template_id"]
        bindings = ", ".join(f"{k}={v!r}" for k, v in (data.get("bindings") or {}).items())
        return Content.assemble(
            ("template ", "bold"),
            f"{'learned #' if isinstance(template, int) else 'built-in '}{template} v{data.get('template_version', 1)}",
            ("  pattern ", "bold"),
            str(data.get("pattern", "")),
            ("\nbindings ", "bold"),
            bindings or "—",
        )
    similar = data.get("similar") or []
    if similar:
        rows = [f"{s['source']} {s['template']} ({s['score']}): {s['pattern']}" for s in similar[:3]]
        return Content.styled("similar templates (not served): " + "; ".join(rows), "$text-muted")
    return None


def report(data: dict[str, Any]) -> Content:
    """The validation report of a result dict (``to_dict()``), findings sorted by severity."""
    validation = data.get("validation")
    if not validation:
        if data.get("source") == "cache":
            return Content.styled(
                "Cached answers were validated when first generated; only passing answers are cached.", "$text-muted"
            )
        return Content.styled("No validation report.", "$text-muted")
    ok = validation.get("ok")
    parts: list[Content | tuple[str, str] | str] = [
        (" passed " if ok else " blocked ", "bold $background on $success" if ok else "bold $background on $error"),
        f"  score {validation.get('score', 0)}/100",
    ]
    if validation.get("repairs"):
        parts.append(f"  after {validation['repairs']} repair(s)")
    review = validation.get("review")
    if review:
        parts.append(f"  review by {review.get('reviewer') or '—'}: {review.get('verdict')}")
    findings = sorted(
        validation.get("findings", []), key=lambda f: (SEVERITY_ORDER.get(f["severity"], 3), f.get("line") or 0)
    )
    if not findings:
        parts.append(("\nno findings", "$text-muted"))
    for f in findings[:50]:
        line = f.get("line") or ""
        parts += [
            "\n",
            (f"{f['severity']:<6} ", SEVERITY_STYLE.get(f["severity"], "$text-muted")),
            f"{f['rule_id']:<8} {line!s:>4}  {f['message']}",
            ("  block" if f.get("blocking") else "", "bold $text-error"),
        ]
    return Content.assemble(*parts)
