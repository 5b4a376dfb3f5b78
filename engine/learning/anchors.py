"""The persisted match index of learned templates: a request reads only its candidates.

Why it is exact. ``TaskPattern.match`` refuses a task unless every required literal group of the
pattern meets the task's content words (``could_match``). Each active pattern is filed in
``template_anchor`` under the pairs ``"a b"`` drawn from its two rarest required groups (or the
words of its only group; ``""`` when it has none). A pattern that matches a task therefore has a
key among the task's words and word pairs, so loading the templates behind those keys, and
matching with an ordinary :class:`TemplateIndex` over them, finds every match a full scan finds,
and nothing else: the same ``match``, ties and refusals included.

Freshness. Every template change writes a ``template_version`` row (ids only grow). The meta
row ``anchors`` records the scheme (a hash of the wording code: a new canonical spelling means
other words) and the last version id indexed; when the library's stamp is ahead, the first
reader re-files the templates changed since (all of them after a scheme change) in one write
transaction. Whoever writes templates needs no hook.

Cost. Rare pairs make short posting lists, so a request reads tens of rows whatever the
library's size; the in-process cache below is keyed by the library stamp (one statement).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, cast

from engine.store.models import AnchorWord, IndexMeta, Template, TemplateAnchor
from engine.store.sql import execute
from engine.templates import TemplateIndex, TemplateSpec
from engine.templates.normalize import NormalizedTask
from engine.templates.pattern import TaskPattern

GROUP_SEP, ALT_SEP = "\x1e", "\x1f"
NEAR = "~"  # prefix of the keys only near-miss lookups read
MAX_KEY = 200  # the columns hold 255 characters
META = "anchors"
CHUNK = 500  # bound parameters per IN (...) query
_WORDING_FILES = ("pattern.py", "normalize.py", "canonical.py", "vocabulary.toml")
_scheme: str | None = None


def scheme() -> str:
    """A short hash of the code that decides a pattern's words (recomputed once per process)."""
    global _scheme
    if _scheme is None:
        digest = hashlib.sha256(b"anchors-v4")
        base = Path(__file__).resolve().parent.parent / "templates"
        for name in _WORDING_FILES:
            path = base / name
            digest.update(path.read_bytes() if path.exists() else b"-")
        _scheme = digest.hexdigest()[:16]
    return _scheme


Groups = tuple[frozenset[str], ...]


def required_groups(pattern: TaskPattern) -> Groups:
    """The pattern's required literal groups: one per required word, one per alternative set."""
    return tuple(frozenset([w]) for w in pattern.required_words) + tuple(pattern.alt_groups)


def encode(groups: Groups) -> str:
    return GROUP_SEP.join(ALT_SEP.join(sorted(g)) for g in groups)


def decode(text: str) -> Groups:
    return tuple(frozenset(g.split(ALT_SEP)) for g in text.split(GROUP_SEP)) if text else ()


def anchor_keys(groups: Groups, df: Counter[str]) -> set[str]:
    """Keys of one pattern: the pairs across its two rarest groups (ties broken by the words),
    which matching reads; and, prefixed ``~``, the pairs of each with the third rarest group,
    which only the "similar templates" list reads (a near miss may lack one of the two rarest
    words). Matching never reads ``~`` keys, so they cost it nothing."""
    if not groups:
        return {""}
    ranked = sorted(groups, key=lambda g: (sum(df[w] for w in g), sorted(g)))
    if len(ranked) == 1:
        return {fit(w) for w in ranked[0]}
    keys = {pair_key(a, b) for a in ranked[0] for b in ranked[1]}
    for first in ranked[:2]:
        for third in ranked[2:3]:
            keys.update(NEAR + pair_key(a, b) for a in first for b in third)
    return keys


def fit(key: str) -> str:
    """A key or word short enough for its indexed column (long ones keep a prefix and a hash)."""
    if len(key) <= MAX_KEY:
        return key
    return key[: MAX_KEY - 41] + "#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def pair_key(a: str, b: str) -> str:
    return fit(a if a == b else (f"{a} {b}" if a < b else f"{b} {a}"))


def task_keys(words: Iterable[str]) -> set[str]:
    """Every key a pattern that can match a task with these content words may be filed under."""
    ordered = sorted(words)
    keys = {""} | {fit(w) for w in ordered}
    keys.update(fit(f"{a} {b}") for a, b in combinations(ordered, 2))
    return keys


