"""``templar batch``: malformed lines, resuming, exit codes, bounded concurrency, interrupts."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from pathlib import Path

import pytest

from engine.batch import BatchRun, BatchTask, LineError, ResultLog, TaskOutcome, log_path, read_tasks, run_batch
from engine.config import set_value
from engine.store.models import BudgetCounter, LedgerEntry
from tests.fakes import Fault, Reply
from tests.robustness.conftest import (
    db_rows,
    one_line,
    proc_env,
    run_main,
    templar_argv,
    write_tasks,
)

ROOT = Path(__file__).resolve().parents[2]


def tasks_file(tmp_path: Path, n: int, prefix: str = "t") -> Path:
    return write_tasks(
        tmp_path / "tasks.jsonl",
        [{"id": f"{prefix}{i}", "task": f"function number {i} that sums a list of prices"} for i in range(n)],
    )


def batch_json(capsys, *args: str) -> tuple[int, dict, str]:
    code, out, err = run_main(capsys, "batch", *args, "--json")
    return code, json.loads(out), err


# -- the task file ----------------------------------------------------------------------------


def test_malformed_lines_are_reported_by_number_and_the_others_run(configured, fake, capsys, tmp_path) -> None:
    file = write_tasks(
        tmp_path / "mixed.jsonl",
        [
            {"id": "good-1", "task": "function that reverses a string"},  # 1
            "this is not json",  # 2
            "[1, 2, 3]",  # 3
            {"id": "n", "task": 5},  # 4
            {"id": "x", "task": "a task", "colour": "red"},  # 5
            b'{"id": "bytes", "task": "caf\xe9 \xff"}',  # 6 not UTF-8
            {"id": "blank", "task": "   \t "},  # 7
            {"id": "bell", "task": "beep\u0007"},  # 8
            {"id": "good-1", "task": "function that reverses a list"},  # 9 duplicate id
            {"id": True, "task": "bool id"},  # 10
            {"id": "p", "task": "a task", "project": "../etc"},  # 11
            {"id": "c", "task": "a task", "critical": "yes"},  # 12
            "",  # 13 blank: ignored
            {"id": "huge", "task": "x" * 1_000_000},  # 14 a 1 MB task
            '{"id": "cut", "task": "unterminated',  # 15
            {"task": "function that returns the answer 42"},  # 16 good, id from a hash
        ],
    )
    code, data, err = batch_json(capsys, str(file))
    assert code == 2, err
    lines = {e["line"]: e["message"] for e in data["errors"]}
    assert sorted(lines) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15]
    assert "not valid JSON" in lines[2] and "expected a JSON object" in lines[3] and "must be a string" in lines[4]
    assert "unknown key 'colour'" in lines[5] and "UTF-8" in lines[6] and "empty" in lines[7]
    assert "control characters" in lines[8] and "duplicate id 'good-1' (first on line 1)" in lines[9]
    assert "invalid project name" in lines[11] and "true or false" in lines[12] and "limit is 20,000" in lines[14]
    for number in lines:
        assert f"{file}:{number}: " in err
    assert "Traceback" not in err
    assert [(r["line"], r["status"]) for r in data["results"]] == [(1, "ok"), (16, "ok")]
    assert data["results"][1]["id"].startswith("sha-")
    assert data["summary"]["counts"]["malformed"] == 13 and data["summary"]["exit_code"] == 2
    assert fake.count() == 2


def test_read_tasks_applies_defaults_and_keeps_file_order(tmp_path) -> None:
    file = write_tasks(
        tmp_path / "t.jsonl",
        [
            {"id": 7, "task": "a", "agent": "coder"},
            {"id": "b", "task": "b", "project": "acme", "critical": True},
        ],
    )
    tasks, errors = read_tasks(file, project="client", agent=None)
    assert errors == []
    assert tasks == [BatchTask("7", 1, "a", "client", "coder"), BatchTask("b", 2, "b", "acme", "default", True)]
    assert tasks[0].fingerprint != BatchTask("7", 1, "a", "other", "coder").fingerprint


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing.jsonl", "cannot read"),
        (lambda d: d, "is a directory"),
        (lambda d: write_tasks(d / "empty.jsonl", []), "no tasks"),
        (lambda d: write_tasks(d / "blank.jsonl", ["", "   ", "\t"]), "no tasks"),
    ],
)
def test_unusable_task_files_are_bad_input(configured, capsys, tmp_path, make, needle) -> None:
    code, out, err = run_main(capsys, "batch", str(make(tmp_path)))
    assert code == 2 and needle in one_line(err) and out == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--concurrency", "0"], "--concurrency must be between 1 and 64"),
        (["--concurrency", "65"], "--concurrency must be between 1 and 64"),
        (["--project", "a/b"], "invalid project name"),
        (["--agent", ""], "invalid agent name"),
    ],
)
def test_bad_batch_options_are_bad_input(configured, capsys, tmp_path, args, needle) -> None:
    code, out, err = run_main(capsys, "batch", str(tasks_file(tmp_path, 1)), *args)
    assert code == 2 and needle in one_line(err)


def test_help_documents_the_exit_code_rule(capsys) -> None:
    code, out, _ = run_main(capsys, "batch", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "most severe" in text and "1 internal error > 4 no provider reachable > 3 refused by budget" in text
    assert "130 when interrupted" in text and "skips the tasks already done" in text


# -- resuming ---------------------------------------------------------------------------------


def test_rerun_skips_done_tasks_and_says_so(configured, fake, capsys, tmp_path) -> None:
    file = tasks_file(tmp_path, 3)
    code, data, err = batch_json(capsys, str(file), "--concurrency", "2")
    assert code == 0, err
    assert data["summary"]["counts"]["llm"] == 3 and fake.count() == 3
    assert "batch: [3/3]" in err and "llm 3" in err  # plain progress lines (stderr is not a terminal)
    first = {r["id"]: r for r in data["results"]}

    code, data, err = batch_json(capsys, str(file))
    assert code == 0 and fake.count() == 3
    assert "3 of 3 tasks already done in an earlier run: skipped" in err
    assert {r["id"]: (r["status"], r["request_id"], r["code"]) for r in data["results"]} == {
        i: ("skipped", r["request_id"], r["code"]) for i, r in first.items()
    }

    # a new task and a changed one run; the others are still skipped
    items = [json.loads(line) for line in file.read_text().splitlines()]
    items[1]["task"] = "function number 1 that sums a list of prices, rounded to cents"
    items.append({"id": "t3", "task": "function that averages a list of prices"})
    write_tasks(file, items)
    code, data, err = batch_json(capsys, str(file))
    assert code == 0 and fake.count() == 5
    assert [r["status"] for r in data["results"]] == ["skipped", "ok", "skipped", "ok"]
    assert data["summary"]["changed_since_done"] == ["t1"]


def test_failed_and_refused_tasks_run_again(configured, fake, capsys, tmp_path) -> None:
    file = tasks_file(tmp_path, 2)
    for fmt in ("openai", "anthropic", "gemini"):
        fake.enqueue(fmt, Fault.unauthorized())
    code, data, err = batch_json(capsys, str(file), "--concurrency", "1")
    assert code == 4, err
    assert [r["status"] for r in data["results"]] == ["failed", "ok"]
    assert data["results"][0]["error_kind"] == "no_provider" and "auth" in data["results"][0]["error"]
    code, data, _ = batch_json(capsys, str(file))
    assert code == 0
    assert [r["status"] for r in data["results"]] == ["ok", "skipped"]


def test_torn_last_record_is_ignored_and_that_task_runs_again(configured, fake, capsys, tmp_path) -> None:
    file = tasks_file(tmp_path, 2)
    assert batch_json(capsys, str(file))[0] == 0
    log = log_path(configured.data_dir, file)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # a crash mid-write
    before = fake.count()
    code, data, _ = batch_json(capsys, str(file))
    assert code == 0
    assert sorted(r["status"] for r in data["results"]) == ["ok", "skipped"]
    assert fake.count() == before  # the re-run task is a cache hit: paid once only
    assert {r["source"] for r in data["results"] if r["status"] == "ok"} == {"cache"}
    code, data, _ = batch_json(capsys, str(file))
    assert [r["status"] for r in data["results"]] == ["skipped", "skipped"]


def test_a_second_run_of_the_same_file_is_refused_while_one_runs(configured, capsys, tmp_path) -> None:
    file = tasks_file(tmp_path, 1)
    holder = ResultLog.open(configured.data_dir, file)
    try:
        code, _, err = run_main(capsys, "batch", str(file))
    finally:
        holder.close()
    assert code == 2 and "another `templar batch` run is using this file" in one_line(err)


# -- exit codes -------------------------------------------------------------------------------


def _outcome(status: str, code: int) -> TaskOutcome:
    return TaskOutcome("i", 1, status, "default", "default", exit_code=code)


@pytest.mark.parametrize(
    ("codes", "errors", "interrupted", "expected"),
    [
        ([], False, False, 0),
        ([("ok", 0), ("skipped", 0)], False, False, 0),
        ([("ok", 0)], True, False, 2),
        ([("failed", 5), ("failed", 2)], False, False, 5),
        ([("refused", 3), ("failed", 5)], True, False, 3),
        ([("failed", 4), ("refused", 3)], False, False, 4),
        ([("failed", 4), ("failed", 1)], False, False, 1),
        ([("failed", 1), ("cancelled", 130)], False, True, 130),
    ],
)
def test_exit_code_is_the_most_severe(codes, errors, interrupted, expected) -> None:
    run = BatchRun([_outcome(s, c) for s, c in codes], [LineError(3, "bad")] if errors else [], interrupted=interrupted)
    assert run.exit_code == expected


def test_budget_refusal_is_exit_3_and_counted_as_refused(configured, fake, capsys, tmp_path) -> None:
    set_value(configured, "budget.project.limit_usd", "0.000001", "tight")
    file = write_tasks(
        tmp_path / "b.jsonl",
        [
            {"id": "a", "task": "function that parses a date", "project": "tight"},
            {"id": "b", "task": "function that parses a time"},
            "garbage",
        ],
    )
    code, data, err = batch_json(capsys, str(file))
    assert code == 3, err
    assert [r["status"] for r in data["results"]] == ["refused", "ok"]
    assert data["summary"]["counts"] | {} == {
        "learned": 0,
        "builtin": 0,
        "cache": 0,
        "llm": 1,
        "refused": 1,
        "failed": 0,
        "skipped": 0,
        "left": 0,
        "malformed": 1,
    }


# -- concurrency and interrupts ---------------------------------------------------------------


async def test_concurrency_is_bounded(make_engine, tmp_path, monkeypatch) -> None:
    engine = make_engine()
    tasks = [BatchTask(str(i), i + 1, f"task {i}", "default", "default") for i in range(12)]
    running = peak = 0
    full = asyncio.Event()  # set once three tasks are in flight together

    async def generate(task, **kwargs):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 3:
            full.set()
        await asyncio.wait_for(full.wait(), 10)  # hold each task until the limit is reached
        running -= 1
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "generate", generate)
    run = await run_batch(engine, tasks, None, concurrency=3)
    assert peak == 3
    assert [o.status for o in run.outcomes] == ["failed"] * 12 and run.exit_code == 1
    assert run.outcomes[0].error == "internal error: RuntimeError: boom"


def _ledger(engine) -> list[tuple[str, str | None]]:
    return engine.store.call(
        lambda: [(r.outcome, r.error_class) for r in LedgerEntry.select().order_by(LedgerEntry.id)]
    )


async def test_interrupt_cancels_in_flight_calls_and_releases_their_reservations(make_engine, fake, tmp_path) -> None:
    engine = make_engine()
    fake.responder = lambda request: Reply(text="```python\nX = 1\n```", delay=3.0)
    file = tasks_file(tmp_path, 6)
    tasks, _ = read_tasks(file)
    log = ResultLog.open(engine.paths.data_dir, file)
    stop = asyncio.Event()
    try:
        job = asyncio.ensure_future(run_batch(engine, tasks, log, concurrency=3, stop=stop))
        assert await asyncio.to_thread(fake.wait_for_requests, 3, 30.0)
        held = engine.store.call(engine.book.held_count)
        assert held == 3
        stop.set()
        run = await asyncio.wait_for(job, 10)
    finally:
        log.close()
    assert run.interrupted and run.exit_code == 130 and run.left == 6
    assert run.held_after == 0 and engine.store.call(engine.book.held_count) == 0
    assert _ledger(engine) == [("error", "cancelled")] * 3  # the server saw 3 requests: 3 rows, none pending
    reserved = engine.store.call(lambda: [c.reserved_micros for c in BudgetCounter.select()])
    assert reserved and set(reserved) == {0}
    # nothing was recorded as done: a rerun runs all six
    fake.responder = None
    log = ResultLog.open(engine.paths.data_dir, file)
    try:
        again = await run_batch(engine, tasks, log, concurrency=3)
    finally:
        log.close()
    assert [o.status for o in again.outcomes] == ["ok"] * 6 and again.exit_code == 0


async def test_a_cancel_while_a_reservation_is_written_leaves_nothing_held(
    make_engine, fake, tmp_path, monkeypatch
) -> None:
    """The window the chain does not cover: cancelled while ``reserve`` runs on the DB thread."""
    engine = make_engine()
    started = asyncio.Event()
    original = engine.book.reserve

    def slow_reserve(*args, **kwargs):
        import time

        loop.call_soon_threadsafe(started.set)
        time.sleep(0.3)
        return original(*args, **kwargs)

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(engine.book, "reserve", slow_reserve)
    stop = asyncio.Event()
    tasks = [BatchTask("a", 1, "function that parses a date", "default", "default")]
    job = asyncio.ensure_future(run_batch(engine, tasks, None, stop=stop))
    await asyncio.wait_for(started.wait(), 30)
    stop.set()
    run = await asyncio.wait_for(job, 10)
    assert run.interrupted and run.left == 1
    assert run.released in (0, 1) and run.held_after == 0  # released by the chain (patched) or the batch
    assert engine.store.call(engine.book.held_count) == 0
    assert fake.count() == 0 and _ledger(engine) == [("error", "cancelled")]
    counters = engine.store.call(lambda: [(c.reserved_micros, c.spent_micros) for c in BudgetCounter.select()])
    assert counters and set(counters) == {(0, 0)}, "the released amount must leave every counter"


@pytest.mark.slow
def test_sigint_stops_a_real_batch_cleanly_and_a_rerun_finishes(configured, fake, capsys, tmp_path) -> None:
    fake.responder = lambda request: Reply(text="```python\nX = 1\n```", delay=2.0)
    file = tasks_file(tmp_path, 8)
    proc = subprocess.Popen(
        templar_argv("batch", str(file), "--concurrency", "2", "--json"),
        cwd=ROOT,
        env=proc_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert fake.wait_for_requests(2, timeout=60), "the batch never reached the provider"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    err_text = err.decode()
    assert "Traceback" not in err_text
    assert "batch interrupted: 8 task(s) left; run the same command again" in err_text
    data = json.loads(out)
    assert data["summary"]["left"] == 8 and data["summary"]["reservations_held"] == 0
    rows = db_rows(configured.default_db)
    assert [r for r in rows["reservation"] if "held" in r] == []
    ledger = [(r.outcome, r.error_class) for r in _ledger_rows(configured)]
    assert ledger == [("error", "cancelled")] * fake.count() == [("error", "cancelled")] * 2

    fake.responder = None
    code, data, err = batch_json(capsys, str(file), "--concurrency", "4")
    assert code == 0, err
    assert [r["status"] for r in data["results"]] == ["ok"] * 8


def _ledger_rows(paths):
    import sqlite3

    con = sqlite3.connect(paths.default_db)
    try:
        con.row_factory = sqlite3.Row
        return [type("Row", (), dict(r)) for r in con.execute("select * from ledger_entry order by id")]
    finally:
        con.close()
