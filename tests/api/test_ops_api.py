"""The one door, ops half: config, budget, stats, doctor/providers and store methods of ``Engine``
on a real SQLite store in a temp dir. Each returns plain data (frozen dataclasses, dicts), never
a database row, and each failure is the engine's typed error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from engine.api.budget import AlertLog, status_row
from engine.api.config import ConfigDesk, ConfigEntry, ConfigExplanation
from engine.api.doctor import ADD_PROVIDER_HINT, ProviderCheck
from engine.api.store import MigrationReport, StoreStatus
from engine.errors import BadInput, ConfigError, NotFound
from engine.paths import Paths
from engine.service import Engine
from tests.fakes import Reply

CODE = '```python\ndef add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n```'


def _broken(paths: Paths) -> None:
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("broken").write_text("[chain\n", encoding="utf-8")


def _frozen(value: object) -> bool:
    return dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen  # type: ignore[attr-defined]


async def _paid_answer(engine: Engine, fake: Any, project: str = "acme") -> None:
    fake.enqueue("openai", Reply(text=CODE))
    result = await engine.generate(
        "write an add function for two ints, please", project=project, use_cache=False, use_templates=False
    )
    assert result.source == "llm" and result.cost_micros > 0


# -- config -----------------------------------------------------------------------------------


async def test_config_set_explain_show_unset_round_trip(engine: Engine) -> None:
    change = await engine.config_set("chain.attempts", "2", "acme")
    assert change["value"] == 2

    explained = await engine.config_explain("chain.attempts", "acme")
    assert isinstance(explained, ConfigExplanation) and _frozen(explained)
    (entry,) = explained.entries
    assert _frozen(entry) and entry.value == 2 and entry.level == "project"
    assert entry.source.endswith("acme.toml") and entry.line and entry.where == f"{entry.source}:{entry.line}"
    assert entry.levels["project"] == 2 and "default" in entry.levels and entry.description
    assert explained.to_dict()["entries"][0]["levels"]["project"] == 2

    shown = await engine.config_show("acme")
    keys = [e.key for e in shown]
    assert keys == [e.key for e in sorted(shown, key=lambda e: e.path)] and "chain.attempts" in keys
    assert all(isinstance(e, ConfigEntry) for e in shown)
    assert [e.level for e in shown if e.key == "chain.attempts"] == ["project"]
    assert [e.level for e in await engine.config_show("other") if e.key == "chain.attempts"] != ["project"]

    await engine.config_unset("chain.attempts", "acme")
    (entry,) = (await engine.config_explain("chain.attempts", "acme")).entries
    assert entry.level != "project" and "project" not in entry.levels


async def test_config_explain_of_a_table_and_of_everything(engine: Engine) -> None:
    table = await engine.config_explain("chain", None)
    assert table.key == "chain" and len(table.entries) > 1 and all(e.key.startswith("chain.") for e in table.entries)
    everything = await engine.config_explain("", None)
    assert len(everything.entries) > len(table.entries)


@pytest.mark.parametrize("key", ["chain..order", "   ", "chain.order\n", ".chain", "chain.order.x"])
async def test_config_bad_keys_are_clear_errors(engine: Engine, key: str) -> None:
    with pytest.raises((ConfigError, NotFound)):
        await engine.config_explain(key)


async def test_config_unknown_key_and_bad_value(engine: Engine) -> None:
    with pytest.raises(NotFound):
        await engine.config_explain("chain.no_such_key")
    with pytest.raises(ConfigError):
        await engine.config_set("chain.attempts", '"many"', "acme")
    assert "acme" not in await engine.config_projects()  # nothing written on error


async def test_config_export_import_projects_and_files(engine: Engine, tmp_path: Path) -> None:
    await engine.config_set("chain.attempts", "3", "acme")
    await engine.config_set("chain.attempts", "1", "acme", "bot")
    out = tmp_path / "acme.toml"
    exported = await engine.config_export("acme", out)
    assert exported["project"] == "acme" and out.exists()

    imported = await engine.config_import(out, "beta")
    assert imported["project"] == "beta"
    assert await engine.config_projects() == {"acme": ["bot"], "beta": ["bot"]}
    (entry,) = (await engine.config_explain("chain.attempts", "beta", "bot")).entries
    assert entry.value == 1 and entry.level == "agent"

    files = await engine.config_files()
    assert [f.level for f in files][:2] == ["system", "user"] and all(_frozen(f) for f in files)
    assert {f.path.name for f in files if f.level == "project"} == {"acme.toml", "beta.toml"}
    assert all(f.exists for f in files if f.level == "project")
    with pytest.raises(NotFound):
        await engine.config_export("nobody", tmp_path / "x.toml")


async def test_config_trust_grants_a_hand_edited_route(engine: Engine, paths: Paths) -> None:
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file("edited").write_text(
        '[providers.openai]\napi_base = "http://127.0.0.1:9/v1"\n', encoding="utf-8"
    )
    check = await engine.providers("edited")
    assert check.error == ""
    before = [r["host"] for r in check.rows if r["provider"] == "openai"]
    trusted = await engine.config_trust("edited")
    assert trusted["trusted"] and trusted["trusted"][0]["host"] == "http://127.0.0.1:9"
    after = [r["host"] for r in (await engine.providers("edited")).rows if r["provider"] == "openai"]
    assert after == ["http://127.0.0.1:9"] and before != after


async def test_alert_settings_fall_back_to_defaults_on_a_broken_file(engine: Engine, paths: Paths) -> None:
    await engine.config_set("alerts.notice", "33", "acme")
    assert engine.alert_settings("acme").notice == 33
    _broken(paths)
    default = engine.alert_settings(None)
    assert engine.alert_settings("broken") == default
    with pytest.raises(ConfigError):
        await engine.config_show("broken")


async def test_config_desk_needs_no_database(paths: Paths) -> None:
    desk = ConfigDesk(paths)
    await desk.config_set("chain.attempts", "2", "acme")
    assert [e.value for e in await desk.config_show("acme") if e.key == "chain.attempts"] == [2]
    assert not paths.default_db.exists(), "config must not open (or create) the database"


# -- budget and stats -------------------------------------------------------------------------


async def test_budget_alerts_observe_a_lowered_limit_and_list_anomalies(make_engine: Any, fake: Any) -> None:
    engine = make_engine(order='["openai"]')
    await _paid_answer(engine, fake)
    log = await engine.budget_alerts(observe=False)
    assert isinstance(log, AlertLog) and _frozen(log) and log.levels == ()

    await engine.config_set("budget.project.limit_usd", "0.000001", "acme")  # spend is now far over
    log = await engine.budget_alerts()  # observe: reads every known budget's status first
    crossed = [a for a in log.levels if a["scope"] == "project" and a["key"] == "acme"]
    assert crossed and max(int(a["level"]) for a in crossed) == 6  # type: ignore[call-overload]
    merged = log.merged()
    assert [m["kind"] for m in merged] == ["level"] * len(log.levels) + ["anomaly"] * len(log.anomalies)
    assert json.dumps(merged)  # JSON-ready


async def test_budget_statuses_cover_every_project_and_agent(engine: Engine) -> None:
    await engine.config_set("budget.agent.limit_usd", "1", "acme", "bot")
    statuses = await engine.budget_statuses()
    assert len({(s.scope, s.key, s.period) for s in statuses}) == len(statuses)  # each budget once
    assert [s.scope for s in statuses].count("system") == 1
    assert {s.key for s in statuses if s.scope == "project"} >= {"default", "acme"}
    row = status_row(next(s for s in statuses if s.scope == "agent" and "bot" in s.key))
    assert row["limit_usd"] == 1.0 and row["level_name"] == "L0 ok" and row["action"] == "none"


async def test_budget_allocation_show_then_apply(engine: Engine) -> None:
    await engine.config_set("budget.project.weight", "3", "acme")
    await engine.config_set("budget.project.weight", "1", "beta")
    proposal = await engine.budget_allocation()
    rows = {p["project"]: p for p in proposal["projects"]}
    assert rows["acme"]["proposed_limit_usd"] > rows["beta"]["proposed_limit_usd"]
    assert [e.level for e in await engine.config_show("acme") if e.key == "budget.project.limit_usd"] != ["project"]

    await engine.budget_allocation(apply=True)
    (entry,) = (await engine.config_explain("budget.project.limit_usd", "acme")).entries
    assert entry.level == "project" and entry.value == pytest.approx(rows["acme"]["proposed_limit_usd"])


async def test_stats_after_a_paid_answer_and_since_parsing(make_engine: Any, fake: Any) -> None:
    engine = make_engine(order='["openai"]')
    await _paid_answer(engine, fake)
    stats = await engine.stats(None, "project")
    assert stats["total"]["paid_calls"] == 1 and [g["project"] for g in stats["groups"]] == ["acme"]
    assert Engine.parse_since("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert Engine.parse_since(None) is None and Engine.parse_since("") is None
    assert (await engine.stats(engine.parse_since("2999-01-01")))["total"]["requests"] == 0
    for bad in ("7 weeks", "yesterday", "-1d", "1e9"):
        with pytest.raises(BadInput):
            Engine.parse_since(bad)


# -- doctor, providers, warm-up ---------------------------------------------------------------


async def test_providers_with_and_without_keys(engine: Engine, paths: Paths) -> None:
    check = await engine.providers()
    assert isinstance(check, ProviderCheck) and check.any_key and check.hint == "" and check.error == ""
    assert all(r["key"] == "present" for r in check.rows) and all("fk-" not in json.dumps(r) for r in check.rows)
    keyless = await engine.providers(environ={})
    assert not keyless.any_key and ADD_PROVIDER_HINT in keyless.hint
    _broken(paths)
    broken = await engine.providers("broken")
    assert broken.rows == () and broken.error.startswith("Configuration error:")


async def test_ping_books_to_the_system_budget_only(make_engine: Any, fake: Any) -> None:
    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text="ok"))
    result = await engine.ping_provider("openai", "acme")
    assert result["ok"] is True and result["cost_usd"] > 0
    stats = await engine.stats(None, "project")
    assert "acme" not in [g["project"] for g in stats["groups"]]  # never a project's spend
    statuses = await engine.budget_status("acme")
    assert [s.spent_micros for s in statuses if s.scope == "project"] == [0]
    assert [s.spent_micros > 0 for s in statuses if s.scope == "system"] == [True]


async def test_ping_failure_is_returned_not_raised(make_engine: Any, fake: Any) -> None:
    from tests.fakes import Fault

    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Fault(500))
    result = await engine.ping_provider("openai")
    assert result["ok"] is False and result["error_class"] and result["message"]


async def test_warm_up_llm_loads_the_client_once_in_a_thread(engine: Engine, monkeypatch: Any) -> None:
    import threading

    from engine.llm import adapter

    threads: list[str] = []
    monkeypatch.setattr(adapter, "litellm", lambda: threads.append(threading.current_thread().name))
    await engine.warm_up_llm()
    assert threads and threads[0] != threading.main_thread().name

    def broken() -> None:
        raise ImportError("no litellm here")

    monkeypatch.setattr(adapter, "litellm", broken)
    with pytest.raises(ImportError):
        await engine.warm_up_llm()


async def test_diagnose_reports_config_database_and_providers(make_engine: Any, paths: Paths) -> None:
    make_engine().close()
    report = await Engine.diagnose(paths)
    assert report["ok"] is True and report["problems"] == [] and report["config"]["valid"] is True
    assert report["database"]["integrity"] == "ok" and report["database"]["pending"] == []
    assert report["log"]["file"].endswith("templar.log") and report["providers"]
    json.dumps(report)

    _broken(paths)
    report = await Engine.diagnose(paths, "broken")
    assert report["ok"] is False and report["config"]["valid"] is False and "providers" not in report


async def test_diagnose_names_a_database_it_cannot_open(paths: Paths, monkeypatch: Any) -> None:
    monkeypatch.setenv("TEMPLAR_STORE__URL", "postgresql://u:hunter2@127.0.0.1:9/none")
    report = await Engine.diagnose(paths)
    assert "error" in report["database"] and report["ok"] is False
    assert "hunter2" not in json.dumps(report)


# -- store ------------------------------------------------------------------------------------


async def test_store_status_and_migrate(paths: Paths, engine: Engine) -> None:
    status = await engine.store_status()
    assert isinstance(status, StoreStatus) and _frozen(status)
    assert status.backend == "sqlite" and status.integrity == "ok" and status.pending == ()
    assert status.schema_version == status.latest_schema_version == len(status.migrations) > 0
    assert engine.unrecorded is None

    report = await Engine.migrate_store(paths)  # already up to date
    assert isinstance(report, MigrationReport) and report.applied == () and report.was == report.schema_version


async def test_migrate_store_on_a_fresh_database(tmp_path: Path) -> None:
    fresh = Paths.from_env()  # the autouse fixture's TEMPLAR_HOME: nothing opened yet
    assert not fresh.default_db.exists()
    report = await Engine.migrate_store(fresh)
    assert report.was == 0 and report.applied and report.schema_version == len(report.applied)
    assert report.to_dict()["applied"] == list(report.applied)
