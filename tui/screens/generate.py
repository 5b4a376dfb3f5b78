"""The generation screen: a task, live progress through the pipeline, the answer and its report.

The generation itself runs in a thread worker with its own event loop (see ``tui.runner``);
handlers here own every widget. Only the latest request's messages are shown: an older one
(replaced or cancelled) is ignored. An answer that is not deliverable (``engine.delivery``: it
failed validation, or a critical answer was not approved) is shown under a red banner with the
reason, and copying or saving it asks for a confirmation first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static
from textual.worker import get_current_worker

from engine import events as ev
from engine.money import format_usd_exact
from tui.messages import (
    ConfirmationNeeded,
    GenerationCancelled,
    GenerationDone,
    GenerationEvent,
    GenerationFailed,
    GenerationRequest,
    StreamText,
)
from tui.runner import drive
from tui.screens.base import TemplarScreen
from tui.screens.modals import ConfirmModal, PromptModal, critical_budget_message
from tui.widgets.code import CodeView, badges, explanation, report
from tui.widgets.pipeline import BackoffCountdown, PipelineLog, describe
from tui.widgets.scope import ScopePicker


def write_code(path_text: str, code: str) -> str:
    """Write ``code`` to a new file (never overwrites); returns the path written."""
    from engine.errors import BadInput

    path = Path(path_text.strip() or "generated.py").expanduser()
    if path.exists():
        raise BadInput(f"{path} already exists; choose another name")
    if not path.parent.exists():
        raise BadInput(f"{path.parent} does not exist")
    path.write_text(code, encoding="utf-8")
    return str(path)


def strip_fence(text: str) -> str:
    """Streamed model text without its opening ```lang line and closing fence (shown as it comes)."""
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
    return text.removesuffix("```").removesuffix("```\n")


class GenerateScreen(TemplarScreen):
    MODE = "generate"
    AUTO_FOCUS = "#task"
    HELP = "Ask for code. Templates and the cache answer for $0; otherwise the provider chain is paid."
    BINDINGS = [
        # Not in the footer: enter in the task box does the same, and 80 columns are scarce.
        Binding("ctrl+g", "generate", "Generate", id="generate.run", priority=True, show=False),
        Binding("slash", "focus_task", "Task", id="generate.focus", key_display="/"),
        Binding(
            "x",
            "regenerate",
            "Redo",
            id="generate.regenerate",
            tooltip="a fresh paid answer for the same task (skips templates and the cache)",
        ),
        Binding("y", "copy", "Copy", id="generate.copy"),
        Binding("w", "save", "Save", id="generate.save"),
        Binding(
            "L",
            "learn",
            "Learn",
            id="generate.learn",
            key_display="L",
            tooltip="review the template suggested from this paid answer",
        ),
        Binding(
            "exclamation_mark",
            "report_wrong",
            "Wrong",
            id="generate.wrong",
            key_display="!",
            tooltip="report this template answer as wrong (asks why; reverses its savings)",
        ),
        Binding(
            "p",
            "toggle_log",
            "Log",
            id="generate.log",
            tooltip="show or hide the pipeline log (hidden by default under 100 columns)",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="generate.cancel",
            tooltip="cancel a running generation; otherwise leave the task box",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current: GenerationRequest | None = None
        self.running = False
        self.result: Any = None
        self.result_data: dict[str, Any] = {}

    def body(self) -> ComposeResult:
        with Horizontal(id="gen-top"):
            yield Input(placeholder="Describe the code you want · enter generates · esc leaves the input", id="task")
            yield ScopePicker(id="gen-scope")
        yield Static("", id="providers")
        with Horizontal(id="gen-main"):
            with Vertical(id="gen-left"):
                yield Label("Pipeline", classes="pane-title")
                yield PipelineLog(id="pipeline")
                yield BackoffCountdown(id="countdown")
            with Vertical(id="gen-right"):
                yield Static("", id="banner")
                yield Static(Text("No answer yet.", style="dim"), id="badges")
                yield CodeView(id="code", placeholder="The answer appears here, streamed as it is written.")
                yield Static("", id="explain")
                yield Label("Validation", classes="pane-title")
                yield Static(Text("—", style="dim"), id="report")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.app, "provider_note", self._show_providers)
        self.query_one("#task", Input).focus()

    def _show_providers(self, note: Any) -> None:
        widget = self.query_one("#providers", Static)
        widget.update(Text(note or ""))
        widget.set_class(bool(getattr(self.app, "no_keys", False)), "-warning")

    # -- actions -------------------------------------------------------------------------------

    def action_focus_task(self) -> None:
        self.query_one("#task", Input).focus()

    @on(Input.Submitted, "#task")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_generate()

    def action_generate(self, fresh: bool = False) -> None:
        task = self.query_one("#task", Input).value.strip()
        if not task and fresh and self.current is not None:
            task = self.current.task
        if not task:
            self.notify("Type a task first (press / to focus the task).", severity="warning")
            return
        if self.need_engine() is None:
            return
        project, agent = self.scope()
        self.start(GenerationRequest(task, project, agent, fresh=fresh))

    def action_regenerate(self) -> None:
        """A fresh paid answer for the same task: skips templates and the cache."""
        self.action_generate(fresh=True)

    def start(self, request: GenerationRequest) -> None:
        if isinstance(self.focused, Input):
            # Leave the task box: single keys (L, y, w, x, q) act on the answer instead of typing.
            self.query_one(CodeView).focus()
        self.current = request
        self.running = True
        self.result, self.result_data = None, {}
        how = " (fresh: templates and cache skipped)" if request.fresh else ""
        how += " (confirmed)" if request.confirmed else ""
        self.query_one(PipelineLog).reset(f"{request.task[:80]} — {request.project}/{request.agent}{how}")
        self.query_one(CodeView).show("")
        self.query_one("#badges", Static).update(Text("working…", style="dim"))
        self._show_banner(None)
        self.query_one("#explain", Static).update("")
        self.query_one("#report", Static).update(Text("—", style="dim"))
        self.run_generation(request)

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    async def run_generation(self, request: GenerationRequest) -> None:
        worker = get_current_worker()
        engine = self.engine
        assert engine is not None
        await drive(engine, request, self.post_message, lambda: worker.is_cancelled)

    def action_cancel(self) -> None:
        """Esc cancels a running generation (wherever the focus is); otherwise it leaves the task box."""
        if isinstance(self.focused, Input):
            self.query_one(CodeView).focus()
        if self.running:
            self.workers.cancel_group(self, "generate")
            self.running = False
            self.templar.stream_rate = ""
            self.query_one(BackoffCountdown).stop()
            self.query_one(PipelineLog).add(Text("■ cancelling; releasing any reservation…", style="yellow"))
            self.query_one("#badges", Static).update(Text("cancelled", style="dim"))

    def _confirm_undeliverable(self, what: str, then: Any) -> None:
        """Run ``then()`` at once for a deliverable answer; otherwise only after a yes."""
        delivery = self.result.delivery
        if delivery.ok:
            then()
            return
        findings = "\n".join(f"  {line}" for line in delivery.finding_lines(8))
        self.app.push_screen(
            ConfirmModal(
                f"{what} an answer that was not handed over?",
                f"{delivery.reason}.\n{findings}\n\nTemplar does not hand this answer over as a success. "
                f"{what} it anyway?",
                yes=f"{what} anyway",
                no="Don't",
            ),
            lambda yes: (
                then() if yes else self.notify(f"Not {what.lower()}d: the answer is not validated.", severity="warning")
            ),
        )

    def action_toggle_log(self) -> None:
        """The log's default is shown when wide and hidden when narrow; ``p`` flips it."""
        self.toggle_class("-log-flipped")

    def action_copy(self) -> None:
        code = self.query_one(CodeView).code
        if not code or self.result is None:
            self.notify("Nothing to copy yet.", severity="warning")
            return

        def copy() -> None:
            self.app.copy_to_clipboard(code)
            self.notify(f"Copied {len(code.splitlines())} lines to the clipboard.")

        self._confirm_undeliverable("Copy", copy)

    def action_save(self) -> None:
        code = self.query_one(CodeView).code
        if not code or self.result is None:
            self.notify("Nothing to save yet.", severity="warning")
            return
        self._confirm_undeliverable("Save", lambda: self._ask_save_path(code))

    def _ask_save_path(self, code: str) -> None:
        def saved(path: Any) -> None:
            if path:
                self.notify(f"Saved to {path}")

        self.app.push_screen(
            PromptModal("Save the code", "File name", "generated.py", submit=lambda text: write_code(text, code)), saved
        )

    def action_learn(self) -> None:
        sid = self.result_data.get("suggestion_id")
        if self.result is None:
            self.notify("Generate something first.", severity="warning")
        elif sid:
            self.templar.open_review(int(sid))
        elif self.result.source != "llm":
            self.notify(f"This answer came from the {self.result.source}; only paid answers become templates.")
        else:
            self.notify(
                "No suggestion was made for this answer (learning off, or the suggestion call failed).",
                severity="warning",
            )

    def action_report_wrong(self) -> None:
        """Report the shown template answer as wrong, with a reason: the engine reverses its
        savings and never serves these bindings from that template version again."""
        result = self.result
        if result is None:
            self.notify("Generate something first.", severity="warning")
            return
        if result.source not in ("learned", "builtin"):
            self.notify(
                f"This answer came from the {result.source}; only template answers take wrong-answer feedback.",
                severity="warning",
            )
            return
        engine = self.need_engine()
        if engine is None:
            return
        request_id = result.request_id

        def reported(outcome: Any) -> None:
            if not outcome or outcome is True:
                return
            after = (
                f"{outcome.template} is retired."
                if outcome.retired
                else f"{outcome.wrong_reports} of {outcome.retire_after} reports before it retires."
            )
            self.notify(
                f"Reported: {outcome.template} v{outcome.version} will not answer these bindings again; "
                f"{format_usd_exact(outcome.reversed_micros)} savings reversed. {after}",
                title="Wrong answer",
            )

        self.app.push_screen(
            PromptModal(
                "Report a wrong answer",
                f"What is wrong with this {result.source} template answer?",
                "",
                submit=lambda text: engine.report_wrong_answer(request_id, text),
                help_text="enter reports it (its savings are reversed) · esc cancels",
            ),
            reported,
        )

    # -- messages from the worker -------------------------------------------------------------

    def _mine(self, request: GenerationRequest) -> bool:
        return request is self.current

    @on(GenerationEvent)
    def _event(self, message: GenerationEvent) -> None:
        if not self._mine(message.request):
            return
        event = message.event
        countdown = self.query_one(BackoffCountdown)
        if isinstance(event, ev.Backoff):
            countdown.start(event.provider, event.attempt + 1, event.delay_s)
        elif isinstance(event, (ev.AttemptStarted, ev.Finished)):
            countdown.stop()
        elif isinstance(event, ev.BudgetLevelCrossed):
            who = event.scope if event.scope == "system" else f"{event.scope} {event.key}"
            self.notify(
                f"Budget {who} reached L{event.level} {event.level_name} ({event.percent:.0f}%).",
                severity="warning" if event.level < 5 else "error",
                title="Budget",
            )
        elif isinstance(event, ev.TemplateLearned):
            self.templar.refresh_pending()
            log = self.query_one(PipelineLog)
            if event.suggestion_id and event.status == "pending" and not (log.display and log.region.area):
                # The log is collapsed (narrow): its "press L to review it" line would go unseen.
                self.notify(f"Suggestion #{event.suggestion_id} is pending: press L to review it.")
        if isinstance(event, ev.AttemptSucceeded):
            self.templar.stream_rate = ""  # the stream is over (validation may still run)
        line = describe(event)
        if line is not None:
            self.query_one(PipelineLog).add(line)

    @on(StreamText)
    def _stream(self, message: StreamText) -> None:
        if self._mine(message.request):
            self.query_one(CodeView).show(strip_fence(message.text), streaming=True)
            rate = message.rate
            self.templar.stream_rate = "" if rate is None else f"{rate:.0f} tok/s"
            line = f"streaming · ~{message.tokens} tokens" + (f" · {rate:.0f} tok/s" if rate is not None else "")
            self.query_one("#badges", Static).update(Text(line, style="dim"))

    @on(GenerationDone)
    def _done(self, message: GenerationDone) -> None:
        if not self._mine(message.request):
            return
        self.running = False
        self.templar.stream_rate = ""
        result = message.result
        self.result, self.result_data = result, result.to_dict()
        self.query_one(BackoffCountdown).stop()
        self.query_one(CodeView).show(result.code)
        self.query_one("#badges", Static).update(badges(result))
        self.query_one("#explain", Static).update(explanation(self.result_data) or "")
        self.query_one("#report", Static).update(report(self.result_data))
        self._show_banner(result)
        self.templar.refresh_pending()

    def _show_banner(self, result: Any) -> None:
        """The red "not handed over" banner for an undeliverable answer; hidden otherwise."""
        banner = self.query_one("#banner", Static)
        delivery = None if result is None else result.delivery
        if delivery is None or delivery.ok:
            banner.update("")
            banner.remove_class("-shown")
            return
        text = Text(f"✗ NOT VALIDATED — not handed over: {delivery.reason}")
        for line in delivery.finding_lines(4):
            text.append(f"\n  {line}")
        text.append("\n  copy (y) and save (w) ask first")
        banner.update(text)
        banner.add_class("-shown")

    @on(GenerationFailed)
    def _failed_generation(self, message: GenerationFailed) -> None:
        if not self._mine(message.request):
            return
        self.running = False
        self.templar.stream_rate = ""
        self.query_one(BackoffCountdown).stop()
        self.query_one(PipelineLog).add(Text(f"✗ {message.error}", style="bold red"))
        self.query_one("#badges", Static).update(Text("no answer", style="dim"))
        self.templar.report_error(message.error, title="Generation")

    @on(GenerationCancelled)
    def _cancelled(self, message: GenerationCancelled) -> None:
        if self._mine(message.request):
            self.running = False
            self.templar.stream_rate = ""
            self.query_one(PipelineLog).add(
                Text("■ cancelled; any reservation was released: nothing is charged", style="yellow")
            )

    @on(ConfirmationNeeded)
    def _confirm(self, message: ConfirmationNeeded) -> None:
        if not self._mine(message.request):
            return
        self.running = False
        self.templar.stream_rate = ""
        request = message.request
        self.query_one(PipelineLog).add(
            Text("? budget critical (L5): a paid call needs your confirmation", style="bold yellow")
        )
        self.query_one("#badges", Static).update(Text("waiting for your confirmation", style="yellow"))

        def answered(yes: bool | None) -> None:
            if yes:
                self.start(
                    GenerationRequest(request.task, request.project, request.agent, confirmed=True, fresh=request.fresh)
                )
            else:
                self.query_one(PipelineLog).add(Text("■ not confirmed: no paid call was made", style="yellow"))
                self.query_one("#badges", Static).update(Text("no answer (not confirmed)", style="dim"))

        self.app.push_screen(
            ConfirmModal(
                "Budget critical (L5): confirm this paid call",
                critical_budget_message(request.project, request.agent, self._alerts(request)),
                yes="Make the paid call",
                no="Don't",
            ),
            answered,
        )

    def _alerts(self, request: Any) -> Any:
        """The alert thresholds in force for the request's project and agent."""
        from engine.api.config import ConfigDesk

        desk = self.engine or ConfigDesk.from_env()
        return desk.alert_settings(request.project, request.agent)  # the defaults when a file is broken
