"""Project and agent pickers, bound to the app's current scope (shared by every screen)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Select

DEFAULT = "default"


class ScopePicker(Horizontal):
    """Two selects: the project (from the config directory) and one of its agents."""

    def compose(self) -> ComposeResult:
        yield Label("project", classes="scope-label")
        yield Select([(DEFAULT, DEFAULT)], value=DEFAULT, allow_blank=False, id="pick-project", compact=True)
        yield Label("agent", classes="scope-label")
        yield Select([(DEFAULT, DEFAULT)], value=DEFAULT, allow_blank=False, id="pick-agent", compact=True)

    def on_mount(self) -> None:
        for name in ("scopes", "project", "agent"):
            self.watch(self.app, name, self._sync, init=False)
        self._sync()

    def _sync(self, _: object = None) -> None:
        app = self.app
        scopes: dict[str, list[str]] = dict(getattr(app, "scopes", {}) or {})
        project: str = getattr(app, "project", DEFAULT)
        agent: str = getattr(app, "agent", DEFAULT)
        projects = sorted(set(scopes) | {DEFAULT, project})
        agents = sorted(set(scopes.get(project, [])) | {DEFAULT, agent})
        for select, names, value in (
            (self.query_one("#pick-project", Select), projects, project),
            (self.query_one("#pick-agent", Select), agents, agent),
        ):
            with self.prevent(Select.Changed):
                select.set_options([(name, name) for name in names])
                select.value = value

    @on(Select.Changed, "#pick-project")
    def _project_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value != getattr(self.app, "project", None):
            self.app.agent = DEFAULT  # type: ignore[attr-defined]
            self.app.project = event.value  # type: ignore[attr-defined]

    @on(Select.Changed, "#pick-agent")
    def _agent_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.app.agent = event.value  # type: ignore[attr-defined]
