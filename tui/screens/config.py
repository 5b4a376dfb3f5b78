"""The config cascade: every effective key with its value, the level and file that set it, and
its value at each level; project and agent overrides are edited here with the same validation
(and the same one-line errors) as ``templar config set``; export and import project files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from tui.format import cells, edit_text, plural, short_source, show_value
from tui.messages import ConfigBroken, ConfigFilesListed, ConfigRowsLoaded, Failed
from tui.screens.base import TemplarScreen
from tui.screens.modals import ConfirmModal, PromptModal
from tui.theme import themed
from tui.widgets.scope import ScopePicker

LEVEL_ORDER = ("default", "system", "user", "env", "project", "agent")


@dataclass(frozen=True)
class ConfigRow:
    key: str
    value: Any
    level: str
    where: str  # short source, with :line when known
    levels: dict[str, Any]
    description: str


async def read_rows(engine: Any, project: str, agent: str) -> list[ConfigRow]:
    """The resolved cascade for ``project``/``agent`` as table rows."""
    explained = await engine.config_explain("", project, agent)
    system_file = next(f.path for f in await engine.config_files() if f.level == "system")
    rows = []
    for entry in explained.entries:
        source = short_source(entry.source, engine.paths.config_dir, system_file)
        where = f"{source}:{entry.line}" if entry.line else source
        rows.append(ConfigRow(entry.key, entry.value, entry.level, where, dict(entry.levels), entry.description))
    return rows


class ConfigScreen(TemplarScreen):
    MODE = "config"
    AUTO_FOCUS = "#cfg-table"
    HELP = "Every setting, the level that set it (default → system → user → env → project → agent), and overrides."
    BINDINGS = [
        Binding("slash", "search", "Search", id="config.search", key_display="/"),
        Binding("e", "set_project", "Set (project)", id="config.set_project"),
        Binding("a", "set_agent", "Set (agent)", id="config.set_agent"),
        Binding("d", "unset", "Unset", id="config.unset"),
        Binding("x", "export", "Export", id="config.export"),
        Binding("i", "import_file", "Import", id="config.import"),
        Binding("escape", "leave_search", "Table", id="config.table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ConfigRow] = []
        self.shown: list[ConfigRow] = []
        self.error = ""

    def body(self) -> ComposeResult:
        with Horizontal(id="cfg-top"):
            yield Input(placeholder="filter keys (/), e.g. budget or chain.order", id="cfg-search")
            yield ScopePicker(id="cfg-scope")
        with Horizontal(id="cfg-main"):
            with Vertical(id="cfg-left"):
                yield DataTable(id="cfg-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="cfg-count")
            with VerticalScroll(id="cfg-right"):
                yield Label("Key", classes="pane-title")
                yield Static(Text("Select a key.", style="dim"), id="cfg-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#cfg-table", DataTable)
        for label, width in (("key", 28), ("value", 16), ("set by", 7), ("where", 24)):
            table.add_column(label, key=label, width=width)
        table.focus()

    # -- data ---------------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_config(*self.scope())

    @work(exclusive=True, group="config", exit_on_error=False)
    async def load_config(self, project: str, agent: str) -> None:
        engine = self.engine
        assert engine is not None
        try:
            rows = await read_rows(engine, project, agent)
        except Exception as exc:  # noqa: BLE001 - a broken file is shown, not raised
            self.post_message(ConfigBroken(exc))
            return
        self.post_message(ConfigRowsLoaded(rows))

    def engine_failed(self) -> None:
        self.list_files()

    @work(exclusive=True, group="config", exit_on_error=False)
    async def list_files(self) -> None:
        """Without a resolvable cascade (the engine failed to open, or a file broke while it runs):
        the files the cascade reads, which exist."""
        from engine.api.config import ConfigDesk

        try:
            engine = self.engine
            desk = ConfigDesk(engine.paths, engine.environ) if engine is not None else ConfigDesk.from_env()
            files = await desk.config_files()
            shown = [(f.level, str(f.path), f.exists) for f in files]
        except Exception as exc:  # noqa: BLE001 - the banner already says what failed
            shown = [("?", f"cannot list the config files: {exc}", False)]
        self.post_message(ConfigFilesListed(shown))

    @on(ConfigFilesListed)
    def _files(self, message: ConfigFilesListed) -> None:
        running = self.engine is not None  # a file broke while the engine runs
        self.rows = []
        self.error = (
            (self.error if running else "") or getattr(self.app, "engine_error", "") or "the engine did not open"
        )
        self._fill()
        files = Text(
            "A config file is broken, so no key can be resolved.\n"
            if running
            else "The engine did not open, so no key can be resolved.\n",
            style="bold",
        )
        files.append(self.error + "\n\nFiles the cascade reads:\n")
        for level, name, exists in message.files:
            files.append(f"  {level:<8}{name}{'' if exists else '  (absent)'}\n")
        files.append("\nFix and save the file: Templar reloads it (or press ctrl+r).", style="italic")
        self.query_one("#cfg-detail", Static).update(themed(files))

    @on(ConfigRowsLoaded)
    def _rows(self, message: ConfigRowsLoaded) -> None:
        self.rows, self.error = message.rows, ""
        self._fill()

    @on(ConfigBroken)
    def _broken(self, message: ConfigBroken) -> None:
        self.rows, self.error = [], str(message.error)
        self._fill()
        self.templar.report_error(message.error, title="Configuration")
        self.list_files()  # the detail pane lists the files the cascade reads

    def _fill(self) -> None:
        table = self.query_one("#cfg-table", DataTable)
        selected = self.selected()
        query = self.query_one("#cfg-search", Input).value.strip().lower()
        self.shown = [r for r in self.rows if not query or query in r.key.lower()]
        table.clear()
        for r in self.shown:
            style = "bold" if r.level in ("project", "agent") else ("" if r.level != "default" else "dim")
            row = cells(Text(r.key, style=style), show_value(r.value, 40), Text(r.level, style=style), r.where)
            table.add_row(*row, key=r.key)
        keys = [r.key for r in self.shown]
        if selected is not None and selected.key in keys:
            table.move_cursor(row=keys.index(selected.key))
        project, agent = self.scope()
        count = f"{plural(len(self.shown), 'key')} for {project}/{agent}"
        self.query_one("#cfg-count", Static).update(themed(Text(self.error, style="red") if self.error else count))
        if not self.shown:
            self.query_one("#cfg-detail", Static).update(Text("No key matches.", style="dim"))
        else:
            self._detail(self.selected())

    def selected(self) -> ConfigRow | None:
        table = self.query_one("#cfg-table", DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row]

    @on(DataTable.RowHighlighted, "#cfg-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        self._detail(next((r for r in self.shown if r.key == key), None))

    def _detail(self, row: ConfigRow | None) -> None:
        if row is not None:
            self.query_one("#cfg-detail", Static).update(detail(row))

    # -- actions ------------------------------------------------------------------------------

    @on(Input.Changed, "#cfg-search")
    def _search(self, _: Input.Changed) -> None:
        self._fill()

    @on(Input.Submitted, "#cfg-search")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#cfg-table", DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#cfg-search", Input).focus()

    def action_leave_search(self) -> None:
        self.query_one("#cfg-table", DataTable).focus()

    def action_set_project(self) -> None:
        self._set(agent_level=False)

    def action_set_agent(self) -> None:
        self._set(agent_level=True)

    def _set(self, *, agent_level: bool) -> None:
        engine, row = self.need_engine(), self.selected()
        if engine is None or row is None:
            return
        project, agent = self.scope()
        target = f"agent {project}/{agent}" if agent_level else f"project {project}"
        key = row.key

        def save(text: str) -> Any:
            return engine.config_set(key, text, project, agent if agent_level else None)

        self.app.push_screen(
            PromptModal(
                f"Set {key} for {target}",
                row.description or key,
                edit_text(row.value),
                submit=save,
                help_text="a TOML value (strings may be bare) · checked against the whole cascade before "
                "anything is written · enter saves · esc cancels",
            ),
            lambda result: self._changed(
                result, f"{key} = {show_value(result['value']) if result else ''} set for {target}"
            ),
        )

    def action_unset(self) -> None:
        engine, row = self.need_engine(), self.selected()
        if engine is None or row is None:
            return
        if row.level not in ("project", "agent"):
            self.notify(
                f"{row.key} is set at {row.level} level; only project and agent overrides can be removed here.",
                severity="warning",
            )
            return
        project, agent = self.scope()
        level_agent = agent if row.level == "agent" else None
        key = row.key

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_change(
                    lambda: engine.config_unset(key, project, level_agent), f"Removed the {row.level} override of {key}"
                )

        self.app.push_screen(
            ConfirmModal(
                f"Remove the {row.level} override?",
                f"{key} = {show_value(row.value)} ({row.where}). The level below shows through again.",
                yes="Remove",
            ),
            answered,
        )

    @work(exclusive=True, group="config-change", exit_on_error=False)
    async def run_change(self, change: Callable[[], Awaitable[Any]], text: str) -> None:
        try:
            result = await change()
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Configuration", exc))
            return
        self._changed(result, text)

    def _changed(self, result: Any, text: str) -> None:
        if not result:
            return
        self.notify(text)
        self.templar.load_scopes()
        self.templar.check_providers()
        self.reload()

    def action_export(self) -> None:
        engine = self.need_engine()
        if engine is None:
            return
        project, _ = self.scope()
        self.app.push_screen(
            PromptModal(
                f"Export project {project}",
                "File",
                f"{project}-config.toml",
                submit=lambda path: engine.config_export(project, Path(path).expanduser()),
            ),
            lambda out: out and self.notify(f"Exported {out['project']} to {out['file']}"),
        )

    def action_import_file(self) -> None:
        engine = self.need_engine()
        if engine is None:
            return

        def imported(out: Any) -> None:
            if out:
                self.app.project = out["project"]  # type: ignore[attr-defined]
                self._changed(out, f"Imported project {out['project']}")

        self.app.push_screen(
            PromptModal(
                "Import a project",
                "Export file (TOML)",
                "",
                submit=lambda path: engine.config_import(Path(path).expanduser()),
                help_text="validated completely first; nothing is written on error",
            ),
            imported,
        )


def detail(row: ConfigRow) -> RenderableType:
    head = Text()
    head.append(row.key, style="bold")
    head.append(f"\n{row.description}" if row.description else "", style="dim")
    value = Text()
    value.append("effective: ", style="bold")
    value.append(show_value(row.value, 400))
    value.append(f"\nset by {row.level} ({row.where})")
    table = Table("level", "value", box=None, padding=(0, 1), expand=True)
    for level in LEVEL_ORDER:
        if level in row.levels:
            mark = " ◀" if level == row.level else ""
            table.add_row(Text(level, style="bold" if mark else ""), Text(show_value(row.levels[level], 80) + mark))
        else:
            table.add_row(Text(level, style="dim"), Text("·", style="dim"))
    return Group(head, Text(""), value, Text(""), table)
