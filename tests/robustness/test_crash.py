"""Crash safety: ``kill -9`` a running ``templar batch``, restart, and check money and state."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from engine.batch import log_path
from tests.fakes import default_responder
from tests.robustness.conftest import proc_env, run_main, templar_argv, write_tasks

ROOT = Path(__file__).resolve().parents[2]
PAID_SOURCES = ("llm", "repair", "review", "suggest")


def query(db: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def done_ids(log: Path) -> set[str]:
    ids = set()
    for line in log.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("status") == "ok":
            ids.add(record["id"])
    return ids


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_keeps_money_and_state_consistent(configured, fake, capsys, tmp_path) -> None:
    # every answer takes 0.3 s at the server, so a kill lands with calls in flight
    fake.responder = lambda request: dataclasses.replace(default_responder(request), delay=0.3)
    file = write_tasks(
        tmp_path / "tasks.jsonl",
        [{"id": f"t{i:02d}", "task": f"function number {i} that totals an invoice"} for i in range(12)],
    )
    proc = subprocess.Popen(
        templar_argv("batch", str(file), "--concurrency", "3"),
        cwd=ROOT,
        env=proc_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # 6 requests seen => at least 3 tasks finished and were recorded (a slot frees only
        # after its result is on disk), and about 3 calls are in flight right now
        assert fake.wait_for_requests(6, timeout=90), "the batch never reached the provider"
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind
        proc.wait(timeout=30)
    assert proc.returncode == -9
    db = configured.default_db
    seen_at_kill = fake.count()

    # 1. the database survived
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    held = query(db, "select id, amount_micros, ledger_id from reservation where state = 'held'")
    assert 1 <= len(held) <= 3, "the killed process should have left its in-flight reservations"
    pending = query(db, "select id from ledger_entry where outcome = 'pending'")
    assert sorted(r[0] for r in pending) == sorted(r[2] for r in held)
    done_before = done_ids(log_path(configured.data_dir, file))
    assert len(done_before) >= 3

    # 2. restart: the rerun reconciles, skips what was done, finishes the rest
    code, out, err = run_main(capsys, "batch", str(file), "--concurrency", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    statuses = {r["id"]: r["status"] for r in data["results"]}
    assert {i for i, s in statuses.items() if s == "skipped"} == done_before
    assert all(s == "ok" for i, s in statuses.items() if i not in done_before)
    assert f"{len(done_before)} of 12 tasks already done in an earlier run: skipped" in err
    assert done_ids(log_path(configured.data_dir, file)) == {f"t{i:02d}" for i in range(12)}

    # 3. reservations reconciled: none held; the orphans were charged at their worst case
    assert query(db, "select count(*) from reservation where state = 'held'") == [(0,)]
    reconciled = query(db, "select id, amount_micros from reservation where state = 'reconciled'")
    assert sorted(reconciled) == sorted((r[0], r[1]) for r in held)
    interrupted = query(db, "select id, cost_micros, estimated from ledger_entry where outcome = 'interrupted'")
    assert sorted(interrupted) == sorted((r[2], r[1], 1) for r in held)
    assert query(db, "select count(*) from ledger_entry where outcome = 'pending'") == [(0,)]

    # 4. ledger vs the server's request log: every request the server saw has a ledger row;
    #    the only rows without a request are interrupted ones (killed between reserve and send)
    rows = query(db, "select provider, outcome from ledger_entry where source in ('llm','repair','review','suggest')")
    completed = Counter(p for p, outcome in rows if outcome in ("ok", "error"))
    maybe = Counter(p for p, outcome in rows if outcome == "interrupted")
    server = Counter(r.format for r in fake.requests)
    assert fake.count() >= seen_at_kill
    for provider in set(server) | set(completed) | set(maybe):
        assert completed[provider] <= server[provider] <= completed[provider] + maybe[provider], provider
    assert sum(server.values()) >= sum(completed.values())

    # 5. money: the counters agree with the ledger to the micro-dollar, nothing reserved
    spent, reserved = query(db, "select spent_micros, reserved_micros from budget_counter where scope = 'system'")[0]
    assert reserved == 0
    assert spent == query(db, "select sum(cost_micros) from ledger_entry")[0][0]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
