"""The matching half of the learned-template library: the stamp, the match indexes, aliases.

Invariants: the in-memory index and the anchor cache are current for the stamp they were built
under (``read_stamp`` changes with every template change or wrong-answer report, from any
process); ``lookup(task).match(task)`` equals ``index().match(task)``; a broken template row
never stops matching. Synchronous, on the database thread; a mixin of
:class:`engine.learning.library.TemplateLibrary` (its methods take the library as ``self``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from peewee import DatabaseError

from engine.feedback import Negatives
from engine.learning import anchors
from engine.learning.alias_store import active_alias_specs, find_alias
from engine.learning.aliases import AliasProposal
from engine.learning.library_views import _template_view
from engine.learning.stamp import read_stamp
from engine.logs import get_logger
from engine.store.models import Template, TemplateAlias
from engine.templates import TemplateIndex, TemplateSpec
from engine.templates.normalize import normalized

if TYPE_CHECKING:
    from engine.learning.library import TemplateLibrary

_log = get_logger("learning")


class MatchingMixin:
    """What a request matches against: the index, the anchor lookup, alias bookkeeping."""

    # set by TemplateLibrary.__init__
    _index: TemplateIndex | None
    _stamp: tuple[int, ...] | None
    _negatives: Negatives
    _anchors: anchors.AnchorCache
    _alias_ids: dict[tuple[str, str], int]
    _alias_specs: list[TemplateSpec]

    def stamp(self) -> tuple[int, ...]:
        """Changes whenever a template is added, changed or retired, or an answer is reported
        wrong, by any process on any machine: every such change writes a version or report row
        (ids, unlike clocks, only grow).

        Three primary-key reads, whatever the library's size (a COUNT scanned the whole table:
        ~45 ms per request at 100k templates). The engine never deletes a template (retiring
        writes a version row); one deleted by hand is noticed at the next change or restart."""
        return read_stamp()

    def refusal(self, template: str, version: int, bindings: dict[str, Any]) -> str | None:
        """Why a match (learned or built-in) must not be served: its bindings were reported wrong
        for that template version, or reports retired it. In memory; current as of the last
        ``index``/``cached_index`` check (the stamp covers reports)."""
        return self._negatives.refusal(template, version, bindings)

    def cached_index(self, stamp: tuple[int, ...]) -> TemplateIndex | None:
        """The in-memory index if it is still current for ``stamp`` (no database work)."""
        return self._index if self._index is not None and stamp == self._stamp else None

    def index(self) -> TemplateIndex:
        """The match index of active learned templates, rebuilt only when the table changed
        (so a template accepted by another process is served on the next request)."""
        stamp = self.stamp()
        if self._index is None or stamp != self._stamp:
            specs = []
            for view in cast("TemplateLibrary", self).templates("active"):
                try:
                    specs.append(view.spec())
                except Exception:  # noqa: BLE001 - a broken row must not stop matching
                    continue
            alias_specs, self._alias_ids = active_alias_specs()
            self._index = TemplateIndex(specs + alias_specs)
            self._negatives = Negatives.load()
            self._stamp = stamp
        return self._index

    def lookup(self, task: str, stamp: tuple[int, ...] | None = None, *, near: bool = False) -> TemplateIndex:
        """A match index over the learned templates that could match ``task`` (the persisted
        anchor index, :mod:`engine.learning.anchors`): ``lookup(task).match(task)`` equals
        ``index().match(task)``, but reads only the candidates, whatever the library's size.
        No database work when this process already read the task's keys under ``stamp``."""
        stamp = self.stamp() if stamp is None else stamp
        cache = self._anchors
        if cache.stamp != stamp:
            kind, done = anchors.current()
            if kind != anchors.scheme() or done < stamp[1]:
                try:
                    anchors.sync(Template._meta.database, _spec_or_none, stamp[1])
                except DatabaseError as exc:  # e.g. a read-only store: the whole library, as before
                    _log.warning(
                        "anchor index not updated (%s); matching against the whole library", type(exc).__name__
                    )
                    return self.index()
            cache.reset(stamp)
            self._negatives = Negatives.load()
            # aliases are few: all of them, beside the candidates (accepting one moves the stamp)
            self._alias_specs, self._alias_ids = active_alias_specs()
        nt = normalized(task)
        if nt.too_long or not nt.words:
            return TemplateIndex()
        missing, found = cache.candidates(nt)
        if missing:
            cache.read(missing)
            found = cache.candidates(nt)[1]
        if near:
            extra = {k for k in anchors.near_keys(nt.words) if k not in cache.entries}
            if extra:
                cache.read(extra)
            found |= cache.near(nt)
        index = cache.index_for(found, _spec_or_none)
        if self._alias_specs:
            index = TemplateIndex([*index, *self._alias_specs])
        return index

    def near_index(self, task: str, stamp: tuple[int, ...] | None = None) -> TemplateIndex:
        """``lookup`` plus the templates filed under the task's keys that it misses by some
        words: enough for the "similar templates" list of a paid call without loading the
        whole library (``index``, still used by ``templates similar``)."""
        return self.lookup(task, stamp, near=True)

    def alias_id(self, template: str, pattern: str) -> int | None:
        """The alias whose pattern this is (in memory, as of the last index build)."""
        return self._alias_ids.get((template, pattern))

    def count_alias_hit(self, template: str, pattern: str) -> None:
        alias = self._alias_ids.get((template, pattern))
        if alias is not None:
            TemplateAlias.update(hits=TemplateAlias.hits + 1).where(TemplateAlias.id == alias).execute()

    def find_alias(self, task: str, code: str) -> AliasProposal | None:
        """An active template that renders ``code`` for this wording (see engine.learning.aliases)."""
        return find_alias(cast("TemplateLibrary", self), task, code)


def _spec_or_none(row: Template) -> TemplateSpec | None:
    try:
        return _template_view(row).spec()
    except Exception:  # noqa: BLE001 - a broken row must not stop matching (as in index())
        return None
