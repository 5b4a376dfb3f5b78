"""All-time totals per template (issue 14, migration 0014: ``engine.template_totals``): kept by
triggers with every ledger write, read by the false-hit table of ``stats``, filled by the
migration, kept by ``store prune``.

The reference is a recomputation from the raw ledger rows: per (template name, source) of the
learned and built-in tiers, the ok rows, all rows and the latest day.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from engine import rollups
from engine.budget.book import day_of
from engine.stats import compute_stats, compute_stats_raw
from engine.store.db import Store, sqlite_url, write_transaction
from engine.store.models import LedgerEntry
from engine.store.sql import execute
from tests.engine.test_learning import learn, responder
from tests.engine.test_rollups import NOW, _edge_rows, _false_hits

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import growth_data as G

COLOR = "enum Color with members red, green and blue"
Totals = dict[tuple[str, str], tuple[int, int, str]]


def _table() -> Totals:
    rows = execute("SELECT template, source, ok, rows, last_day FROM ledger_template WHERE rows <> 0").fetchall()
    return {(str(t), str(s)): (int(ok), int(n), str(day)) for t, s, ok, n, day in rows}


def _raw(where: str = "1 = 1") -> Totals:
    rows = execute(
        "SELECT COALESCE(model, ''), source, SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), COUNT(*), MAX(day) "
        f"FROM ledger_entry WHERE source IN ('learned', 'builtin') AND {where} GROUP BY COALESCE(model, ''), source"
    ).fetchall()
    return {(str(t), str(s)): (int(ok), int(n), str(day)) for t, s, ok, n, day in rows}


def _bulk(engine: Any, n: int = 3000, days: int = 6) -> None:
    engine.store.call(G.bulk_ledger, engine.store.db, G.ledger_rows(n, days, NOW) + _edge_rows(NOW))


def test_inserts_of_every_source_keep_the_totals_equal_to_the_raw_rows(make_engine: Any) -> None:
    engine = make_engine()
    _bulk(engine)
    sources = engine.store.call(lambda: {r[0] for r in execute("SELECT DISTINCT source FROM ledger_entry")})
    assert {"llm", "repair", "reconcile", "cache", "learned", "builtin", "suggest", "reversal"} <= sources
    table, raw = engine.store.call(_table), engine.store.call(_raw)
    assert len(raw) > 500 and table == raw
    assert ("", "learned") in raw, "a template answer without a name is a group of its own"
    got, want = engine.store.call(compute_stats), engine.store.call(compute_stats_raw)
    assert _false_hits(got) == _false_hits(want)


async def test_engine_answers_failures_and_wrong_reports(make_engine: Any, fake: Any) -> None:
    fake.responder = responder()
    engine = make_engine(order='["openai"]', learning=True)
    _, sid = await learn(engine)
    tid = engine.store.call(engine.library.accept, sid).id
    answers = [await engine.generate(f"a constant C{i} set to {i}") for i in range(3)]
    builtin = await engine.generate(COLOR)
    assert {a.source for a in answers} == {"learned"} and builtin.source == "builtin"
    engine.report_wrong(answers[0].request_id, "wrong")  # writes a reversal row, not an answer
    engine.store.call(  # a failed render of the same template: a row, not an answer
        LedgerEntry.create, ts=NOW, day=day_of(NOW), request_id="f1", source="learned",
        model=f"learned-{tid}", outcome="error", error_class="render",
    )  # fmt: skip
    table = engine.store.call(_table)
    assert table == engine.store.call(_raw)
    assert table[(f"learned-{tid}", "learned")][:2] == (3, 4)
    got, want = engine.store.call(compute_stats), engine.store.call(compute_stats_raw)
    assert got["false_hits"] == want["false_hits"]
    per = {t["template"]: t for t in got["false_hits"]["templates"]}
    assert (per[f"learned-{tid}"]["answers"], per[f"learned-{tid}"]["wrong"]) == (3, 1)


def test_updates_take_the_old_row_out_and_a_rolled_back_write_leaves_the_totals(make_engine: Any) -> None:
    engine = make_engine()
    _bulk(engine, 500, 3)

    def run() -> tuple[Totals, Totals]:
        db = LedgerEntry._meta.database
        learned = LedgerEntry.select().where(LedgerEntry.source == "learned", LedgerEntry.outcome == "ok")
        first, second = learned.limit(2)
        LedgerEntry.update(outcome="error", error_class="validation").where(LedgerEntry.id == first.id).execute()
        LedgerEntry.update(source="builtin", model="enum").where(LedgerEntry.id == second.id).execute()
        cache = LedgerEntry.select().where(LedgerEntry.source == "cache").first()
        LedgerEntry.update(source="learned", model="learned-9999").where(LedgerEntry.id == cache.id).execute()
        before = _table()
        with pytest.raises(RuntimeError), write_transaction(db):
            LedgerEntry.create(
                ts=NOW, day=day_of(NOW), request_id="x", source="learned", model="learned-1", outcome="ok"
            )
            raise RuntimeError("crash before commit")
        assert _table() == before, "an answer that did not commit is not counted"
        return before, _raw()

    table, raw = engine.store.call(run)
    assert table == raw and raw[("learned-9999", "learned")][:2] == (1, 1)


def test_prune_keeps_the_totals(make_engine: Any) -> None:
    engine = make_engine()
    _bulk(engine, 3000, 10)
    raw = engine.store.call(_raw)
    before = engine.store.call(compute_stats)
    cut = day_of(NOW - 4 * 86400)
    assert engine.store.call(rollups.prune, cut) > 1000
    assert engine.store.call(_raw) != raw, "the raw rows are gone"
    assert engine.store.call(_table) == raw
    assert engine.store.call(compute_stats)["false_hits"] == before["false_hits"]


def test_the_migration_fills_the_totals_of_an_existing_store_pruned_rows_included(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    old = Store.open(url, migrate=False)
    old.migrate("0013_rollup_value_index")
    old.call(G.bulk_ledger, old.db, G.ledger_rows(2000, 8, NOW) + _edge_rows(NOW))
    raw, want = old.call(_raw), old.call(compute_stats_raw)
    assert old.call(rollups.prune, day_of(NOW - 3 * 86400)) > 500  # pruned before 0014 existed
    old.close()
    store = Store.open(url)
    try:
        assert store.call(_table) == raw
        assert _false_hits(store.call(compute_stats)) == _false_hits(want)
        store.call(G.bulk_ledger, store.db, G.ledger_rows(300, 2, NOW + 86400, seed=9))  # then the triggers
        new = store.call(_raw, "request_id LIKE '%-000000000009'")
        assert new and store.call(_table) == _add(raw, new)
    finally:
        store.close()


def _add(a: Totals, b: Totals) -> Totals:
    out = dict(a)
    for key, (ok, n, day) in b.items():
        old = out.get(key, (0, 0, ""))
        out[key] = (old[0] + ok, old[1] + n, max(old[2], day))
    return out
