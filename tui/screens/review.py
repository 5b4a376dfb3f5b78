"""Parameterization review, keyboard only: a pending suggestion (its task and code), each
parameter with value, type and confidence; rename, retype, drop, edit the pattern; a live
preview of the template (slots highlighted) with the round-trip result and what the learned
constraints keep fixed when it matches (kind/modifier words, number ranges, orders); accept (save as a
template) or reject (discard); next and previous.

Edits are stored on the suggestion at once (``Engine.edit_suggestion``); the preview runs the
same checks as accepting (``Engine.preview_suggestion`` runs the validator off the loop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from engine.api import (
    SuggestionView,
    TemplateView,
    describe_slot_constraints,
    slot_types,
)
from tui.format import cells, highlight_body, highlight_pattern, usd
from tui.messages import Failed, PreviewLoaded, SuggestionDecided, SuggestionEdited, SuggestionsLoaded
from tui.screens.base import TemplarScreen
from tui.screens.modals import ChoiceModal, ConfirmModal, PatternModal, PromptModal
from tui.theme import themed
from tui.widgets.code import CodeView

if TYPE_CHECKING:
    from engine.service import Engine


def check_text(preview: Any, code: str) -> Text:
    """The round-trip verdict and every problem, as shown under the preview."""
    out = Text()
    if preview is None:
        return Text("checking…", style="dim")
    if preview.rendered and preview.rendered == code:
        out.append(
            "✓ round trip: rendering with the original values reproduces the code byte for byte\n", style="green"
        )
    elif any(p.startswith("round trip") for p in preview.problems):
        out.append("✗ round trip failed\n", style="bold red")
    else:
        out.append("· round trip not checked (fix the problems below first)\n", style="yellow")
    if preview.ok:
        out.append(
            f"✓ ready to accept: matches the task, validates (score {preview.score}), generalises", style="bold green"
        )
    else:
        for problem in preview.problems:
            out.append(f"✗ {problem}\n", style="red")
    if preview.bindings:
        out.append("\nbinds " + ", ".join(f"{k}={v!r}" for k, v in preview.bindings.items()), style="dim")
    learned = constraint_lines(getattr(preview, "params", ()))
    if learned:
        out.append("\nwhen it matches: " + " · ".join(learned), style="cyan")
    return out


def constraint_lines(params: Any) -> list[str]:
    """What each parameter's learned constraints keep fixed (kind words, ranges, orders)."""
    lines = []
    for param in params:
        text = describe_slot_constraints(param.type)
        if text:
            lines.append(f"{param.name}: {text}")
    return lines


