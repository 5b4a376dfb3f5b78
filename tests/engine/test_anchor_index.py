"""The persisted anchor index (issue 14, migration 0010) finds exactly what a full scan finds.

A generated library with near-duplicate patterns (one word swapped, one word added, shared
common words, alternatives, several slot types) is matched two ways for many tasks: the full
in-memory index of every active template (``TemplateLibrary.index``) and the candidates read
through the anchor tables (``TemplateLibrary.lookup``). They must agree on every task, including
ties (``match`` is ``None``), near misses and tasks that match nothing; and stay in agreement
after templates are added, retired or re-versioned by another writer, and after the wording code
changes (a new scheme re-files everything).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from engine.learning import anchors
from engine.learning.body import Param
from engine.learning.library import TemplateLibrary
from engine.store.models import IndexMeta, Template, TemplateAnchor, TemplateVersion

ARTIFACTS = ["function", "class", "helper", "generator", "async function"]
VERBS = ["parses", "validates", "sorts", "filters", "reads", "writes", "merges", "splits", "loads", "saves"]
OBJECTS = ["csv files", "json documents", "lists of integers", "log lines", "user records", "urls", "dates"]
QUALIFIERS = [
    "in ascending order",
    "in descending order",
    "recursively",
    "iteratively",
    "lazily",
    "safely",
    "with a timeout",
    "by key",
]
SWAPS = {
    "ascending": "descending",
    "descending": "ascending",
    "csv": "tsv",
    "json": "yaml",
    "reads": "writes",
    "writes": "reads",
    "recursively": "iteratively",
    "iteratively": "recursively",
    "sorts": "shuffles",
}
BODY = (
    'def {{ name|snake }}(items: list[int]) -> list[int]:\n    """Doc."""\n    return items[:{{ count|default(3) }}]\n'
)


def _pattern(rng: random.Random) -> tuple[str, list[Param]]:
    words = [rng.choice(ARTIFACTS), "that", rng.choice(VERBS), rng.choice(OBJECTS)]
    if rng.random() < 0.7:
        words.append(rng.choice(QUALIFIERS))
    if rng.random() < 0.15:
        words.insert(1, "(small|tiny)")  # an alternative group
    params = [Param("name", "identifier", "OrderHistory", "the name", 0.9)]
    text = " ".join(words) + " named {name}"
    if rng.random() < 0.4:
        text += " with limit {count}"
        params.append(Param("count", "integer(1..1000)", 25, "the limit", 0.9))
    return text, params


def _near(text: str, rng: random.Random) -> str:
    words = text.split()
    swappable = [i for i, w in enumerate(words) if w in SWAPS]
    if swappable and rng.random() < 0.7:
        i = rng.choice(swappable)
        words[i] = SWAPS[words[i]]
    else:
        words.insert(rng.randrange(2, len(words) - 2), rng.choice(["quickly", "strictly", "simply"]))
    return " ".join(words)


def library_specs(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    previous: list[tuple[str, list[Param]]] = []
    while len(out) < n:
        if previous and rng.random() < 0.35:
            base, params = rng.choice(previous[-50:])
            text = _near(base, rng)
        else:
            text, params = _pattern(rng)
        if text in seen:
            continue
        seen.add(text)
        previous.append((text, params))
        out.append({"name": f"t{len(out)}", "pattern": text, "body": BODY, "params": params})
    return out


def tasks_for(specs: list[dict[str, Any]], seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    for spec in specs:
        text = spec["pattern"].replace("(small|tiny)", rng.choice(["small", "tiny"]))
        task = text.replace("{name}", rng.choice(["CustomerLedger", "parse_rows", "Report"])).replace("{count}", "40")
        out += [task, _near(task, rng), task.replace(" that ", " which "), f"please write a {task}"]
    for _ in range(200):  # random word salad from the same vocabulary
        words = [rng.choice(ARTIFACTS + VERBS + OBJECTS + QUALIFIERS + ["that", "named", "Thing"]) for _ in range(6)]
        out.append(" ".join(words))
    out += ["", "named", "that named X", "x" * 5000]
    return out


def _same(full: Any, lib: TemplateLibrary, task: str) -> None:
    want = full.match(task)
    got = lib.lookup(task).match(task)

    def key(m: Any) -> Any:
        return None if m is None else (m.template.name, m.template.version, m.bindings, m.pattern.text)

    assert key(got) == key(want), task
    all_want = sorted((m.template.name, m.pattern.text, repr(m.bindings)) for m in full.match_all(task))
    all_got = sorted((m.template.name, m.pattern.text, repr(m.bindings)) for m in lib.lookup(task).match_all(task))
    assert all_got == all_want, task


@pytest.fixture
def store(make_engine: Any) -> Any:
    return make_engine().store


def _add(lib: TemplateLibrary, specs: list[dict[str, Any]]) -> list[int]:
    return [lib.add_template(s).id for s in specs]


def test_lookup_matches_exactly_what_a_full_scan_matches(store: Any) -> None:
    specs = library_specs(600, seed=3)
    tasks = tasks_for(specs, seed=4)

    def run() -> tuple[int, int, int]:
        lib = TemplateLibrary()
        _add(lib, specs)
        full = lib.index()
        matched = 0
        for task in tasks:
            _same(full, lib, task)
            matched += full.match(task) is not None
        fresh = TemplateLibrary()  # another process: reads the persisted tables, no rebuild
        for task in tasks[::7]:
            _same(full, fresh, task)
        return matched, TemplateAnchor.select().count(), len(tasks)

    matched, rows, n = store.call(run)
    assert matched > 500, "the generated tasks must exercise real matches"
    assert matched < n - 300, "and near misses / ties that match nothing"
    assert rows >= 600


def test_a_request_reads_only_its_candidates(store: Any) -> None:
    specs = library_specs(600, seed=5)

    def run() -> tuple[int, int]:
        lib = TemplateLibrary()
        _add(lib, specs)
        task = specs[10]["pattern"].replace("(small|tiny)", "small").replace("{name}", "Foo").replace("{count}", "9")
        index = lib.lookup(task)
        return len(index), len(lib.index())

    loaded, total = store.call(run)
    assert total == 600 and loaded < 60, f"{loaded} of {total} templates loaded for one task"


def test_changes_by_another_writer_are_seen(store: Any) -> None:
    specs = library_specs(300, seed=7)
    more = library_specs(400, seed=8)[300:]
    tasks = tasks_for(specs[:100] + more, seed=9)

    def run() -> None:
        lib = TemplateLibrary()
        ids = _add(lib, specs)
        for task in tasks[:50]:
            lib.lookup(task)  # fill the process cache
        writer = TemplateLibrary()  # another process
        for tid in ids[:60]:
            writer.retire(tid, "test")
        _add(writer, more)
        # a new version with other words (every template change writes a version row, as accept() does)
        row = Template.get_by_id(ids[70])
        pattern = "function that reads tsv files safely named {name}"
        Template.update(pattern=pattern, version=row.version + 1).where(Template.id == ids[70]).execute()
        TemplateVersion.create(
            template=ids[70],
            version=row.version + 1,
            pattern=pattern,
            body=row.body,
            params=row.params,
            created=1.0,
            reason="test",
        )
        full = writer.index()
        renamed = "function that reads tsv files safely named Foo"
        assert full.match(renamed) is not None
        for task in tasks + [renamed]:
            _same(full, lib, task)
        assert lib.lookup(renamed).match(renamed).template.name == f"learned-{ids[70]}"
        assert not any(
            t
            for t in tasks[:60]
            if (m := lib.lookup(t).match(t)) and m.template.name in {f"learned-{i}" for i in ids[:60]}
        ), "retired templates are not served"

    store.call(run)


def test_a_new_wording_scheme_refiles_everything(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = library_specs(200, seed=11)
    tasks = tasks_for(specs[:50], seed=12)

    def run() -> str:
        lib = TemplateLibrary()
        _add(lib, specs)
        lib.lookup("x")
        TemplateAnchor.update(key="stale").execute()  # what an old canonical spelling would leave
        monkeypatch.setattr(anchors, "_scheme", "other-scheme")
        lib = TemplateLibrary()
        full = lib.index()
        for task in tasks:
            _same(full, lib, task)
        return str(IndexMeta.get_by_id("anchors").value)

    assert store.call(run).startswith("other-scheme:")


def test_anchor_keys_cover_every_way_a_pattern_can_be_met() -> None:
    groups = (frozenset(["csv"]), frozenset(["that"]), frozenset(["small", "tiny"]))
    df = anchors.Counter({"that": 100, "csv": 3, "small": 2, "tiny": 5})
    keys = anchors.anchor_keys(groups, df)
    assert keys == {"csv small", "csv tiny", "~csv that", "~small that", "~that tiny"}
    assert anchors.near_keys(["csv", "that"]) == {"~csv that"}
    assert anchors.anchor_keys((groups[0], groups[2]), df) == {"csv small", "csv tiny"}
    for words in (["csv", "small", "that"], ["tiny", "csv", "that", "zz"]):
        assert keys & anchors.task_keys(words)
        assert keys - {k for k in keys if k.startswith("~")} & anchors.task_keys(words), "matching reads plain keys"
    assert anchors.anchor_keys((), df) == {""} and "" in anchors.task_keys([])
    assert anchors.decode(anchors.encode(groups)) == groups


def test_near_misses_are_offered_without_loading_the_library(store: Any) -> None:
    """A task one word away from a template (a swapped or an added word) finds that template in
    ``near_index``, so the paid call's "similar templates" list keeps it; and whatever the whole
    library ranks in its top 3 that ``near_index`` holds stays in ``near_index``'s top 3."""
    specs = library_specs(500, seed=31)
    rng = random.Random(32)

    def run() -> tuple[int, int, int]:
        lib = TemplateLibrary()
        ids = _add(lib, specs)
        full = lib.index()
        found = offered = total = 0
        for tid, spec in list(zip(ids, specs))[:150]:
            task = _near(
                spec["pattern"].replace("(small|tiny)", "small").replace("{name}", "Foo").replace("{count}", "9"), rng
            )
            name = f"learned-{tid}"
            if full.match(task) is not None:
                continue  # the changed word made it another template's task
            total += 1
            near = lib.near_index(task)
            found += name in near
            top = [s.template.name for s in full.similar(task, limit=3)]
            if name in top:
                offered += name in [s.template.name for s in near.similar(task, limit=3)]
                assert name in near, task
            assert len(near) <= 60
        return found, offered, total

    found, offered, total = store.call(run)
    assert total > 100 and found == total, f"{found} of {total} near misses found"
    assert offered > 50