def near_keys(words: Iterable[str]) -> set[str]:
    """The ``~`` keys a near miss of a task with these words may be filed under."""
    ordered = sorted(words)
    return {NEAR + fit(f"{a} {b}") for a, b in combinations(ordered, 2)}


def passes(groups: Groups, words: frozenset[str]) -> bool:
    return all(not g.isdisjoint(words) for g in groups)


def _tuples(query: Any) -> list[tuple[Any, ...]]:
    """Rows of a peewee query as plain tuples (the stubs type ``.tuples()`` as model rows)."""
    return cast("list[tuple[Any, ...]]", list(query.tuples()))


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


# -- writing (inside a write transaction) ---------------------------------------------------------


def current() -> tuple[str, int]:
    """The scheme and the last template_version id the anchor tables reflect."""
    row = IndexMeta.get_or_none(IndexMeta.name == META)
    if row is None or ":" not in row.value:
        return "", 0
    kind, _, vid = row.value.partition(":")
    return kind, int(vid or 0)


def meta_value(version_id: int) -> str:
    return f"{scheme()}:{version_id}"


def sync(db: Any, spec_of: Any, latest_version_id: int) -> int:
    """Bring the anchor tables up to ``latest_version_id``; returns how many templates were re-filed.

    ``spec_of(row)`` turns a Template row into its spec (``None`` for a broken row, which is then
    not indexed, as the full index skips it)."""
    from engine.store.db import write_transaction

    with write_transaction(db):
        kind, done = current()
        if kind == scheme() and done >= latest_version_id:
            return 0  # another process did it meanwhile
        if kind != scheme():
            TemplateAnchor.delete().execute()
            AnchorWord.delete().execute()
            ids = [int(r[0]) for r in _tuples(Template.select(Template.id).where(Template.status == "active"))]
        else:
            cursor = db.execute_sql(
                "SELECT DISTINCT template_id FROM template_version WHERE id > ?"
                if _is_sqlite(db)
                else "SELECT DISTINCT template_id FROM template_version WHERE id > %s",
                (done,),
            )
            ids = [int(r[0]) for r in cursor.fetchall()]
            _unfile(ids)
        _file(ids, spec_of)
        IndexMeta.insert(name=META, value=meta_value(latest_version_id)).on_conflict(
            conflict_target=[IndexMeta.name], update={IndexMeta.value: meta_value(latest_version_id)}
        ).execute()
    return len(ids)


def _is_sqlite(db: Any) -> bool:
    from peewee import SqliteDatabase

    return isinstance(getattr(db, "obj", None) or db, SqliteDatabase)


def _unfile(ids: list[int]) -> None:
    gone: Counter[str] = Counter()
    for chunk in _chunks(ids):
        seen: set[tuple[int, str]] = set()
        for tid, groups in _tuples(
            TemplateAnchor.select(TemplateAnchor.template, TemplateAnchor.groups).where(
                TemplateAnchor.template.in_(chunk)
            )
        ):
            if (tid, groups) not in seen:  # one pattern has several keys: count its words once
                seen.add((tid, groups))
                gone.update(fit(w) for g in decode(groups) for w in g)
        TemplateAnchor.delete().where(TemplateAnchor.template.in_(chunk)).execute()
    for word, n in gone.items():
        AnchorWord.update(df=AnchorWord.df - n).where(AnchorWord.word == word).execute()


def _file(ids: list[int], spec_of: Any) -> None:
    entries: list[tuple[int, int, Groups]] = []
    for chunk in _chunks(ids):
        for row in Template.select().where((Template.id.in_(chunk)) & (Template.status == "active")):
            spec = spec_of(row)
            if spec is None:
                continue
            entries.extend((row.id, row.version, required_groups(p)) for p in spec.patterns)
    if not entries:
        return
    added: Counter[str] = Counter(w for _, _, groups in entries for g in groups for w in g)
    fitted = {w: fit(w) for w in added}
    stored: dict[str, int] = {}
    for chunk in _chunks(sorted(set(fitted.values()))):
        stored.update(
            {
                w: int(n)
                for w, n in _tuples(AnchorWord.select(AnchorWord.word, AnchorWord.df).where(AnchorWord.word.in_(chunk)))
            }
        )
    df: Counter[str] = Counter({w: stored.get(fitted[w], 0) for w in added})
    df.update(added)  # rank by the frequencies including this batch (a full rebuild sees them all)
    rows = [
        {"key": key, "template": tid, "version": version, "groups": encode(groups)}
        for tid, version, groups in entries
        for key in sorted(anchor_keys(groups, df))
    ]
    for i in range(0, len(rows), 200):
        TemplateAnchor.insert_many(rows[i : i + 200]).execute()
    by_column: Counter[str] = Counter()
    for w, n in added.items():
        by_column[fitted[w]] += n
    new = [{"word": w, "df": n} for w, n in by_column.items() if w not in stored]
    for i in range(0, len(new), 200):
        AnchorWord.insert_many(new[i : i + 200]).execute()
    for w, n in by_column.items():
        if w in stored:
            AnchorWord.update(df=AnchorWord.df + n).where(AnchorWord.word == w).execute()


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    template: int
    version: int
    groups: Groups


