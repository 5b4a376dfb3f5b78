"""Parameterization review, keyboard only: a pending suggestion (its task and code), each
parameter with value, type and confidence; rename, retype, drop, edit the pattern; a live
preview of the template (slots highlighted) with the round-trip result and what the learned
constraints keep fixed when it matches (kind/modifier words, number ranges, orders); accept (save as a
template) or reject (discard); next and previous.

Edits are stored on the suggestion at once (``TemplateLibrary.edit``); the preview runs the
same checks as accepting, in a worker thread (it runs the validator: never on the loop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Label, Static

from tui.format import cells, highlight_body, highlight_pattern, usd
from tui.messages import Done, Failed, Loaded
from tui.screens.base import TemplarScreen
from tui.screens.modals import ChoiceModal, ConfirmModal, PatternModal, PromptModal
from tui.theme import themed
from tui.widgets.code import CodeView


def check_text(preview: Any, code: str) -> Text:
    """The round-trip verdict and every problem, as shown under the preview."""
    out = Text()
    if preview is None:
        return Text("checking…", style="dim")
    if preview.rendered and preview.rendered == code:
        out.append("✓ round trip: rendering with the original values reproduces the code byte for byte\n",
                   style="green")
    elif any(p.startswith("round trip") for p in preview.problems):
        out.append("✗ round trip failed\n", style="bold red")
    else:
        out.append("· round trip not checked (fix the problems below first)\n", style="yellow")
    if preview.ok:
        out.append(f"✓ ready to accept: matches the task, validates (score {preview.score}), generalises",
                   style="bold green")
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
    from engine.templates import SlotError, parse_slot_type
    from engine.templates.meaning import describe_constraints

    lines = []
    for param in params:
        try:
            text = describe_constraints(parse_slot_type(param.type))
        except SlotError:
            continue
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
        self.suggestions: list[Any] = []
        self.index = 0
        self.preview: Any = None
        self.want_id: int | None = None
        self.busy = False

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
            pending = await engine.store.run(engine.library.suggestions)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Suggestions", exc))
            return
        self.post_message(Loaded("suggestions", pending))

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def run_preview(self, suggestion: Any) -> None:
        engine = self.engine
        assert engine is not None
        try:
            preview = engine.library.preview(suggestion)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Preview", exc))
            return
        self.post_message(Loaded("preview", (suggestion, preview)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.kind == "suggestions":
            shown = self.current.id if self.current is not None else None
            wanted = self.want_id or shown
            self.want_id = None
            self.suggestions = message.data
            ids = [s.id for s in self.suggestions]
            if wanted in ids:
                self.index = ids.index(wanted)
            self.index = min(self.index, max(0, len(self.suggestions) - 1))
            self.templar.pending = len(self.suggestions)
            self.show(keep_row=self.current is not None and self.current.id == shown)
        elif message.kind == "preview":
            suggestion, preview = message.data
            if self.current is not None and suggestion == self.current:
                self.preview = preview
                self._show_preview()
        elif message.kind == "edited":
            self.busy = False
            view = message.data
            self.suggestions = [view if s.id == view.id else s for s in self.suggestions]
            self.show(keep_row=True)

    def show(self, keep_row: bool = False) -> None:
        s = self.current
        table = self.query_one("#rev-params", DataTable)
        row = table.cursor_row if keep_row else 0
        table.clear()
        self.preview = None
        if s is None:
            self.query_one("#rev-head", Static).update(Text(
                "No suggestions waiting for review. When a paid answer passes validation, Templar suggests how to "
                "turn it into a template; the suggestions wait here.", style="dim"))
            for name in ("#rev-task", "#rev-pattern", "#rev-body", "#rev-check"):
                self.query_one(name, Static).update("")
            self.query_one("#rev-code", CodeView).show("")
            return
        head = Text()
        head.append(f"Suggestion {self.index + 1} of {len(self.suggestions)}", style="bold")
        head.append(f"  #{s.id} · {s.project}/{s.agent} · from {s.provider} {s.model} · confidence {s.confidence:.2f}"
                    f" · the answer cost {usd(s.cost_micros)}")
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
            highlight_body(body, focus) if body else Text("(no body: a parameter is not found in the code)"
                                                          if self.preview is not None else "checking…", style="dim"))

    def _show_preview(self) -> None:
        self._show_pattern()
        self.query_one("#rev-check", Static).update(themed(check_text(self.preview, self.current.code)))

    @on(DataTable.RowHighlighted, "#rev-params")
    def _param_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_pattern()

    # -- actions ------------------------------------------------------------------------------

    def _ready(self) -> tuple[Any, Any] | None:
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

    def _edit(self, engine: Any, sid: int, **change: Any) -> Callable[[], Any]:
        return lambda: engine.store.call(lambda: engine.library.edit(sid, **change))

    def action_rename(self) -> None:
        ready, param = self._ready(), self.selected_param()
        if ready is None or param is None:
            return
        engine, s = ready
        def rename(new: str) -> Any:
            return engine.store.call(lambda: engine.library.edit(s.id, rename={param.name: new.strip()}))

        self.app.push_screen(
            PromptModal(f"Rename parameter {param.name}", "New name (an identifier)", param.name, submit=rename),
            self._edited)

    def action_retype(self) -> None:
        ready, param = self._ready(), self.selected_param()
        if ready is None or param is None:
            return
        engine, s = ready
        from engine.learning.suggest import SLOT_TYPES

        choices = [(t, t) for t in SLOT_TYPES]
        if param.type not in SLOT_TYPES:
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

        self.app.push_screen(ConfirmModal(
            f"Drop parameter {param.name}?", f"Its original value {param.to_dict()['value']!r} goes back into the "
            "pattern as literal text, and the template will only match that value.", yes="Drop"), answered)

    def action_edit_pattern(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        engine, s = ready
        from engine.learning.review import check

        def live(text: str) -> Any:
            return check(s.task, s.code, text, list(s.params), engine.library.validator_factory())

        self.app.push_screen(PatternModal(s.pattern, check=live, submit=lambda text: engine.store.call(
            lambda: engine.library.edit(s.id, pattern=text))), self._edited)

    def _edited(self, view: Any) -> None:
        if view is not None and view is not True:
            self.post_message(Loaded("edited", view))

    @work(thread=True, exclusive=True, group="edit", exit_on_error=False)
    def run_edit(self, change: Callable[[], Any]) -> None:
        try:
            view = change()
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Review", exc))
            return
        self.post_message(Loaded("edited", view))

    def action_accept(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        engine, s = ready
        self.notify(f"Checking suggestion #{s.id}…", timeout=2)
        self.run_decision(lambda: engine.store.call(engine.library.accept, s.id), "accepted")

    def action_reject(self) -> None:
        ready = self._ready()
        if ready is None:
            return
        engine, s = ready

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_decision(lambda: engine.store.call(engine.library.reject, s.id), "rejected")

        self.app.push_screen(ConfirmModal(f"Reject suggestion #{s.id}?", "It is discarded; no template is made.",
                                          yes="Reject"), answered)

    @work(thread=True, exclusive=True, group="decision", exit_on_error=False)
    def run_decision(self, decide: Callable[[], Any], kind: str) -> None:
        try:
            result = decide()
        except Exception as exc:  # noqa: BLE001 - e.g. accept refused with the reason: a notification
            self.post_message(Failed("Review", exc))
            self.post_message(Done("refresh"))
            return
        self.post_message(Done(kind, result))

    @on(Done)
    def _decided(self, message: Done) -> None:
        if message.kind == "accepted":
            view = message.data
            self.notify(f"Saved as template #{view.id} {view.name} v{view.version}: it now answers "
                        f"“{view.pattern}” for $0.", title="Template saved")
        elif message.kind == "rejected":
            self.notify(f"Suggestion #{message.data.id} rejected.")
        self.templar.refresh_pending()
        self.reload()
