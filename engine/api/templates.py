"""Templates through the one door: list, show, similar, built-in pack, retire, export, import.

Invariants: every method returns frozen dataclasses (``TemplateView``, ``SimilarTemplate``,
``ExportResult``, ``ImportResult``, ``TemplateSpec``), never database rows. Database work runs on
the store's thread (``Store.run``); pure CPU work (matching, checking an import file, which runs
the validator on every template) runs in a worker thread, never on the caller's event loop. An
import is all or nothing: every template is checked before the first one is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import NotFound

if TYPE_CHECKING:
    from engine.learning import TemplateLibrary
    from engine.learning.library import TemplateView
    from engine.store.db import Store
    from engine.templates import TemplateIndex, TemplateSpec

MAX_ID = 2**63  # SQLite integer keys are signed 64-bit: a larger id is "not found", not an overflow
RETIRED_BY_HAND = "retired by hand"


def check_id(value: int, what: str) -> int:
    """``value`` if it can be a row id, else ``NotFound`` (never a driver overflow error)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < MAX_ID:
        raise NotFound(f"no {what} {value}")
    return value


@dataclass(frozen=True)
class SimilarTemplate:
    """A template that matches a task (``match``), or one whose wording resembles it."""

    source: str  # learned | builtin
    template: str
    pattern: str
    score: float  # 1.0 for a match, else the pattern's similarity (0..1)
    match: bool  # it would answer the task now
    bindings: dict[str, str] | None = None  # a match's values, as text (None: only similar)
    refused: str | None = None  # why a match is not served (its bindings were reported wrong)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "template": self.template,
            "pattern": self.pattern,
            "score": self.score,
            "match": self.match,
        }
        if self.bindings is not None:
            data["bindings"] = dict(self.bindings)
        if self.refused:
            data["refused"] = self.refused
        return data


@dataclass(frozen=True)
class ExportResult:
    """Where templates were exported, and how many."""

    file: str
    templates: int

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "templates": self.templates}


@dataclass(frozen=True)
class ImportResult:
    """The ids of the templates an import added, in file order."""

    ids: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"imported": list(self.ids)}


class TemplatesAPI:
    """Learned templates and the built-in pack (mixed into ``Engine``)."""

    store: Store
    library: TemplateLibrary

    async def get_template(self, template_id: int) -> TemplateView:
        """One learned template with its version history. Raises ``NotFound``."""
        check_id(template_id, "template")
        return await self.store.run(self.library.template, template_id)

    async def similar_templates(self, task: str, limit: int = 5) -> list[SimilarTemplate]:
        """Learned and built-in templates that match ``task`` (score 1.0; ``match`` False when its
        bindings were reported wrong: ``refused`` says why) or resemble it, best first."""
        from engine.pipeline import builtin_index

        learned = await self.store.run(self.library.index)
        return await asyncio.to_thread(self._similar, task, limit, (("learned", learned), ("builtin", builtin_index())))

    def _similar(self, task: str, limit: int, indexes: tuple[tuple[str, TemplateIndex], ...]) -> list[SimilarTemplate]:
        rows: list[SimilarTemplate] = []
        for source, index in indexes:
            found = index.match(task)
            if found is not None and found.template is not None:
                refused = self.library.refusal(found.template.name, found.template.version, dict(found.bindings))
                rows.append(
                    SimilarTemplate(
                        source,
                        found.template.name,
                        found.pattern.text,
                        1.0,
                        not refused,
                        {k: str(v) for k, v in found.bindings.items()},
                        refused or None,
                    )
                )
            for near in index.similar(task, limit=limit):
                rows.append(SimilarTemplate(source, near.template.name, near.pattern.text, round(near.score, 3), False))
        rows.sort(key=lambda r: -r.score)
        return rows

    async def builtin_templates(self) -> list[TemplateSpec]:
        """The built-in template pack, sorted by name (loaded once per process, off the loop)."""
        from engine.pipeline import builtin_index

        index = await asyncio.to_thread(builtin_index)
        return sorted(index, key=lambda spec: spec.name)

    async def retire_template(self, template_id: int, reason: str = "") -> TemplateView:
        """Retire a learned template (it stops answering); the reason goes in its version history.
        Raises ``NotFound``."""
        check_id(template_id, "template")
        return await self.store.run(self.library.retire, template_id, reason.strip() or RETIRED_BY_HAND)

    async def export_templates(self, path: Path, *, include_retired: bool = False) -> ExportResult:
        """Write the learned templates (active ones unless ``include_retired``) to ``path`` as a
        versioned JSON document (``engine.learning.transfer``). Raises ``BadInput`` for a path
        that cannot be written (missing directory, a directory, a device)."""
        from engine.learning.transfer import export_templates

        done = await self.store.run(export_templates, self.library, Path(path).expanduser(), include_retired)
        return ExportResult(str(done["file"]), int(done["templates"]))

    async def import_templates(self, path: Path) -> ImportResult:
        """Check every template in an export file exactly as review does, then add them all in
        one transaction. Raises ``BadInput`` naming the first problem; nothing is written then."""
        from engine.learning.transfer import import_templates, read_export

        entries = await asyncio.to_thread(read_export, Path(path).expanduser())
        ids = await self.store.run(import_templates, self.library, entries)
        return ImportResult(tuple(ids))


def __getattr__(name: str) -> object:
    """``TemplateView`` on first use: the template library is not imported by a cache hit."""
    if name == "TemplateView":
        from engine.learning.library import TemplateView

        return TemplateView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ExportResult", "ImportResult", "SimilarTemplate", "TemplateView", "TemplatesAPI", "check_id"]
