"""Modal dialogs: confirm (the L5 budget question), prompt (with the save run in a worker and
its error shown in place), choose one of a list, and edit a pattern with a live preview.

A prompt's ``submit`` is an engine call: a plain function, which runs on a worker thread, or one
returning an awaitable (an async ``Engine`` method), which is awaited on the app's loop; only
its outcome comes back as a message. On an error the dialog stays open with
the engine's one-line message, so the user can fix the value; nothing was written.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.format import highlight_body, highlight_pattern
from tui.messages import Failed, PatternChecked, PromptSubmitted
from tui.theme import themed


def outcome(value: Any) -> Any:
    """``value``, or, for a coroutine (an async engine call), what it returns: run to completion
    on this worker thread's own event loop (never the app's)."""
    return asyncio.run(value) if inspect.iscoroutine(value) else value


class ConfirmModal(ModalScreen[bool]):
    """Yes or no. ``y``/enter says yes, ``n``/escape says no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, message: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="modal confirm-modal")
        self.title_text, self.message, self.yes, self.no = title, message, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(self.message), classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="warning", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def critical_budget_message(project: str, agent: str, alerts: Any) -> str:
    """The L5 question, with the thresholds in force for ``project``/``agent`` (``alerts`` is
    their ``AlertSettings``): levels count spent + reserved."""
    return (
        f"A budget that {project}/{agent} spends from is at its critical level ({alerts.critical:g} % or more of "
        f"its limit, counting spent + reserved; paid calls are refused at {alerts.exhausted:g} %), so every paid "
        "call needs a yes. Templates and the cache had no answer for this task.\n\n"
        "Make the paid call? (b shows the budgets)"
    )


class PromptModal(ModalScreen[Any]):
    """Ask for one line of text; ``submit(text)`` (if given) runs in a worker and its result is
    what the dialog returns. Escape cancels (returns None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(
        self,
        title: str,
        label: str,
        value: str = "",
        *,
        submit: Callable[[str], Any] | None = None,
        help_text: str = "",
    ) -> None:
        super().__init__(classes="modal prompt-modal")
        self.title_text, self.label_text, self.value = title, label, value
        self.submit, self.help_text = submit, help_text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.label_text)
            yield Input(self.value, id="prompt-input", select_on_focus=False)
            yield from self.compose_extra()
            yield Static("", id="prompt-error", classes="dialog-error")
            yield Static(self.help_text or "enter saves · esc cancels", classes="dialog-help")

    def compose_extra(self) -> ComposeResult:
        return iter(())

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.submit is None:
            self.dismiss(event.value)
            return
        self.query_one("#prompt-error", Static).update("saving…")
        self.run_submit(event.value)

    @work(exclusive=True, group="submit", exit_on_error=False)
    async def run_submit(self, text: str) -> None:
        assert self.submit is not None
        try:
            result = await asyncio.to_thread(self.submit, text)  # a plain function may block: not on the loop
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a crash
            self.post_message(Failed("submit", exc))
            return
        self.post_message(PromptSubmitted(result))

    @on(PromptSubmitted)
    def _done(self, message: PromptSubmitted) -> None:
        self.dismiss(message.result if message.result is not None else True)

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.query_one("#prompt-error", Static).update(Text(str(message.error) or type(message.error).__name__))


class ChoiceModal(ModalScreen[Any]):
    """Pick one of ``choices`` ((label, value) pairs); enter picks, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, choices: list[tuple[str, Any]], current: Any = None) -> None:
        super().__init__(classes="modal choice-modal")
        self.title_text, self.choices, self.current = title, choices, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*[Option(label, id=str(i)) for i, (label, _) in enumerate(self.choices)], id="choices")
            yield Static("↑↓ choose · enter picks · esc cancels", classes="dialog-help")

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        options.focus()
        for index, (_, value) in enumerate(self.choices):
            if value == self.current:
                options.highlighted = index

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)][1])


class PatternModal(PromptModal):
    """Edit a suggestion's task pattern; every change is checked live (``check(text)`` runs the
    same checks as accepting would, in a worker) and the result shown under the input."""

    DEBOUNCE_S = 0.15  # wait for a pause in typing before checking (tests set 0: check at once)

    def __init__(self, value: str, *, check: Callable[[str], Any], submit: Callable[[str], Any]) -> None:
        super().__init__(
            "Edit the task pattern",
            "Pattern ({name:type} marks a slot)",
            value,
            submit=submit,
            help_text="live preview below · enter saves · esc cancels",
        )
        self.check = check
        self._timer: Any = None

    def compose_extra(self) -> ComposeResult:
        yield Static("", id="pattern-preview", classes="pattern-preview")

    def on_mount(self) -> None:
        super().on_mount()
        self.run_check(self.value)

    @on(Input.Changed, "#prompt-input")
    def _changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.DEBOUNCE_S <= 0:
            self.run_check(event.value)
        else:
            self._timer = self.set_timer(self.DEBOUNCE_S, lambda: self.run_check(event.value))

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def run_check(self, text: str) -> None:
        try:
            preview = outcome(self.check(text))
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("check", exc))
            return
        self.post_message(PatternChecked(text, preview))

    @on(PatternChecked)
    def _checked(self, message: PatternChecked) -> None:
        text, preview = message.text, message.preview
        out = Text()
        out.append_text(highlight_pattern(preview.pattern or text))
        out.append("\n")
        if preview.ok:
            out.append("✓ matches the task, round trip exact, validates", style="green")
        else:
            out.append(f"✗ {preview.reason}", style="red")
        if preview.body:
            out.append("\n")
            out.append_text(highlight_body(preview.body[:400]))
        self.query_one("#pattern-preview", Static).update(themed(out))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        target = "#pattern-preview" if message.what == "check" else "#prompt-error"
        self.query_one(target, Static).update(Text(str(message.error) or type(message.error).__name__))
