"""Costs that must not grow with history (issue 14): batch eviction, lazy imports, indexed reads."""

from __future__ import annotations

from typing import Any

from engine import cache as response_cache
from engine.store.models import CacheEntry


def _put(i: int, cap: int, now: float) -> None:
    response_cache.put(
        f"{i:064x}",
        provider="openai",
        model="m",
        text="t",
        code=f"X = {i}\n",
        tokens_in=1,
        tokens_out=1,
        cost_micros=1,
        ttl_s=1000,
        max_entries=cap,
        now=now,
    )


def _codes() -> list[str]:
    return [e.code for e in CacheEntry.select().order_by(CacheEntry.last_used)]


def test_a_full_cache_evicts_in_one_batch_down_to_ninety_percent(make_engine: Any) -> None:
    engine = make_engine()
    cap = 20
    steps: list[list[str]] = []

    def fill() -> None:
        for i in range(cap + 1):
            _put(i, cap, 1000.0 + i)
        steps.append(_codes())
        for i in range(cap + 1, cap + 3):  # room below the cap again: no eviction, nothing lost
            _put(i, cap, 1000.0 + i)
        steps.append(_codes())
        for i in range(cap + 3, cap + 4):  # over the cap again: the next batch
            _put(i, cap, 1000.0 + i)
        steps.append(_codes())

    engine.store.call(fill)
    assert response_cache.low_water(cap) == 18
    assert steps[0] == [f"X = {i}\n" for i in range(3, 21)], "the 3 least recently used went in one batch"
    assert steps[1] == [f"X = {i}\n" for i in range(3, 23)], "no eviction while at or under the cap"
    assert steps[2] == [f"X = {i}\n" for i in range(6, 24)]


def test_recently_used_entries_survive_a_batch(make_engine: Any) -> None:
    engine = make_engine()

    def run() -> list[str]:
        for i in range(10):
            _put(i, 10, 100.0 + i)
        response_cache.record_hit(f"{0:064x}", 500.0, ("r", "p", "a", "openai", "m", 1, 0, "o"))
        _put(10, 10, 600.0)
        return _codes()

    codes = engine.store.call(run)
    assert "X = 0\n" in codes and "X = 1\n" not in codes and len(codes) == response_cache.low_water(10)


def test_low_water_never_reaches_the_cap() -> None:
    for cap in (1, 2, 9, 10, 11, 10_000, 100_000):
        assert 0 <= response_cache.low_water(cap) < cap
    assert response_cache.low_water(100_000) == 90_000


async def test_an_exact_repeat_is_answered_from_the_cache_without_loading_the_library(
    make_engine: Any, fake: Any
) -> None:
    from engine.learning.body import Param
    from tests.fakes import Reply

    first = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text="```python\nLIMIT: int = 5\n```"))
    task = "a constant LIMIT set to 5"
    assert (await first.generate(task)).source == "llm"
    # a template that matches the same words is learned afterwards; the exact repeat stays a cache hit
    first.store.call(
        first.library.add_template,
        {
            "name": "constant",
            "pattern": "a constant {name} set to {value}",
            "body": "{{ name }}: int = {{ value }}\n",
            "params": [Param("name", "identifier", "LIMIT"), Param("value", "integer", 5)],
        },
    )
    second = make_engine(order='["openai"]')  # a new process: nothing loaded yet
    repeat = await second.generate(task)
    assert (repeat.source, repeat.code) == ("cache", "LIMIT: int = 5\n")
    assert second.library._index is None, "the learned library was loaded for a cache hit"
    assert [e.source for e in repeat.events if hasattr(e, "source")][0] == "cache"
    other = await second.generate("a constant DEPTH set to 7")
    assert (other.source, other.code) == ("learned", "DEPTH: int = 7\n")
    assert fake.count() == 1


def test_the_library_stamp_moves_on_every_change_and_reads_no_table_scan(make_engine: Any) -> None:
    from engine.learning.body import Param

    engine = make_engine()
    library = engine.library
    spec = {
        "name": "constant",
        "pattern": "a constant {name} set to {value}",
        "body": "{{ name }}: int = {{ value }}\n",
        "params": [Param("name", "identifier", "LIMIT"), Param("value", "integer", 5)],
    }
    seen = [engine.store.call(library.stamp)]
    view = engine.store.call(library.add_template, dict(spec))
    seen.append(engine.store.call(library.stamp))
    engine.store.call(library.add_template, {**spec, "pattern": "a setting {name} equal to {value}"})
    seen.append(engine.store.call(library.stamp))
    engine.store.call(library.retire, view.id, "replaced")
    seen.append(engine.store.call(library.stamp))
    assert len(set(seen)) == len(seen), f"a change left the stamp as it was: {seen}"
    assert engine.store.call(library.stamp) == seen[-1], "no change, same stamp"

    def plan() -> list[str]:
        db = engine.store.db
        from engine.learning.library import STAMP_SQL as sql

        assert tuple(int(v or 0) for v in engine.store.db.execute_sql(sql).fetchone()) == tuple(seen[-1])
        return [str(row[-1]) for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql).fetchall()]

    steps = engine.store.call(plan)
    assert steps and not [s for s in steps if s.startswith("SCAN") and "CONSTANT ROW" not in s], steps


