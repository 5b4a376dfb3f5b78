"""The allocator (issue 11, item 6): a person's limit is a cap, tiny spend is smoothed, spend is
this period's (agents included), and every number is explained."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.budget.allocator import ProjectInput, allocate
from engine.budget.book import LedgerFields, budget_refs
from engine.config import load_config, set_value
from engine.service import Engine
from tests.cli.helpers import run_main


def spend(engine: Engine, micros: int, project: str, agent: str = "default") -> None:
    refs = budget_refs(engine.config(project, agent).settings, project, agent, engine.clock())
    held = engine.store.call(
        engine.book.reserve, refs, micros, LedgerFields("seed", project, agent, "llm", "s", "s", 1)
    )
    engine.store.call(engine.book.settle, held, micros)


def project(paths: Any, name: str, text: str = "") -> None:
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.project_file(name).write_text(text, encoding="utf-8")


def limit(paths: Any, name: str) -> float | None:
    return load_config(paths, name).settings.budget.project.limit_usd


def test_a_tight_limit_a_person_set_is_never_raised_without_force(engine: Engine, capsys) -> None:
    """The issue's case: $0.002 set by hand, $0.0017 spent; --apply gave it $10 of $18."""
    paths = engine.paths
    project(paths, "tight", "[budget.project]\nlimit_usd = 0.002\n")
    project(paths, "busy", "")
    spend(engine, 1_700, "tight")
    code, out, err = run_main(capsys, "budget", "allocate", "--apply", "--json")
    assert code == 0, err
    rows = {p["project"]: p for p in json.loads(out)["projects"]}
    assert limit(paths, "tight") == 0.002
    assert rows["tight"]["proposed_limit_usd"] == 0.002 and rows["tight"]["capped"] is True
    assert "cap kept" in rows["tight"]["why"] and "--force" in rows["tight"]["why"]
    assert rows["tight"]["limit_set_by"].startswith("a person")
    # what the cap leaves goes to the others: nothing is lost, nothing exceeds the system limit
    assert limit(paths, "busy") == pytest.approx(18.0 - 0.002)
    code, out, _ = run_main(capsys, "budget", "allocate", "--apply", "--force", "--json")
    assert code == 0
    assert limit(paths, "tight") == pytest.approx(9.0)  # equal weights; $0.0017 is below the spend minimum


def test_limits_the_allocator_wrote_follow_the_next_proposal_but_a_persons_edit_becomes_a_cap(
    engine: Engine, capsys
) -> None:
    paths = engine.paths
    project(paths, "a", "[budget.project]\nweight = 1\n")
    project(paths, "b", "[budget.project]\nweight = 1\n")
    assert run_main(capsys, "budget", "allocate", "--apply")[0] == 0
    assert limit(paths, "a") == limit(paths, "b") == pytest.approx(9.0)
    set_value(paths, "budget.project.weight", "3", "a")
    assert run_main(capsys, "budget", "allocate", "--apply")[0] == 0
    assert limit(paths, "a") == pytest.approx(13.0) and limit(paths, "b") == pytest.approx(5.0)
    set_value(paths, "budget.project.limit_usd", "2.0", "a")  # a person lowers it
    code, out, _ = run_main(capsys, "budget", "allocate", "--apply", "--json")
    rows = {p["project"]: p for p in json.loads(out)["projects"]}
    assert limit(paths, "a") == 2.0 and rows["a"]["capped"]
    assert limit(paths, "b") == pytest.approx(16.0)


def test_a_limit_from_the_user_settings_is_a_cap_too(make_engine, capsys) -> None:
    engine = make_engine(extra="[budget.project]\nlimit_usd = 0.5\n")
    project(engine.paths, "x")
    project(engine.paths, "y")
    code, out, _ = run_main(capsys, "budget", "allocate", "--json")
    assert [p["proposed_limit_usd"] for p in json.loads(out)["projects"]] == [0.5, 0.5]


def test_tiny_spend_does_not_count_and_small_spend_is_smoothed_by_the_weights() -> None:
    def plan(spends: list[int], min_spend: int) -> list[int]:
        projects = [ProjectInput(f"p{i}", 1.0, s, None) for i, s in enumerate(spends)]
        result = allocate(
            18_000_000, projects, reserve_pct=0, floor_micros=1_000_000, burn_share=0.5, min_spend_micros=min_spend
        )
        return [a.proposed_micros for a in result.allocations]

    # $0.0017 against nothing: below the $1 minimum, weights only (equal)
    assert plan([1_700, 0], 1_000_000) == [9_000_000, 9_000_000]
    # $2 against $0: counted, but the $1 prior keeps the idle project well above its floor
    busy, idle = plan([2_000_000, 0], 1_000_000)
    assert busy > idle > 1_000_000 + 16_000_000 * 0.25
    # without smoothing a single cent would take the whole spend share
    raw_busy, raw_idle = plan([10_000, 0], 0)
    assert raw_busy - raw_idle == 8_000_000


