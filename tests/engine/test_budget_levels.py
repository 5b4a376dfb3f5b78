"""Alert levels count spent + reserved everywhere, and every level reached is logged (issue 11, item 5).

Cases of the class: a level reached by lowering a limit (seen by `budget status`, or by a paid
call that is then refused), a level reached by reservations alone (a call in flight), and a
level reached by a settlement while another call holds a reservation.
"""

from __future__ import annotations

import json

import pytest

from engine.budget.book import LedgerFields, budget_refs
from engine.config import set_value
from engine.errors import BudgetRefused
from engine.service import Engine
from tests.cli.helpers import run_main
from tests.fakes import FakeProviderServer

TASK = "function that adds two integers"


def spend(engine: Engine, micros: int, project: str = "default") -> None:
    refs = budget_refs(engine.config(project, "default").settings, project, "default", engine.clock())
    held = engine.store.call(
        engine.book.reserve, refs, micros, LedgerFields("seed", project, "default", "llm", "s", "s", 1)
    )
    thresholds = engine.config(project, "default").settings.alerts.thresholds()
    engine.store.call(lambda: engine.book.settle(held, micros, refs=refs, thresholds=thresholds))


def hold(engine: Engine, micros: int, project: str = "default") -> None:
    refs = budget_refs(engine.config(project, "default").settings, project, "default", engine.clock())
    engine.store.call(engine.book.reserve, refs, micros, LedgerFields("held", project, "default", "llm", "s", "s", 1))


def project_levels(engine: Engine) -> list[int]:
    return sorted(a["level"] for a in engine.store.call(engine.book.alerts) if a["scope"] == "project")


def test_l6_reached_by_lowering_a_limit_is_logged_by_budget_status(make_engine, capsys) -> None:
    engine = make_engine()
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    spend(engine, 500_000)
    assert project_levels(engine) == [1]  # 50 %: L1, recorded by the settlement
    code, _, _ = run_main(capsys, "config", "set", "budget.project.limit_usd", "0.4", "--project", "default")
    assert code == 0
    code, out, _ = run_main(capsys, "budget", "status", "--json")
    assert code == 0
    project = [row for row in json.loads(out) if row["scope"] == "project"][0]
    assert project["level"] == 6 and project["percent"] == 125.0
    code, out, _ = run_main(capsys, "budget", "alerts", "--json")
    levels = sorted(a["level"] for a in json.loads(out) if a["scope"] == "project")
    assert levels == [1, 2, 3, 4, 5, 6]


async def test_l6_reached_by_lowering_a_limit_is_logged_when_a_paid_call_is_refused(
    make_engine, fake: FakeProviderServer
) -> None:
    engine = make_engine(order='["openai"]')
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    spend(engine, 300_000)
    set_value(engine.paths, "budget.project.limit_usd", "0.2", "default")
    with pytest.raises(BudgetRefused, match="exhausted"):
        await engine.generate(TASK, confirmed=True)
    assert fake.count() == 0
    assert 6 in project_levels(engine)


async def test_reservations_count_toward_the_level_in_status_and_gauges(make_engine) -> None:
    engine = make_engine()
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    spend(engine, 400_000)
    hold(engine, 300_000)  # a call in flight: 40 % spent + 30 % reserved = 70 %
    status = {s.scope: s for s in await engine.budget_status("default", "default")}
    project = status["project"]
    assert project.spent_micros == 400_000 and project.reserved_micros == 300_000
    assert project.percent == pytest.approx(70.0)
    assert project.level == 2  # L2 watch at 70 %
    assert project_levels(engine) == [1, 2]


def test_a_settlement_counts_other_calls_reservations_for_crossings(make_engine) -> None:
    engine = make_engine()
    set_value(engine.paths, "budget.project.limit_usd", "1.0", "default")
    hold(engine, 850_000)  # another call in flight
    spend(engine, 100_000)  # 10 % spent + 85 % reserved = 95 %: L5
    assert project_levels(engine) == [1, 2, 3, 4, 5]


def test_budget_alerts_alone_sees_a_level_reached_by_lowering_a_limit(make_engine, capsys) -> None:
    engine = make_engine()
    for name in ("acme", "beta"):
        (engine.paths.projects_dir).mkdir(parents=True, exist_ok=True)
        engine.paths.project_file(name).write_text("[budget.project]\nlimit_usd = 1.0\n", encoding="utf-8")
    spend(engine, 300_000, "beta")
    set_value(engine.paths, "budget.project.limit_usd", "0.3", "beta")  # a person lowers it: 100 %
    code, out, _ = run_main(capsys, "budget", "alerts", "--json")
    assert code == 0
    beta = sorted(a["level"] for a in json.loads(out) if a.get("key") == "beta")
    assert beta == [1, 2, 3, 4, 5, 6]
