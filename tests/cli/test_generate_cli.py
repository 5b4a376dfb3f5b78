"""``templar generate``, ``budget``, ``stats`` as a user runs them: JSON shape and exit codes."""

from __future__ import annotations

import json

import pytest

from engine.config import set_value
from tests.cli.helpers import run_main, templar
from tests.engine.conftest import FAKE_KEY, user_settings
from tests.engine.test_result_typed import BASE_KEYS
from tests.fakes import Fault, Reply


@pytest.fixture
def configured(paths, fake, keys):
    paths.user_settings.write_text(user_settings(fake, order='["openai", "anthropic"]'), encoding="utf-8")
    return paths


def test_generate_json_has_every_documented_key_and_cache_hit_second_time(configured, fake, capsys) -> None:
    fake.enqueue("openai", Reply(text="```python\ndef f() -> int:\n    return 1\n```", tokens_in=200, tokens_out=30))
    code, out, _ = run_main(capsys, "generate", "a function returning one", "--json")
    assert code == 0
    first = json.loads(out)
    assert set(BASE_KEYS) <= set(first)  # the result's keys, in tests/engine/test_result_typed.py
    assert (first["source"], first["provider"], first["model"]) == ("llm", "openai", "openai/gpt-4o-mini")
    assert first["code"] == "def f() -> int:\n    return 1\n"
    assert first["cost_usd"] > 0 and first["saved_usd"] == 0
    # "preparing" (loading the LLM client) appears only on the first paid call of a process
    names = [e["event"] for e in first["events"] if e["event"] != "preparing"]
    assert names[:4] == ["lookup_result"] * 3 + ["attempt_started"]
    assert [e["source"] for e in first["events"][:3]] == ["learned", "builtin", "cache"]
    code, out, _ = run_main(capsys, "generate", "a function returning one", "--json")
    second = json.loads(out)
    assert (second["source"], second["cost_usd"]) == ("cache", 0) and second["saved_usd"] > 0
    assert fake.count() == 1


def test_generate_plain_prints_code_on_stdout_and_summary_on_stderr(configured, fake, capsys, tmp_path) -> None:
    fake.enqueue("openai", Reply(text="```python\nX = 42\n```"))
    target = tmp_path / "out.py"
    code, out, err = run_main(capsys, "generate", "constant", "-o", str(target))
    assert code == 0 and out == "X = 42\n" and target.read_text() == "X = 42\n"
    assert "llm via openai" in err