class AnchorCache:
    """What one process has read from the anchor tables, valid for one library stamp."""

    def __init__(self) -> None:
        self.stamp: tuple[int, ...] | None = None
        self.entries: dict[str, tuple[Entry, ...]] = {}
        self.specs: dict[int, tuple[int, TemplateSpec | None]] = {}  # id -> (version, spec); kept across stamps
        self.indexes: dict[frozenset[tuple[int, int]], TemplateIndex] = {}
        # content words -> the pairs that pass, once all their keys were read under this stamp:
        # a repeated wording skips the scan of its keys' entries (hundreds at 100k templates)
        self.passing: dict[frozenset[str], frozenset[tuple[int, int]]] = {}

    def reset(self, stamp: tuple[int, ...]) -> None:
        self.stamp = stamp
        self.entries = {}
        self.indexes = {}
        self.passing = {}

    def candidates(self, task: NormalizedTask) -> tuple[set[str], set[tuple[int, int]]]:
        """Keys not read yet under this stamp, and the (template, version) pairs already known to pass."""
        known = self.passing.get(task.words)
        if known is not None:
            return set(), set(known)
        keys = task_keys(task.words)
        missing = {k for k in keys if k not in self.entries}
        found = {
            (e.template, e.version) for k in keys - missing for e in self.entries[k] if passes(e.groups, task.words)
        }
        if not missing:
            if len(self.passing) > 4096:
                self.passing.clear()
            self.passing[task.words] = frozenset(found)
        return missing, found

    def near(self, task: NormalizedTask, limit: int = 50) -> set[tuple[int, int]]:
        """Templates filed under the task's keys and ``~`` keys that it does not fully meet, most
        overlap first (read those keys first): near-miss candidates."""
        words = task.words
        best: dict[tuple[int, int], float] = {}
        for key in task_keys(words) | near_keys(words):
            for e in self.entries.get(key, ()):
                if e.groups and not passes(e.groups, words):
                    share = sum(1 for g in e.groups if not g.isdisjoint(words)) / len(e.groups)
                    pair = (e.template, e.version)
                    best[pair] = max(share, best.get(pair, 0.0))
        return set(sorted(best, key=lambda p: (-best[p], p))[:limit])

    def read(self, keys: set[str]) -> None:
        fetched: dict[str, list[Entry]] = {k: [] for k in keys}
        table = TemplateAnchor._meta.table_name
        for chunk in _chunks(sorted(keys)):
            # raw SQL: building this one statement through peewee cost more than running it
            marks = ", ".join("?" * len(chunk))
            sql = f'SELECT "key", "template", "version", "groups" FROM "{table}" WHERE "key" IN ({marks})'  # nosec B608 - placeholders only
            for key, tid, version, groups in execute(sql, tuple(chunk)).fetchall():
                fetched[key].append(Entry(int(tid), int(version), decode(groups)))
        for key, entries in fetched.items():
            self.entries[key] = tuple(entries)

    def index_for(self, pairs: set[tuple[int, int]], spec_of: Any) -> TemplateIndex:
        """A match index over exactly these templates (rows read only for specs not cached)."""
        frozen = frozenset(pairs)
        found = self.indexes.get(frozen)
        if found is not None:
            return found
        stale = [tid for tid, version in pairs if self.specs.get(tid, (None,))[0] != version]
        for chunk in _chunks(stale):
            for row in Template.select().where(Template.id.in_(chunk)):
                self.specs[row.id] = (row.version, spec_of(row))
        specs = [self.specs[tid][1] for tid, _ in sorted(pairs) if tid in self.specs]
        index = TemplateIndex(s for s in specs if s is not None)
        if len(self.indexes) > 4096:
            self.indexes.clear()
        self.indexes[frozen] = index
        return index
