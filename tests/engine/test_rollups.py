"""Per-day ledger aggregates (issue 14, migration 0009): written with each ledger write, read by
``stats``, backfilled by the migration, kept by ``store prune``.

The reference is the raw-row figures (``compute_stats_raw``, itself checked row by row in
test_stats_sql.py) with the two documented differences of the aggregates: latency percentiles
from a histogram (exact below 100 ms, two significant digits above) and ``requests`` counting
successful ``llm`` rows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import rollups
from engine.budget.book import day_of
from engine.stats import GROUPS, compute_stats, compute_stats_raw
from engine.store.db import Store, sqlite_url, write_transaction
from engine.store.models import LedgerEntry, LedgerRollup
from tests.cli.helpers import run_main

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import growth_data as G

NOW = 1_790_000_000.0


def _edge_rows(now: float) -> list[tuple[Any, ...]]:
    """Edge cases: empty group values, reconcile and reversal rows, estimated costs, failures
    without a class, latencies on both sides of 100 ms; request ids unique per llm attempt."""
    return G.edge_ledger_rows(
        now,
        60,
        request_id=lambda i: f"edge-{i}",
        day=day_of,
        latency=lambda rng: rng.choice((7, 99, 100, 345, 1234, 99999)),
    )


def _expected(raw: dict[str, Any]) -> dict[str, Any]:
    """What the aggregates must give, from the raw figures: same sums and counts; percentiles
    bucketed (raw values here are each a possible bucket's member)."""
    out = dict(raw)
    for key in ("latency_p50_ms", "latency_p95_ms"):
        if out[key] is not None:
            out[key] = rollups.bucket(int(out[key]))
    return out


def _compare(engine: Any, since: float | None) -> None:
    for by in (None, *GROUPS):
        got = engine.store.call(compute_stats, since, by)
        want = engine.store.call(compute_stats_raw, since, by)
        assert got["total"] == _expected(want["total"]), (by, since)
        if by:
            assert [g[by] for g in got["groups"]] == [g[by] for g in want["groups"]], by
            for g, w in zip(got["groups"], want["groups"]):
                assert g == {by: w[by], **_expected({k: v for k, v in w.items() if k != by})}, (by, w[by])
        assert _false_hits(got) == _false_hits(want), by


def _false_hits(stats: dict[str, Any]) -> dict[str, Any]:
    """The false-hit table; the source of a name that both tiers served (only the edge rows' "" and
    "m1" are) is "the latest" by id in raw rows and by day in aggregates: not compared."""
    data = dict(stats["false_hits"])
    data["templates"] = [{**t, "source": "?"} if t["template"] in ("", "m1") else t for t in data["templates"]]
    return data


@pytest.mark.parametrize("since_hours", [None, 30, 24 * 3])
def test_aggregates_give_the_raw_figures(make_engine: Any, since_hours: int | None) -> None:
    engine = make_engine()
    engine.store.call(G.bulk_ledger, engine.store.db, G.ledger_rows(3000, 5, NOW) + _edge_rows(NOW))
    _compare(engine, None if since_hours is None else NOW - since_hours * 3600)


def test_a_settlement_updates_the_aggregates_in_its_own_transaction(make_engine: Any) -> None:
    engine = make_engine()

    def run() -> tuple[list[Any], list[Any], list[Any]]:
        db = LedgerEntry._meta.database
        row = LedgerEntry.create(
            ts=NOW,
            day="2026-09-20",
            request_id="r1",
            source="llm",
            outcome="pending",
            cost_micros=900,
            provider="openai",
            latency_ms=0,
        )
        pending = _totals()
        with pytest.raises(RuntimeError), write_transaction(db):
            LedgerEntry.update(outcome="ok", cost_micros=120, tokens_in=10, latency_ms=250).where(
                LedgerEntry.id == row.id
            ).execute()
            raise RuntimeError("crash before commit")
        rolled_back = _totals()
        with write_transaction(db):
            LedgerEntry.update(outcome="ok", cost_micros=120, tokens_in=10, latency_ms=250).where(
                LedgerEntry.id == row.id
            ).execute()
        return pending, rolled_back, _totals()

    pending, rolled_back, settled = engine.store.call(run)
    assert pending == [("llm", "pending", 1, 0, 900)]
    assert rolled_back == pending, "a settlement that did not commit leaves the aggregates as they were"
    assert settled == [("llm", "ok", 1, 10, 120)], "the pending row is taken out, the settled one put in"
    stats = engine.store.call(compute_stats, None, "provider")
    assert stats["groups"][0]["provider"] == "openai" and stats["groups"][0]["latency_p50_ms"] == 250


def _totals() -> list[Any]:
    return [
        tuple(r)
        for r in LedgerRollup.select(
            LedgerRollup.source,
            LedgerRollup.outcome,
            LedgerRollup.rows,
            LedgerRollup.tokens_in,
            LedgerRollup.cost_micros,
        )
        .where((LedgerRollup.dim == "all") & (LedgerRollup.rows != 0))
        .tuples()
    ]


async def test_a_paid_call_through_the_engine_is_in_the_aggregates(make_engine: Any) -> None:
    engine = make_engine()
    result = await engine.generate("write a function that reverses the words of a sentence, named flip_words")
    assert result.source == "llm"
    got = await engine.stats(None, "source")
    want = await engine.store.run(compute_stats_raw, None, "source")
    assert [g["source"] for g in got["groups"]] == [g["source"] for g in want["groups"]]
    assert got["total"]["paid_calls"] == want["total"]["paid_calls"] >= 1
    assert got["total"]["cost_usd"] == want["total"]["cost_usd"] > 0


def test_the_migration_backfills_existing_rows(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    old = Store.open(url, migrate=False)
    old.migrate("0008_cooldown_credential")
    old.call(G.bulk_ledger, old.db, G.ledger_rows(2000, 4, NOW) + _edge_rows(NOW))
    want = {by: old.call(compute_stats_raw, None, by) for by in (None, *GROUPS)}
    old.close()
    store = Store.open(url)
    try:
        for by, raw in want.items():
            got = store.call(compute_stats, None, by)
            assert got["total"] == _expected(raw["total"]), by
            if by:
                assert len(got["groups"]) == len(raw["groups"])
    finally:
        store.close()


def test_prune_deletes_raw_rows_and_keeps_the_figures(make_engine: Any) -> None:
    engine = make_engine()
    engine.store.call(G.bulk_ledger, engine.store.db, G.ledger_rows(3000, 10, NOW) + _edge_rows(NOW))
    engine.store.call(
        LedgerEntry.create,
        ts=NOW - 20 * 86400,
        day=day_of(NOW - 20 * 86400),
        request_id="held",
        source="llm",
        outcome="pending",
        cost_micros=5,
    )
    before = {by: engine.store.call(compute_stats, None, by) for by in (None, *GROUPS)}
    cut = day_of(NOW - 4 * 86400)
    old_rows = engine.store.call(lambda: LedgerEntry.select().where(LedgerEntry.day < cut).count())
    assert engine.store.call(rollups.prune, cut, True) == old_rows - 1, "dry run counts all but the pending row"
    assert engine.store.call(lambda: LedgerEntry.select().count()) > old_rows, "a dry run deletes nothing"
    assert engine.store.call(rollups.prune, cut) == old_rows - 1
    assert engine.store.call(lambda: LedgerEntry.select().where(LedgerEntry.day < cut).count()) == 1
    after = {by: engine.store.call(compute_stats, None, by) for by in (None, *GROUPS)}
    assert after == before


def test_store_prune_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TEMPLAR_HOME", str(tmp_path))
    code, out, err = run_main(capsys, "store", "prune", "--before", "2099-01-01", "--dry-run", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["rows"] == 0 and data["dry_run"] is True and data["before"] == "2099-01-01"
    code, out, err = run_main(capsys, "store", "prune", "--before", "yesterday")
    assert code != 0 and "--before 'yesterday'" in err and "Traceback" not in err
    code, out, err = run_main(capsys, "store", "prune")
    assert code != 0 and "ledger_retention_days" in err


def test_prune_day_from_the_retention_setting() -> None:
    from datetime import date

    from engine.cli.store_cmds import prune_day

    assert prune_day(None, 30, today=date(2026, 12, 2)) == "2026-11-02"
    assert prune_day(" 2026-09-01 ", 30) == "2026-09-01"


def test_bucket_matches_its_sql(make_engine: Any) -> None:
    engine = make_engine()
    values = [0, 1, 99, 100, 101, 999, 1000, 1234, 9999, 10000, 123456, 2_000_000_000]
    sql = "SELECT " + ", ".join(rollups.bucket_sql(str(v)) for v in values)
    got = engine.store.call(lambda: list(engine.store.db.execute_sql(sql).fetchone()))
    assert got == [rollups.bucket(v) for v in values]
    assert rollups.bucket(1234) == 1200 and rollups.bucket(99) == 99 and rollups.bucket(100) == 100


ADDITIVE = (
    "requests",
    "paid_calls",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "saved_usd",
    "cache_hits",
    "template_hits",
    "free_failed_attempts",
    "estimated_rows",
)


@pytest.mark.parametrize("since_hours", [None, 30])
def test_folded_model_groups_count_template_answers_once(make_engine: Any, since_hours: int | None) -> None:
    """The budget screen's breakdown by model: template answers (whose ``model`` is the template's
    name) are one ``-`` group; every model's own group is unchanged, and nothing is lost or doubled."""
    engine = make_engine()
    rows = G.ledger_rows(3000, 5, NOW)
    # a template failing its validation, a routed answer and a paid call without a model: all in "-"
    rows += [
        (
            NOW - 60,
            day_of(NOW - 60),
            "t-fail",
            "p",
            "a",
            "learned",
            "",
            "learned-7",
            0,
            0,
            0,
            0,
            0,
            3,
            "error",
            "ValidationFailed",
            False,
            None,
            "o",
        ),
        (
            NOW - 50,
            day_of(NOW - 50),
            "t-routed",
            "p",
            "a",
            "routed",
            "",
            "learned-9",
            0,
            0,
            0,
            0,
            40,
            3,
            "ok",
            None,
            False,
            None,
            "o",
        ),
        (
            NOW - 40,
            day_of(NOW - 40),
            "t-paid",
            "p",
            "a",
            "llm",
            "openai",
            "",
            1,
            10,
            20,
            300,
            0,
            123,
            "ok",
            None,
            False,
            None,
            "o",
        ),
    ]
    engine.store.call(G.bulk_ledger, engine.store.db, rows)
    since = None if since_hours is None else NOW - since_hours * 3600
    template_names = {r[7] for r in rows if r[5] in ("learned", "builtin", "routed")}
    full = engine.store.call(compute_stats, since, "model")
    folded = engine.store.call(compute_stats, since, "model", with_false_hits=False, fold_templates=True)
    assert folded["false_hits"] is None and full["false_hits"]["template_answers"] > 0
    assert folded["total"] == full["total"]
    by_name = {g["model"]: g for g in folded["groups"]}
    assert not template_names & set(by_name), "no group per template"
    for g in full["groups"]:
        if g["model"] not in template_names and g["model"] != "-":
            assert by_name[g["model"]] == g, g["model"]
    for key in ADDITIVE:
        assert sum(g[key] for g in folded["groups"]) == pytest.approx(sum(g[key] for g in full["groups"])), key
    rest = by_name["-"]
    assert rest["template_hits"] == full["total"]["template_hits"] > 0
    assert rest["free_failures"] == {"ValidationFailed": 1}
    assert rest["paid_calls"] == 1 and rest["latency_p50_ms"] == rollups.bucket(123)