@pytest.mark.parametrize(
    ("args", "exit_code", "needle"),
    [
        (["generate", "   "], 2, "task is empty"),
        (["generate", "x", "--max-tokens", "0"], 2, "--max-tokens"),
        (["generate", "bad\x07bell"], 2, "control characters"),
        (["generate", "x", "--project", "../etc"], 2, "invalid project name"),
        (["stats", "--since", "yesterday-ish"], 2, "--since"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(configured, capsys, args, exit_code, needle) -> None:
    code, out, err = run_main(capsys, *args)
    assert code == exit_code
    assert needle in err and len(err.strip().splitlines()) == 1


def test_no_provider_reachable_is_exit_4(configured, fake, capsys) -> None:
    fake.enqueue("openai", Fault.unauthorized())
    fake.enqueue("anthropic", Fault.unauthorized())
    code, out, err = run_main(capsys, "generate", "anything", "--json")
    assert code == 4
    assert json.loads(out)["error"] == "no_provider"
    assert "openai: auth" in err


def test_budget_refusal_is_exit_3_and_confirmation_is_asked_at_l5(configured, fake, capsys) -> None:
    set_value(configured, "budget.project.limit_usd", "0.000001", "default")
    code, out, err = run_main(capsys, "generate", "anything")
    assert code == 3 and "budget" in err
    assert fake.count() == 0


def test_budget_and_stats_json(configured, fake, capsys) -> None:
    fake.responder = lambda request: Reply(text="X = 1", tokens_in=1000, tokens_out=100)
    assert run_main(capsys, "generate", "one")[0] == 0
    assert run_main(capsys, "generate", "one")[0] == 0  # cache hit
    fake.enqueue("openai", Fault.server_error(), Fault.server_error(), Fault.server_error())
    assert run_main(capsys, "generate", "two")[0] == 0  # falls back to anthropic after 3 failures
    code, out, _ = run_main(capsys, "stats", "--json", "--by", "provider")
    stats = json.loads(out)
    total = stats["total"]
    assert (
        total["requests"] == 3
        and total["cache_hits"] == 1
        and total["cache_hit_rate"] == pytest.approx(1 / 3, abs=1e-3)
    )
    assert total["paid_calls"] == 5 and total["failures"] == {"server_error": 3}
    assert total["saved_usd"] > 0 and total["cost_usd"] > 0
    assert total["latency_p50_ms"] is not None
    groups = {g["provider"]: g for g in stats["groups"]}
    assert groups["openai"]["paid_calls"] == 4 and groups["anthropic"]["paid_calls"] == 1
    code, out, _ = run_main(capsys, "budget", "--json")
    budgets = {b["scope"]: b for b in json.loads(out)}
    assert budgets["system"]["spent_usd"] == pytest.approx(total["cost_usd"])
    assert budgets["system"]["reserved_usd"] == 0 and budgets["system"]["level"] == 0
    code, out, _ = run_main(capsys, "budget")
    assert "L0 ok" in out and "[" in out
    code, out, _ = run_main(capsys, "stats")
    assert code == 0 and "total" in out and "server_error 3" in out


def test_allocate_proposes_and_applies(configured, capsys) -> None:
    set_value(configured, "budget.project.weight", "3", "big")
    set_value(configured, "budget.project.weight", "1", "small")
    code, out, _ = run_main(capsys, "budget", "allocate", "--json")
    proposal = json.loads(out)
    rows = {p["project"]: p for p in proposal["projects"]}
    assert not proposal["applied"]
    total = sum(p["proposed_limit_usd"] for p in proposal["projects"])
    assert total + proposal["reserve_usd"] == pytest.approx(20.0)
    assert proposal["reserve_usd"] >= 2.0 - 1e-9  # 10 % reserve
    assert rows["big"]["proposed_limit_usd"] > rows["small"]["proposed_limit_usd"] >= 1.0
    assert configured.project_file("big").read_text().count("limit_usd") == 0
    run_main(capsys, "budget", "allocate", "--apply")
    from engine.config import load_config

    assert load_config(configured, "big").settings.budget.project.limit_usd == pytest.approx(
        rows["big"]["proposed_limit_usd"]
    )


def test_generate_as_a_process_with_a_recognizable_key(configured, fake) -> None:
    fake.enqueue("openai", Reply(text="```python\nY = 2\n```"))
    run = templar("generate", "a constant", "--json", env={"OPENAI_API_KEY": FAKE_KEY, "ANTHROPIC_API_KEY": FAKE_KEY})
    assert run.code == 0, run.err
    assert run.json()["code"] == "Y = 2\n"
    assert FAKE_KEY not in run.out + run.err
    assert fake.last().api_key == FAKE_KEY


def test_doctor_ping_reports_latency_or_error_class_per_provider(configured, fake, capsys) -> None:
    fake.enqueue("anthropic", Fault.unauthorized())
    code, out, _ = run_main(capsys, "doctor", "--ping", "--json")
    assert code == 4  # a provider failed its ping (issue 11, item 11)
    rows = {r["provider"]: r for r in json.loads(out)["providers"]}
    assert rows["openai"]["ping"]["ok"] is True and rows["openai"]["ping"]["latency_ms"] >= 0
    assert rows["anthropic"]["ping"] == {
        "ok": False,
        "error_class": "auth",
        "message": rows["anthropic"]["ping"]["message"],
    }
    assert fake.count("openai") == 1 and fake.count("anthropic") == 1, "one request per provider, no retries"
    assert FAKE_KEY not in out


def test_budget_lists_every_project_and_agent_with_a_limit_or_spend(configured, fake, capsys) -> None:
    fake.responder = lambda request: Reply(text="X = 1", tokens_in=1000, tokens_out=100)
    assert run_main(capsys, "generate", "one", "--project", "acme", "--agent", "coder", "-q")[0] == 0
    assert run_main(capsys, "generate", "two", "--project", "beta", "-q")[0] == 0
    set_value(configured, "budget.project.limit_usd", "5", "gamma")  # a limit, no spend
    set_value(configured, "budget.project.period", "daily", "delta")  # a file, no limit, no spend
    code, out, _ = run_main(capsys, "budget", "--json")
    rows = json.loads(out)
    shown = [(b["scope"], b["key"]) for b in rows]
    assert shown[0] == ("system", "")
    for expected in [
        ("project", "acme"),
        ("agent", "acme/coder"),
        ("project", "beta"),
        ("agent", "beta/default"),
        ("project", "gamma"),
    ]:
        assert expected in shown, (expected, shown)
    assert ("project", "delta") not in shown and len(shown) == len(set(shown))
    by_key = {(b["scope"], b["key"]): b for b in rows}
    assert by_key[("project", "acme")]["spent_usd"] > 0 and by_key[("project", "gamma")]["limit_usd"] == 5
    code, out, _ = run_main(capsys, "budget")
    assert "project acme" in out and "agent acme/coder" in out and "project gamma" in out
    code, out, _ = run_main(capsys, "budget", "--json", "--project", "beta")  # one scope: as before
    assert [(b["scope"], b["key"]) for b in json.loads(out)] == [
        ("system", ""),
        ("project", "beta"),
        ("agent", "beta/default"),
    ]
