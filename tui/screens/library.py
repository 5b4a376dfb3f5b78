"""The template library: learned and built-in templates with search, filter and sort; a detail
pane (pattern and body with their slots highlighted, parameters, version history); retire,
export and import. Reads and writes run in workers; handlers own the table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Label, Static

from engine.api import ExportResult, ImportResult
from tui.format import cells, highlight_body, highlight_pattern, plural, usd, when
from tui.messages import Failed, TemplateDetailLoaded, TemplatesLoaded
from tui.screens.base import TemplarScreen
from tui.screens.modals import PromptModal
from tui.theme import themed

FILTERS = ("all", "active", "retired", "learned", "built-in")
SORTS = ("name", "uses", "saved", "quality", "failures")


@dataclass(frozen=True)
class Row:
    key: str
    source: str  # learned | built-in
    id: int | None
    name: str
    pattern: str
    version: int
    uses: int | None
    failures: int | None
    saved_micros: int | None
    quality: int | None
    status: str


def learned_row(view: Any) -> Row:
    return Row(
        f"learned-{view.id}",
        "learned",
        view.id,
        view.name,
        view.pattern,
        view.version,
        view.uses,
        view.failures,
        view.saved_micros,
        view.quality,
        view.status,
    )


def builtin_row(spec: Any) -> Row:
    return Row(
        f"builtin-{spec.name}",
        "built-in",
        None,
        spec.name,
        spec.patterns[0].text,
        spec.version,
        None,
        None,
        None,
        None,
        "active",
    )


def select_rows(rows: list[Row], query: str, status: str, sort: str) -> list[Row]:
    """Rows matching the search text and filter, in the chosen order (numbers descending)."""
    q = query.strip().lower()
    out = [r for r in rows if not q or q in r.name.lower() or q in r.pattern.lower()]
    if status in ("active", "retired"):
        out = [r for r in out if r.status == status]
    elif status in ("learned", "built-in"):
        out = [r for r in out if r.source == status]
    if sort == "name":
        return sorted(out, key=lambda r: (r.name, r.key))
    field = {"uses": "uses", "saved": "saved_micros", "quality": "quality", "failures": "failures"}[sort]
    return sorted(out, key=lambda r: (-(getattr(r, field) or 0), r.name))


def _num(value: int | None) -> str:
    return "—" if value is None else str(value)


class LibraryScreen(TemplarScreen):
    MODE = "library"
    AUTO_FOCUS = "#lib-table"
    HELP = "Every template that can answer for $0: learned from paid answers, and the built-in pack."
    BINDINGS = [
        Binding("slash", "search", "Search", id="library.search", key_display="/"),
        Binding("f", "cycle_filter", "Filter", id="library.filter"),
        Binding("o", "cycle_sort", "Sort", id="library.sort"),
        Binding("x", "retire", "Retire", id="library.retire"),
        Binding("e", "export", "Export", id="library.export"),
        Binding("i", "import_file", "Import", id="library.import"),
        Binding("escape", "leave_search", "Table", id="library.table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.shown: list[Row] = []
        self.filter = "all"
        self.sort = "name"
        self.builtins: dict[str, Any] = {}

    def body(self) -> ComposeResult:
        with Horizontal(id="lib-top"):
            yield Input(placeholder="search name or pattern (/)", id="lib-search")
            yield Static("", id="lib-mode")
        table: DataTable[Any] = DataTable(id="lib-table", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="lib-detail"):
            with VerticalScroll(id="lib-info"):
                yield Static(Text("Select a template.", style="dim"), id="tpl-detail")
            with VerticalScroll(id="lib-body"):
                yield Label("Body (placeholders highlighted)", classes="pane-title")
                yield Static("", id="tpl-body")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#lib-table", DataTable)
        for label, width in (
            ("name", 20),
            ("source", 8),
            ("pattern", 38),
            ("v", 2),
            ("uses", 4),
            ("fails", 5),
            ("saved", 9),
            ("q", 3),
            ("status", 7),
        ):
            table.add_column(label, key=label, width=width)
        self._show_mode()
        table.focus()

    # -- data ---------------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_templates()

    @work(exclusive=True, group="library", exit_on_error=False)
    async def load_templates(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            learned = await engine.templates(include_retired=True)
            builtins = await engine.builtin_templates()
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Templates", exc))
            return
        self.post_message(TemplatesLoaded(learned, builtins))

    @on(TemplatesLoaded)
    def _loaded(self, message: TemplatesLoaded) -> None:
        self.builtins = {spec.name: spec for spec in message.builtins}
        self.rows = [learned_row(v) for v in message.learned] + [builtin_row(s) for s in message.builtins]
        self._fill()

    @on(TemplateDetailLoaded)
    def _detail(self, message: TemplateDetailLoaded) -> None:
        self._show_detail(*learned_detail(message.view))

    def _fill(self) -> None:
        table = self.query_one("#lib-table", DataTable)
        selected = self.shown[table.cursor_row].key if self.shown and 0 <= table.cursor_row < len(self.shown) else None
        self.shown = select_rows(self.rows, self.query_one("#lib-search", Input).value, self.filter, self.sort)
        table.clear()
        for r in self.shown:
            status = Text(r.status, style="dim" if r.status == "retired" else "")
            table.add_row(
                *cells(
                    r.name,
                    r.source,
                    r.pattern,
                    r.version,
                    _num(r.uses),
                    _num(r.failures),
                    "—" if r.saved_micros is None else usd(r.saved_micros),
                    _num(r.quality),
                    status,
                ),
                key=r.key,
            )
        keys = [r.key for r in self.shown]
        if selected in keys:
            table.move_cursor(row=keys.index(selected))
        if not self.shown:
            self._show_detail(Text("No template matches.", style="dim"), Text(""))
        self._show_mode()

    def _show_mode(self) -> None:
        learned = sum(1 for r in self.rows if r.source == "learned")
        self.query_one("#lib-mode", Static).update(
            f"filter {self.filter} (f) · sort {self.sort} (o) · {plural(len(self.shown), 'template')} shown, "
            f"{learned} learned"
        )

    def _show_detail(self, info: RenderableType, body: RenderableType) -> None:
        self.query_one("#tpl-detail", Static).update(themed(info))
        self.query_one("#tpl-body", Static).update(body)

    @on(DataTable.RowHighlighted, "#lib-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        row = next((r for r in self.shown if r.key == key), None)
        if row is None:
            return
        if row.source == "built-in":
            self._show_detail(*builtin_detail(self.builtins[row.name]))
        elif row.id is not None:
            self.load_detail(row.id)

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def load_detail(self, template_id: int) -> None:
        engine = self.engine
        assert engine is not None
        try:
            view = await engine.get_template(template_id)
        except Exception as exc:  # noqa: BLE001
            self.post_message(Failed("Template", exc))
            return
        self.post_message(TemplateDetailLoaded(view))

    # -- actions ------------------------------------------------------------------------------

    @on(Input.Changed, "#lib-search")
    def _search(self, _: Input.Changed) -> None:
        self._fill()

    @on(Input.Submitted, "#lib-search")
    def _search_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#lib-table", DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#lib-search", Input).focus()

    def action_leave_search(self) -> None:
        self.query_one("#lib-table", DataTable).focus()

    def action_cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self._fill()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._fill()

    def _selected(self) -> Row | None:
        table = self.query_one("#lib-table", DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def action_retire(self) -> None:
        row = self._selected()
        engine = self.need_engine()
        if engine is None:
            return
        if row is None or row.source != "learned" or row.id is None:
            self.notify(
                "Select a learned template to retire (built-in templates cannot be retired).", severity="warning"
            )
            return
        if row.status == "retired":
            self.notify(f"{row.name} is already retired.")
            return
        template_id = row.id
        self.app.push_screen(
            PromptModal(
                f"Retire {row.name} (#{row.id})",
                "Reason (kept in the version history)",
                "retired by hand",
                submit=lambda reason: engine.retire_template(template_id, reason),
            ),
            lambda view: self._after(view, f"Retired {row.name}."),
        )

    def action_export(self) -> None:
        engine = self.need_engine()
        if engine is None:
            return

        def exported(out: ExportResult | None) -> None:
            if isinstance(out, ExportResult):
                self.notify(f"Exported {out.templates} templates to {out.file}")

        self.app.push_screen(
            PromptModal(
                "Export learned templates",
                "File",
                "templar-templates.json",
                submit=lambda path: engine.export_templates(Path(path)),
            ),
            exported,
        )

    def action_import_file(self) -> None:
        engine = self.need_engine()
        if engine is None:
            return

        def imported(result: ImportResult | None) -> None:
            if isinstance(result, ImportResult):
                self._after(result.ids, f"Imported {plural(len(result.ids), 'template')}.")

        self.app.push_screen(
            PromptModal(
                "Import templates",
                "Export file (JSON)",
                "templar-templates.json",
                submit=lambda path: engine.import_templates(Path(path)),  # all or nothing
                help_text="every template is checked first; nothing is written on error",
            ),
            imported,
        )

    def _after(self, result: Any, text: str) -> None:
        if result:
            self.notify(text)
            self.reload()


def learned_detail(view: Any) -> tuple[RenderableType, RenderableType]:
    """(pattern, parameters and history; the body) of a learned template."""
    head = Text()
    head.append(f"{view.name}", style="bold")
    head.append(
        f"  #{view.id} v{view.version} · {view.status} · quality {view.quality} · {view.uses} uses · "
        f"{view.failures} failures · saved {usd(view.saved_micros)}"
    )
    if view.retired_reason:
        head.append(f"\nretired: {view.retired_reason}", style="yellow")
    params = Table("param", "type", "original value", box=None, padding=(0, 1), expand=True)
    for p in view.params:
        params.add_row(*cells(p.name, p.type, p.to_dict()["value"]))
    versions = Table("v", "when (UTC)", "q", "why", box=None, padding=(0, 1), expand=True)
    for v in view.versions:
        versions.add_row(*cells(v["version"], when(v["created"]), v["quality"], v["reason"]))
    parts: list[RenderableType] = [
        head,
        Text(""),
        Text("pattern", style="bold underline"),
        highlight_pattern(view.pattern),
        Text(""),
        Text("parameters", style="bold underline"),
        params,
        Text(""),
        Text("versions", style="bold underline"),
        versions,
    ]
    if view.aliases:
        parts += [Text(""), Text("aliases (other wordings it answers)", style="bold underline"), alias_table(view)]
    return Group(*parts), highlight_body(view.body)


def alias_table(view: Any) -> Table:
    """A learned template's alias patterns with their hit counts (retired ones dimmed)."""
    table = Table("#", "alias pattern", "hits", "status", box=None, padding=(0, 1), expand=True)
    for alias in view.aliases:
        style = "dim" if alias["status"] != "active" else ""
        table.add_row(*cells(alias["id"], alias["pattern"], alias["hits"], alias["status"]), style=style)
    return table


def builtin_detail(spec: Any) -> tuple[RenderableType, RenderableType]:
    """(description, patterns, parameters and examples; the body) of a built-in template."""
    head = Text()
    head.append(spec.name, style="bold")
    head.append(f"  built-in v{spec.version} · {spec.language}\n{spec.description}")
    patterns = Text("\n").join(highlight_pattern(p.text) for p in spec.patterns)
    params = Table("param", "type", "description", box=None, padding=(0, 1), expand=True)
    for p in spec.params:
        params.add_row(*cells(p.name, p.type, p.description))
    examples = Text("\n").join(Text(f"· {e.task}", style="dim") for e in spec.examples[:3])
    info = Group(
        head,
        Text(""),
        Text("patterns", style="bold underline"),
        patterns,
        Text(""),
        Text("parameters", style="bold underline"),
        params,
        Text(""),
        Text("examples", style="bold underline"),
        examples,
    )
    return info, highlight_body(spec.body.strip("\n"))
