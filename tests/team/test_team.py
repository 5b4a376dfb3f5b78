"""Team mode across OS processes sharing one PostgreSQL store: a budget raced by 4 processes x 50
concurrent generations, kill -9 of a process holding reservations, a shared cache, and stats that
aggregate every process's ledger rows. The fake provider server runs in this (the test) process;
the engines run in children (tests/team/child.py), which import litellm (~5 s each)."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.config import load_config, set_value
from engine.money import usd_to_micros
from tests.engine.test_learning import SUGGESTION, responder
from tests.fakes import FakeProviderServer, Fault, Reply
from tests.team.conftest import wait_until, write_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ANSWER = (
    "```python\n"
    "def checksum(data: bytes) -> int:\n"
    '    """Return the xor of every byte of data."""\n'
    "    value = 0\n"
    "    for byte in data:\n"
    "        value ^= byte\n"
    "    return value\n"
    "```\n"
)
MAX_TOKENS = 100


def counters(pg_db) -> dict[str, tuple[int, int]]:
    rows = pg_db.query("select scope, key, spent_micros, reserved_micros from budget_counter")
    return {f"{scope}:{key}": (spent, reserved) for scope, key, spent, reserved in rows}


def reservation_states(pg_db) -> dict[int, Counter]:
    out: dict[int, Counter] = {}
    for pid, state, n in pg_db.query("select pid, state, count(*) from reservation group by pid, state"):
        out.setdefault(pid, Counter())[state] = n
    return out


def test_four_processes_of_50_callers_never_overrun_a_budget_for_60_calls(pg_db, spawn, paths) -> None:
    with FakeProviderServer(hang_limit=5) as fake:
        write_settings(paths, fake)
        children = [
            spawn(
                pg_db.url,
                "generate",
                "--calls",
                "50",
                "--same-task",
                "--task",
                "team race probe: xorshift checksum",
                "--max-tokens",
                str(MAX_TOKENS),
                "--warm",
            )
            for _ in range(4)
        ]
        ready = [child.wait_ready(timeout=150) for child in children]
        assert len({r["worst_micros"] for r in ready}) == 1, ready
        worst, prompt_tokens = ready[0]["worst_micros"], ready[0]["prompt_tokens"]
        assert worst > 0
        limit = 60 * worst
        set_value(paths, "budget.project.limit_usd", repr(limit / 1e6), "default")
        assert usd_to_micros(load_config(paths, "default").settings.budget.project.limit_usd) == limit
        # every call really costs its worst case, so exactly 60 fit
        fake.responder = lambda request: Reply(text=ANSWER, tokens_in=prompt_tokens, tokens_out=MAX_TOKENS)

        for child in children:
            child.go()
        results = [child.result(timeout=180) for child in children]
        served = fake.count()
        server_errors = fake.errors

    assert server_errors == []
    assert [r["errors"] for r in results] == [[], [], [], []]
    per_process = [r["paid"] for r in results]
    assert sum(per_process) == 60, per_process
    assert sum(r["refused"] for r in results) == 140
    assert served == 60, "every paid call reached the server once, no refused call did"

    spent, reserved = counters(pg_db)["project:default"]
    assert spent == 60 * worst <= limit and reserved == 0, "spend never above the limit, nothing left reserved"
    assert {k: v for k, v in counters(pg_db).items()} == {
        "system:": (60 * worst, 0),
        "project:default": (60 * worst, 0),
        "agent:default/default": (60 * worst, 0),
    }
    assert pg_db.query("select state, count(*) from reservation group by state") == [("settled", 60)]
    ledger = pg_db.query("select outcome, cost_micros, owner from ledger_entry where source = 'llm'")
    assert len(ledger) == served == 60, "one ledger row per request the provider saw"
    assert {outcome for outcome, _, _ in ledger} == {"ok"}
    assert sum(cost for _, cost, _ in ledger) == spent
    assert {owner for _, _, owner in ledger} <= {r["owner"] for r in results}


def _wait_held(pg_db, pids: list[int], each: int, timeout: float = 120.0) -> dict[int, Counter]:
    def reached() -> dict[int, Counter] | None:
        states = reservation_states(pg_db)
        return states if all(states.get(pid, Counter())["held"] >= each for pid in pids) else None

    result: dict[int, Counter] = wait_until(f"{each} reservations held per process", reached, timeout)
    return result


def test_kill_9_reconciles_only_the_dead_process_reservations(pg_db, spawn, paths) -> None:
    calls = 5
    with FakeProviderServer(hang_limit=90) as fake:
        fake.responder = lambda request: Fault.hang(90)  # every provider call hangs until the server stops
        write_settings(paths, fake, timeout=90)
        args = (
            "generate",
            "--calls",
            str(calls),
            "--same-task",
            "--task",
            "team crash probe: never answered",
            "--max-tokens",
            str(MAX_TOKENS),
            "--no-wait",
        )
        victim, survivor = spawn(pg_db.url, *args), spawn(pg_db.url, *args)
        victim.wait_ready(timeout=90)
        survivor.wait_ready(timeout=90)
        _wait_held(pg_db, [victim.pid, survivor.pid], calls)
        (worst,) = {amount for (amount,) in pg_db.query("select distinct amount_micros from reservation")}

        victim.kill()  # SIGKILL mid-call: its reservations stay held, its ledger rows pending
        assert reservation_states(pg_db)[victim.pid] == Counter(held=calls)

        third = spawn(pg_db.url, "reconcile")  # Engine.from_settings reconciles at start
        after = third.result(timeout=60)
        states = reservation_states(pg_db)
        assert states[victim.pid] == Counter(reconciled=calls)
        assert states[survivor.pid] == Counter(held=calls), "a live process's reservations are never touched"
        assert after["held_after"] == calls
        for key, (spent, reserved) in counters(pg_db).items():
            assert (spent, reserved) == (calls * worst, calls * worst), key
        victim_rows = pg_db.query(
            "select l.outcome, l.cost_micros, l.estimated, l.error_class from ledger_entry l "
            "join reservation r on r.ledger_id = l.id where r.pid = %s",
            (victim.pid,),
        )
        assert victim_rows == [("interrupted", worst, True, "interrupted")] * calls
        assert pg_db.query("select count(*) from ledger_entry where source = 'reconcile'") == [(calls,)]
        survivor_rows = pg_db.query(
            "select l.outcome from ledger_entry l join reservation r on r.ledger_id = l.id where r.pid = %s",
            (survivor.pid,),
        )
        assert survivor_rows == [("pending",)] * calls
    # the server stopped: the survivor's hanging calls fail, and it releases its own reservations
    out = survivor.result(timeout=90)
    assert out["paid"] == 0 and len(out["errors"]) == calls, out
    assert reservation_states(pg_db)[survivor.pid] == Counter(released=calls)
    for key, (spent, reserved) in counters(pg_db).items():
        assert (spent, reserved) == (calls * worst, 0), key
    assert pg_db.query("select count(*) from reservation where state = 'held'") == [(0,)]


def test_cache_is_shared_and_stats_aggregate_every_process(pg_db, spawn, paths) -> None:
    with FakeProviderServer(hang_limit=5) as fake:
        fake.responder = lambda request: Reply(text=ANSWER, tokens_in=120, tokens_out=40)
        write_settings(paths, fake)
        task = (
            "--task",
            "team stats probe: fold a list of words into a trie",
            "--calls",
            "3",
            "--use-cache",
            "--no-wait",
        )
        first = spawn(pg_db.url, "generate", *task, "--project", "alpha").result(timeout=120)
        assert first["sources"] == {"llm": 3} and first["valid"] == 3 and first["errors"] == []
        second = spawn(pg_db.url, "generate", *task, "--project", "beta").result(timeout=120)
        assert second["sources"] == {"cache": 3}, "another process answers from the shared cache"
        assert fake.count() == 3

    stats = spawn(pg_db.url, "stats").result(timeout=60)
    total = stats["total"]
    assert (total["requests"], total["paid_calls"], total["cache_hits"]) == (6, 3, 3)
    assert total["cost_usd"] == pytest.approx(first["cost_micros"] / 1e6)
    assert total["saved_usd"] > 0  # 3 cache hits on the one savings basis (tests/engine/test_savings_basis.py)
    groups = {g["project"]: (g["requests"], g["paid_calls"], g["cache_hits"]) for g in stats["by_project"]}
    assert groups == {"alpha": (3, 3, 0), "beta": (3, 0, 3)}
    owners = pg_db.query("select distinct owner from ledger_entry where source in ('llm', 'cache')")
    assert {o for (o,) in owners} == {first["owner"], second["owner"]}


def test_template_accepted_in_one_process_is_served_by_another_on_its_next_request(pg_db, spawn, paths) -> None:
    with FakeProviderServer(hang_limit=5) as fake:
        fake.responder = responder()
        # the model's suggestion path (deterministic parameterisation, tried first, has its own tests)
        write_settings(paths, fake, learning="enabled = true\nauto_accept_confidence = 0.5\ndeterministic = false")
        server_b = spawn(pg_db.url, "serve")
        server_b.wait_ready(timeout=60)
        # B is up and has already looked at the (empty) learned library: a built-in template answers
        warm = server_b.ask("enum Color with members red, green, blue")
        assert warm["source"] == "builtin", warm

        learner_a = spawn(
            pg_db.url,
            "generate",
            "--task",
            "a constant MAX_RETRIES set to 5",
            "--same-task",
            "--calls",
            "1",
            "--no-wait",
        )
        learned = learner_a.result(timeout=120)
        assert learned["sources"] == {"llm": 1} and learned["errors"] == []
        assert pg_db.query("select status, pattern from template") == [("active", SUGGESTION["pattern"])]
        before = fake.count()

        served = server_b.ask("a constant TIMEOUT_SECONDS set to 30")
        assert served["source"] == "learned" and served["cost_micros"] == 0, served
        assert served["code"] == '"""Settings."""\n\nTIMEOUT_SECONDS: int = 30\n'
        assert fake.count() == before, "the learned path made no provider call"
        assert server_b.quit()["served"] == 2
    assert pg_db.query("select uses from template") == [(1,)]
