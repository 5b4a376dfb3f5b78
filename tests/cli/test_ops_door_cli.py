"""The ops commands as clients of ``Engine`` (issue 12): ``templar config`` works without the
database, ``store migrate`` reports what it did, the budget and stats output keeps its shape,
and the CLI runs inside an event loop (a notebook, an async test) as well as outside one."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.cli.aio import run_sync
from engine.paths import Paths
from tests.cli.helpers import run_main, templar

UNREACHABLE = "postgresql://u:hunter2@127.0.0.1:9/none"  # nothing listens on port 9


def test_config_commands_never_open_the_database(paths: Paths) -> None:
    env = {"TEMPLAR_DATABASE_URL": UNREACHABLE}
    assert templar("config", "set", "chain.attempts", "2", "--project", "acme", env=env).code == 0
    run = templar("config", "explain", "chain.attempts", "--project", "acme", "--json", env=env)
    assert run.code == 0 and run.json()["entries"][0]["value"] == 2, run.err
    assert templar("config", "show", "--project", "acme", env=env).code == 0
    assert templar("config", "projects", "--json", env=env).json() == [{"project": "acme", "agents": []}]
    doctor = templar("doctor", "--json", env=env)
    assert doctor.code == 1 and "error" in doctor.json()["database"] and "hunter2" not in doctor.out + doctor.err


def test_config_explain_of_an_empty_key_is_an_error_not_everything(paths: Paths) -> None:
    run = templar("config", "explain", "")
    assert run.code == 2 and "not a valid key" in run.err and run.out == ""


def test_store_migrate_then_up_to_date(paths: Paths) -> None:
    first = templar("store", "migrate", "--json")
    assert first.code == 0, first.err
    data = first.json()
    assert data["was"] == 0 and data["applied"] and data["schema_version"] == len(data["applied"])
    again = templar("store", "migrate")
    assert again.code == 0 and "is up to date" in again.out and paths.default_db.name in again.out


def test_budget_and_stats_json_shapes(paths: Paths) -> None:
    assert templar("config", "set", "budget.project.limit_usd", "2", "--project", "acme").code == 0
    rows = templar("budget", "--project", "acme", "--json").json()
    project = next(r for r in rows if r["scope"] == "project")
    assert project["limit_usd"] == 2.0 and project["spent_usd"] == 0.0 and project["remaining_usd"] == 2.0
    assert project["level_name"] == "L0 ok" and project["action"] == "none"
    assert templar("budget", "alerts", "--json").json() == []
    allocation = templar("budget", "allocate", "--json").json()
    assert [p["project"] for p in allocation["projects"]] == ["acme"]
    stats = templar("stats", "--since", "7d", "--by", "provider", "--json")
    assert stats.code == 0 and stats.json()["total"]["requests"] == 0
    bad = templar("stats", "--since", "last tuesday")
    assert bad.code == 2 and "--since" in bad.err


async def test_the_cli_runs_inside_a_running_event_loop(paths: Paths, capsys: Any) -> None:
    asyncio.get_running_loop()  # this test is a coroutine: main() must not call asyncio.run on this loop
    code, out, err = run_main(capsys, "budget", "--json")
    assert code == 0, err
    code, out, err = run_main(capsys, "config", "show", "--json")
    assert code == 0 and '"settings"' in out


def test_run_sync_outside_and_inside_a_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_sync(answer()) == 42

    async def nested() -> int:
        return run_sync(answer())

    assert asyncio.run(nested()) == 42