def test_caps_redistribute_and_never_exceed_the_system_limit() -> None:
    projects = [
        ProjectInput("a", 1.0, 0, 100_000, cap_micros=100_000),
        ProjectInput("b", 1.0, 0, 5_000_000, cap_micros=5_000_000),
        ProjectInput("c", 2.0, 0, None),
    ]
    plan = allocate(20_000_000, projects, reserve_pct=10, floor_micros=1_000_000, burn_share=0.5)
    got = {a.project: a for a in plan.allocations}
    assert got["a"].proposed_micros == 100_000 and got["a"].capped
    assert got["b"].proposed_micros == 5_000_000 and got["b"].capped
    assert got["c"].proposed_micros == 18_000_000 - 5_100_000
    assert sum(a.proposed_micros for a in plan.allocations) + plan.reserve_micros == 20_000_000
    forced = allocate(20_000_000, projects, reserve_pct=10, floor_micros=1_000_000, burn_share=0.5, force=True)
    assert [a.proposed_micros for a in forced.allocations] == [1_000_000 + 3_750_000] * 2 + [1_000_000 + 7_500_000]


def test_spend_is_this_periods_and_includes_agents(paths, fake, sleeps, keys, capsys) -> None:
    from tests.engine.conftest import user_settings

    class Clock:
        now = 1_790_000_000.0  # 2026-09-21

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    paths.user_settings.write_text(
        user_settings(fake, extra="[budget.allocator]\nmin_spend_usd = 0.1\n"), encoding="utf-8"
    )
    project(paths, "acme", "[agents.bot]\n")
    project(paths, "beta", "")
    engine = Engine.from_settings(paths, sleep=sleeps, clock=clock)
    try:
        spend(engine, 5_000_000, "beta")  # last month
        clock.now += 31 * 86400  # next month: beta's spend is history
        spend(engine, 300_000, "acme", "bot")
        spend(engine, 200_000, "acme", "cli")
        data = engine.allocation()
    finally:
        engine.close()
    rows = {p["project"]: p for p in data["projects"]}
    assert rows["acme"]["spend_usd"] == 0.5 and rows["beta"]["spend_usd"] == 0.0
    assert data["spend_window"] == "this period" and data["spend_counted"] is True
    assert rows["acme"]["proposed_limit_usd"] > rows["beta"]["proposed_limit_usd"]
    agents = {a["agent"]: a["spend_usd"] for a in rows["acme"]["agents"]}
    assert agents == {"bot": 0.3, "cli": 0.2}


def test_every_number_is_explained_in_json_and_text(engine: Engine, capsys) -> None:
    paths = engine.paths
    project(paths, "acme", "[budget.project]\nweight = 3\n")
    project(paths, "beta", "[budget.project]\nlimit_usd = 0.25\n")
    spend(engine, 2_000_000, "acme")
    code, out, _ = run_main(capsys, "budget", "allocate", "--json")
    data = json.loads(out)
    for row in data["projects"]:
        # the figures add up: floor + share of the pool = target; a cap or a leftover explains the rest
        assert row["floor_usd"] + row["pool_usd"] == pytest.approx(row["target_usd"])
        pool = data["available_usd"] - data["floor_usd"] * len(data["projects"])
        assert row["pool_usd"] == pytest.approx(pool * row["share"], abs=1e-6)
        if row["capped"]:
            assert row["proposed_limit_usd"] == row["cap_usd"]
        else:
            assert row["proposed_limit_usd"] >= row["target_usd"] - 1e-6
        assert "floor" in row["why"] and "weight share" in row["why"]
    acme = [r for r in data["projects"] if r["project"] == "acme"][0]
    assert "spend share" in acme["why"] and "prior" in acme["why"]
    assert "capped projects leave" in acme["why"]
    code, out, _ = run_main(capsys, "budget", "allocate")
    assert code == 0
    assert "why:" in out and "cap kept" in out and "acme:" in out and "person (cap)" in out