# -- validation reports remembered in the store (engine.validation_memo) ----------------------------

TASK = "write a function that reverses the words of a sentence, named flip_words"


def _forget_in_process() -> None:
    from engine.validation import validator

    with validator._MEMO_LOCK:
        validator._MEMO.clear()


async def test_a_cache_hit_in_a_new_process_reuses_the_stored_report(make_engine: Any, monkeypatch: Any) -> None:
    from engine.validation import CodeValidator
    from engine.validation.validator import CodeValidator as Impl

    engine = make_engine()
    paid = await engine.generate(TASK)
    assert paid.source == "llm"
    _forget_in_process()  # what a new process starts with
    calls: list[str] = []
    real = Impl._validate

    def counting(self: Any, code: str, filename: str) -> Any:
        calls.append(code)
        return real(self, code, filename)

    monkeypatch.setattr(Impl, "_validate", counting)
    hit = await engine.generate(TASK)
    assert hit.source == "cache" and calls == [], "the report stored with the answer is used: no Bandit"
    want = real(CodeValidator(), paid.code, "generated.py").to_dict()  # the default policy, validated now
    assert hit.extra["validation"] == want


async def test_another_policy_or_validator_validates_again(make_engine: Any, monkeypatch: Any) -> None:
    from engine import validation_memo
    from engine.validation import ValidationPolicy

    engine = make_engine()
    paid = await engine.generate(TASK)
    code = paid.code

    def recall(policy: ValidationPolicy) -> Any:
        return engine.store.call(validation_memo.recall, code, policy)

    stored = [
        p
        for p in (
            ValidationPolicy(),
            ValidationPolicy(block_severity="low"),
            ValidationPolicy(block_severity="high"),
            ValidationPolicy(min_docstring_coverage=0.5),
        )
        if recall(p) is not None
    ]
    assert len(stored) == 1, "one report, under the policy it was computed with"
    assert engine.store.call(validation_memo.recall, code + "\n# changed\n", stored[0]) is None
    monkeypatch.setattr(validation_memo, "_fingerprint", "another validator version")
    assert recall(stored[0]) is None, "new rules or another Bandit: validated again"


async def test_the_builtin_index_is_built_once_and_every_cache_hit_is_recorded(make_engine: Any) -> None:
    from engine import pipeline
    from engine.store.models import LedgerEntry

    assert pipeline.builtin_index() is pipeline.builtin_index(), "built once per process, not per request"
    engine = make_engine()
    await engine.generate(TASK)
    for _ in range(3):
        assert (await engine.generate(TASK)).source == "cache"
    rows = engine.store.call(lambda: LedgerEntry.select().where(LedgerEntry.source == "cache").count())
    assert rows == 3


async def test_a_cache_hit_with_its_stored_report_is_one_round_trip_and_keeps_its_ledger_row(
    make_engine: Any, monkeypatch: Any
) -> None:
    from engine.store.models import CacheEntry, LedgerEntry

    engine = make_engine()
    paid = await engine.generate(TASK)
    hops: list[str] = []
    real_run = engine.store.run

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await real_run(fn, *args, **kwargs)

    monkeypatch.setattr(engine.store, "run", counting)
    hit = await engine.generate(TASK)
    assert hit.source == "cache" and hit.code == paid.code
    assert hops == ["_probe"], f"one database hop, not {hops}"

    def rows() -> tuple[list[tuple[Any, ...]], int]:
        ledger = [
            (r.request_id, r.outcome, r.saved_micros, r.latency_ms)
            for r in LedgerEntry.select().where(LedgerEntry.source == "cache")
        ]
        return ledger, CacheEntry.get().hits

    ledger, hits = engine.store.call(rows)
    assert hits == 1 and len(ledger) == 1
    assert ledger[0][0] == hit.request_id and ledger[0][1] == "ok"
    assert ledger[0][2] == hit.saved_micros > 0 and ledger[0][3] == hit.latency_ms

    # without a stored report (new rules) the answer is validated first, then booked: a second hop
    from engine import validation_memo

    hops.clear()
    monkeypatch.setattr(validation_memo, "_fingerprint", "another validator version")
    again = await engine.generate(TASK)
    assert again.source == "cache" and len(hops) == 2, hops
    ledger, hits = engine.store.call(rows)
    assert hits == 2 and [r[0] for r in ledger] == [hit.request_id, again.request_id]