def test_a_store_that_cannot_be_written_still_matches(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from peewee import OperationalError

    specs = library_specs(80, seed=41)
    tasks = tasks_for(specs[:20], seed=42)

    def refuse(*_: Any, **__: Any) -> int:
        raise OperationalError("attempt to write a readonly database")

    def run() -> None:
        lib = TemplateLibrary()
        _add(lib, specs)
        monkeypatch.setattr(anchors, "sync", refuse)
        full = lib.index()
        for task in tasks:
            _same(full, lib, task)

    store.call(run)


LONG = "x" * 150 + "y" * 150  # a literal word longer than the key column


def long_word_specs() -> list[dict[str, Any]]:
    params = [Param("name", "identifier", "OrderHistory", "the name", 0.9)]
    return [
        {
            "name": f"long{i}",
            "pattern": f"function that parses {LONG} {w} named {{name}}",
            "body": BODY,
            "params": params,
        }
        for i, w in enumerate(["files", "rows", "logs"])
    ]


def check_long_words(lib: TemplateLibrary) -> None:
    ids = _add(lib, long_word_specs())
    full = lib.index()
    tasks = [f"function that parses {LONG} {w} named Foo" for w in ("files", "rows", "logs", "lines")]
    for task in tasks:
        _same(full, lib, task)
    assert lib.lookup(tasks[1]).match(tasks[1]).template.name.startswith("learned-")
    assert all(len(k) <= 255 for (k,) in TemplateAnchor.select(TemplateAnchor.key).tuples())
    filed = TemplateAnchor.select().where(TemplateAnchor.template.in_(ids)).count()
    assert filed >= 3, "filed in the index (not matched by the whole-library fallback)"


def test_words_longer_than_the_key_column(store: Any) -> None:
    store.call(check_long_words, TemplateLibrary())