class ReviewScreen(TemplarScreen):
    MODE = "review"
    AUTO_FOCUS = "#rev-params"
    HELP = "Decide what a paid answer's template looks like before it may answer for $0."
    BINDINGS = [
        Binding("a", "accept", "Accept", id="review.accept"),
        Binding("x", "reject", "Reject", id="review.reject"),
        Binding("n", "next", "Next", id="review.next"),
        Binding("p", "previous", "Prev", id="review.previous"),
        Binding("r", "rename", "Rename", id="review.rename"),
        Binding("t", "retype", "Type", id="review.retype"),
        Binding("d", "drop", "Drop", id="review.drop", tooltip="the selected parameter's value becomes literal text"),
        Binding("e", "edit_pattern", "Pattern", id="review.pattern"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.suggestions: list[SuggestionView] = []
        self.index = 0
        self.preview: Any = None
        self.want_id: int | None = None
        self.busy = False
        self.accepting_alias = False

    def body(self) -> ComposeResult:
        yield Static("", id="rev-head")
        with Horizontal(id="rev-main"):
            with Vertical(id="rev-left"):
                yield Label("Task", classes="pane-title")
                yield Static("", id="rev-task")
                yield Label("Original code", classes="pane-title")
                yield CodeView(id="rev-code")
            with VerticalScroll(id="rev-right"):
                yield Label("Parameters (↑↓ select · r rename · t type · d drop)", classes="pane-title")
                yield DataTable(id="rev-params", cursor_type="row")
                yield Label("Pattern (e edits)", classes="pane-title")
                yield Static("", id="rev-pattern")
                yield Label("Template preview", classes="pane-title")
                yield Static("", id="rev-body")
                yield Label("Checks", classes="pane-title")
                yield Static("", id="rev-check")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#rev-params", DataTable)
        for label, width in (("name", 12), ("type", 14), ("value", 14), ("conf", 4), ("description", 16)):
            table.add_column(label, key=label, width=width)
        table.focus()

    @property
    def current(self) -> Any:
        return self.suggestions[self.index] if 0 <= self.index < len(self.suggestions) else None

    def selected_param(self) -> Any:
        s = self.current
        if s is None or not s.params:
            return None
        row = self.query_one("#rev-params", DataTable).cursor_row
        return s.params[min(max(row, 0), len(s.params) - 1)]

    # -- data ---------------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_suggestions()

    def select_suggestion(self, suggestion_id: int) -> None:
        self.want_id = suggestion_id
        if self.engine is not None:
            self.reload()

    @work(exclusive=True, group="suggestions", exit_on_error=False)
    async def load_suggestions(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            pending = await engine.pending_suggestions()
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Suggestions", exc))
            return
        self.post_message(SuggestionsLoaded(pending))

    @work(exclusive=True, group="preview", exit_on_error=False)
    async def run_preview(self, suggestion: SuggestionView) -> None:
        engine = self.engine
        assert engine is not None
        try:
            preview = await engine.preview_suggestion(suggestion)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Preview", exc))
            return
        self.post_message(PreviewLoaded(suggestion, preview))

    @on(SuggestionsLoaded)
    def _loaded(self, message: SuggestionsLoaded) -> None:
        shown = self.current.id if self.current is not None else None
        wanted = self.want_id or shown
        self.want_id = None
        self.suggestions = message.pending
        ids = [s.id for s in self.suggestions]
        if wanted in ids:
            self.index = ids.index(wanted)
        self.index = min(self.index, max(0, len(self.suggestions) - 1))
        self.templar.pending = len(self.suggestions)
        self.show(keep_row=self.current is not None and self.current.id == shown)

    @on(PreviewLoaded)
    def _previewed(self, message: PreviewLoaded) -> None:
        if self.current is not None and message.suggestion == self.current:
            self.preview = message.preview
            self._show_preview()

    @on(SuggestionEdited)
    def _edited_view(self, message: SuggestionEdited) -> None:
        self.busy = False
        view = message.view
        self.suggestions = [view if s.id == view.id else s for s in self.suggestions]
        self.show(keep_row=True)

    def show(self, keep_row: bool = False) -> None:
        s = self.current
        table = self.query_one("#rev-params", DataTable)
        row = table.cursor_row if keep_row else 0
        table.clear()
        self.preview = None
        if s is None:
            self.query_one("#rev-head", Static).update(
                Text(
                    "No suggestions waiting for review. When a paid answer passes validation, Templar suggests how to "
                    "turn it into a template; the suggestions wait here.",
                    style="dim",
                )
            )
            for name in ("#rev-task", "#rev-pattern", "#rev-body", "#rev-check"):
                self.query_one(name, Static).update("")
            self.query_one("#rev-code", CodeView).show("")
            return
        head = Text()
        head.append(f"Suggestion {self.index + 1} of {len(self.suggestions)}", style="bold")
        head.append(
            f"  #{s.id} · {s.project}/{s.agent} · from {s.provider} {s.model} · confidence {s.confidence:.2f}"
            f" · the answer cost {usd(s.cost_micros)}"
        )
        if s.alias_of is not None:
            head.append(
                f"\nsame as template {s.alias_of}: accepting adds this wording as an alias, not a new template",
                style="bold",
            )
        if s.reason:
            head.append(f"\nwhy it is still pending: {s.reason}", style="yellow")
        self.query_one("#rev-head", Static).update(themed(head))
        self.query_one("#rev-task", Static).update(Text(s.task))
        self.query_one("#rev-code", CodeView).show(s.code)
        for p in s.params:
            value = p.to_dict()["value"]
            table.add_row(*cells(p.name, p.type, value, f"{p.confidence:.2f}", p.description), key=p.name)
        if s.params:
            table.move_cursor(row=min(row, len(s.params) - 1))
        self._show_pattern()
        self.query_one("#rev-check", Static).update(themed(check_text(None, s.code)))
        self.run_preview(s)

    def _show_pattern(self) -> None:
        s = self.current
        if s is None:
            return
        param = self.selected_param()
        focus = param.name if param is not None else None
        pattern = self.preview.pattern if self.preview is not None and self.preview.pattern else s.pattern
        self.query_one("#rev-pattern", Static).update(highlight_pattern(pattern, focus))
        body = self.preview.body if self.preview is not None else ""
        self.query_one("#rev-body", Static).update(
            highlight_body(body, focus)
            if body
            else Text(
                "(no body: a parameter is not found in the code)" if self.preview is not None else "checking…",
                style="dim",
            )
        )

    def _show_preview(self) -> None:
        self._show_pattern()
        self.query_one("#rev-check", Static).update(themed(check_text(self.preview, self.current.code)))

    @on(DataTable.RowHighlighted, "#rev-params")
    def _param_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_pattern()

    # -- actions ------------------------------------------------------------------------------

    def _ready(self) -> tuple[Engine, SuggestionView] | None:
        engine, s = self.need_engine(), self.current
        if engine is None:
            return None
        if s is None:
            self.notify("No suggestion to review.", severity="warning")
            return None
        return engine, s

    def action_next(self) -> None:
        if self.suggestions:
            self.index = (self.index + 1) % len(self.suggestions)
            self.show()

    def action_previous(self) -> None:
        if self.suggestions:
            self.index = (self.index - 1) % len(self.suggestions)
            self.show()

    def _edit(self, engine: Engine, sid: int, **change: Any) -> Callable[[], Awaitable[SuggestionView]]:
        return lambda: engine.edit_suggestion(sid, **change)

    def action_rename(self) -> None:
        ready, param = self._ready(), self.selected_param()
        if ready is None or param is None:
            return
        engine, s = ready

        def rename(new: str) -> Awaitable[SuggestionView]:
            return engine.edit_suggestion(s.id, rename={param.name: new.strip()})

        self.app.push_screen(
            PromptModal(f"Rename parameter {param.name}", "New name (an identifier)", param.name, submit=rename),
            self._edited,
        )

    def action_retype(self) -> None:
        ready, param = self._ready(), self.selected_param()
        if ready is None or param is None:
            return
        engine, s = ready
        types = slot_types()
        choices = [(t, t) for t in types]
        if param.type not in types:
            choices.insert(0, (param.type, param.type))

        def chosen(new_type: Any) -> None:
            if new_type and new_type != param.type:
                self.run_edit(self._edit(engine, s.id, retype={param.name: new_type}))

        self.app.push_screen(ChoiceModal(f"Type of {param.name} (now {param.type})", choices, param.type), chosen)

    def action_drop(self) -> None:
        ready, param = self._ready(), self.selected_param()
        if ready is None or param is None:
            return
        engine, s = ready

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_edit(self._edit(engine, s.id, drop=[param.name]))

        self.app.push_screen(
            ConfirmModal(
                f"Drop parameter {param.name}?",
                f"Its original value {param.to_dict()['value']!r} goes back into the "
                "pattern as literal text, and the template will only match that value.",
                yes="Drop",
            ),
            answered,
        )

    def action_edit_pattern(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        engine, s = ready
        self.app.push_screen(
            PatternModal(
                s.pattern,
                check=lambda text: engine.preview_suggestion(s, pattern=text),
                submit=lambda text: engine.edit_suggestion(s.id, pattern=text),
            ),
            self._edited,
        )

    def _edited(self, view: Any) -> None:
        if view is not None and view is not True:
            self.post_message(SuggestionEdited(view))

    @work(exclusive=True, group="edit", exit_on_error=False)
    async def run_edit(self, change: Callable[[], Awaitable[SuggestionView]]) -> None:
        try:
            view = await change()
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Review", exc))
            return
        self.post_message(SuggestionEdited(view))

    def action_accept(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        engine, s = ready
        self.notify(f"Checking suggestion #{s.id}…", timeout=2)
        self.accepting_alias = s.alias_of is not None
        self.run_decision(lambda: engine.accept_suggestion(s.id), "accepted")

    def action_reject(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        engine, s = ready

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_decision(lambda: engine.reject_suggestion(s.id), "rejected")

        self.app.push_screen(
            ConfirmModal(f"Reject suggestion #{s.id}?", "It is discarded; no template is made.", yes="Reject"), answered
        )

    # not exclusive: a decision already on its way to the store is never dropped unreported
    @work(group="decision", exit_on_error=False)
    async def run_decision(
        self, decide: Callable[[], Awaitable[TemplateView | SuggestionView]], kind: Literal["accepted", "rejected"]
    ) -> None:
        try:
            result = await decide()
        except Exception as exc:  # noqa: BLE001 - e.g. accept refused with the reason: a notification
            self.post_message(Failed("Review", exc))
            self.post_message(SuggestionDecided("failed"))
            return
        self.post_message(SuggestionDecided(kind, result))

    @on(SuggestionDecided)
    def _decided(self, message: SuggestionDecided) -> None:
        view = message.result
        if message.outcome == "accepted" and isinstance(view, TemplateView) and self.accepting_alias:
            self.notify(
                f"Added as an alias of template #{view.id} {view.name}: it now answers this wording for $0.",
                title="Alias saved",
            )
        elif message.outcome == "accepted" and isinstance(view, TemplateView):
            self.notify(
                f"Saved as template #{view.id} {view.name} v{view.version}: it now answers “{view.pattern}” for $0.",
                title="Template saved",
            )
        elif message.outcome == "rejected" and view is not None:
            self.notify(f"Suggestion #{view.id} rejected.")
        self.templar.refresh_pending()
        self.reload()
