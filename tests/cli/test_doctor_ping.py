"""``templar doctor --ping`` tells the truth and books its pings to the system (issue 11, item 11).

Real processes against the loopback fake provider: every provider rejecting its key is a
failure (exit 4), a provider without its key is exit 6, and the pings' cost is system spend,
tagged ``ping``, never a project the allocator funds or stats list.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from engine.errors import ExitCode
from tests.cli.helpers import ROOT, run_main, templar
from tests.engine.conftest import user_settings
from tests.fakes import FakeProviderServer, Fault, Reply


def setup(paths: Any, fake: FakeProviderServer) -> None:
    paths.user_settings.write_text(user_settings(fake), encoding="utf-8")


def doctor(capsys: Any = None) -> tuple[int, dict[str, Any]]:
    """``templar doctor --ping --json``: in this process when ``capsys`` is given, else as a
    real process (slower: it imports litellm)."""
    if capsys is not None:
        code, out, err = run_main(capsys, "doctor", "--ping", "--json")
    else:
        run = templar("doctor", "--ping", "--json")
        code, out, err = run.code, run.out, run.err
    assert out, err
    return code, json.loads(out)


def db_rows(paths: Any, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(paths.default_db) as db:
        return db.execute(sql).fetchall()


def test_every_provider_rejecting_its_key_is_a_failure(paths, fake: FakeProviderServer, keys) -> None:
    setup(paths, fake)
    fake.responder = lambda request: Fault.unauthorized()
    code, report = doctor()
    assert code == ExitCode.NO_PROVIDER == 4
    assert report["ok"] is False
    pings = [row["ping"] for row in report["providers"]]
    assert len(pings) == 3 and not any(p["ok"] for p in pings)
    assert all(p["error_class"] == "auth" for p in pings), pings
    assert any("ping" in problem for problem in report["problems"])


def test_one_failing_provider_among_healthy_ones_is_a_failure(paths, fake: FakeProviderServer, keys, capsys) -> None:
    setup(paths, fake)
    fake.responder = lambda request: Fault.server_error() if request.format == "anthropic" else Reply(text="ok")
    code, report = doctor(capsys)
    assert code == 4 and report["ok"] is False
    assert {r["provider"]: r["ping"]["ok"] for r in report["providers"]} == {
        "gemini": True,
        "openai": True,
        "anthropic": False,
    }


def test_all_pings_answered_is_ok(paths, fake: FakeProviderServer, keys, capsys) -> None:
    setup(paths, fake)
    fake.responder = lambda request: Reply(text="ok")
    code, report = doctor(capsys)
    assert code == 0 and report["ok"] is True
    assert all(r["ping"]["ok"] for r in report["providers"])


def test_a_provider_without_its_key_has_its_own_exit_code(paths, fake: FakeProviderServer, monkeypatch, capsys) -> None:
    setup(paths, fake)
    monkeypatch.setenv("GEMINI_API_KEY", "k1")
    monkeypatch.setenv("OPENAI_API_KEY", "k2")
    fake.responder = lambda request: Reply(text="ok")
    code, report = doctor(capsys)
    assert code == ExitCode.NO_KEY == 6
    assert report["ok"] is False
    anthropic = [r for r in report["providers"] if r["provider"] == "anthropic"][0]
    assert anthropic["ping"] == {"ok": False, "error_class": "no_key", "message": "set ANTHROPIC_API_KEY"}
    # a failure outranks a missing key
    fake.responder = lambda request: Fault.unauthorized() if request.format == "openai" else Reply(text="ok")
    code, _ = doctor(capsys)
    assert code == 4


def test_pings_are_system_spend_tagged_ping_and_never_a_project(paths, fake: FakeProviderServer, keys, capsys) -> None:
    setup(paths, fake)
    fake.responder = lambda request: Reply(text="ok", tokens_in=5, tokens_out=1)
    code, report = doctor(capsys)
    assert code == 0
    paid = sum(r["ping"]["cost_usd"] for r in report["providers"])
    assert paid > 0
    ledger = db_rows(paths, "SELECT project, agent, source, cost_micros FROM ledger_entry")
    assert len(ledger) == 3 and {(p, a, s) for p, a, s, _ in ledger} == {("", "", "ping")}
    counters = db_rows(paths, "SELECT scope, key, spent_micros FROM budget_counter")
    assert [(scope, key) for scope, key, _ in counters] == [("system", "")]
    assert counters[0][2] == sum(c for *_, c in ledger) == round(paid * 1e6)
    # the allocator funds no phantom project, stats list none, budget shows none
    (paths.projects_dir).mkdir(parents=True, exist_ok=True)
    paths.project_file("acme").write_text("[budget.project]\nweight = 1\n", encoding="utf-8")
    code, out, err = run_main(capsys, "budget", "allocate", "--json")
    assert code == 0, err
    assert [p["project"] for p in json.loads(out)["projects"]] == ["acme"]
    code, out, _ = run_main(capsys, "stats", "--by", "project", "--json")
    groups = [g["project"] for g in json.loads(out)["groups"]]
    assert "doctor" not in groups
    assert not (ROOT / "doctor").exists()
