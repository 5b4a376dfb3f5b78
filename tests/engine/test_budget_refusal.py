"""A budget refusal must not poison the process (issue 11, item 1).

The class: any state the budget book caches in memory (counter ids, their limits, recorded
crossings) must describe what is committed in the database. A refusal rolls back the counter
rows it created; a new period starts with no rows; another process may delete or recreate
rows. Every later call must be judged on the database as it is, never on a stale cache.
All calls go over real HTTP to the loopback fake provider.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.budget.book import LedgerFields, budget_refs
from engine.config import set_value
from engine.errors import BudgetRefused
from engine.service import Engine
from engine.store.models import BudgetCounter
from tests.engine.conftest import user_settings
from tests.fakes import FakeProviderServer

TASK = "function that adds two integers"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def build(paths: Any, fake: FakeProviderServer, sleeps: Any, clock: Clock | None = None, extra: str = "") -> Engine:
    paths.user_settings.write_text(user_settings(fake, extra=extra), encoding="utf-8")
    kwargs: dict[str, Any] = {"sleep": sleeps}
    if clock is not None:
        kwargs["clock"] = clock
    return Engine.from_settings(paths, **kwargs)


async def test_first_provider_refused_by_a_small_project_budget_then_the_next_one_answers(
    paths, fake: FakeProviderServer, sleeps, keys
) -> None:
    # default chain: gemini (worst case 500 x $2.50/M > $0.001) is refused, openai fits
    engine = build(paths, fake, sleeps)
    try:
        set_value(paths, "budget.project.limit_usd", "0.001", "default")
        outcomes = []
        for i in range(12):
            try:
                result = await engine.generate(f"{TASK} number {i}", max_tokens=500, use_cache=False, confirmed=True)
                outcomes.append(result.provider)
            except BudgetRefused as exc:
                outcomes.append(f"refused: {exc}")
        assert outcomes[0] == "openai", outcomes[0]
        assert not any("system budget" in o for o in outcomes), outcomes
        assert fake.count("gemini") == 0
        assert fake.count("openai") == outcomes.count("openai")
        assert outcomes.count("openai") >= 10, outcomes
    finally:
        engine.close()


async def test_a_refusal_in_a_new_period_does_not_poison_later_periods(
    paths, fake: FakeProviderServer, sleeps, keys
) -> None:
    clock = Clock(1_790_000_000.0)
    extra = '[budget.project]\nperiod = "daily"\n[budget.agent]\nperiod = "daily"\n'
    engine = build(paths, fake, sleeps, clock, extra)
    try:
        set_value(paths, "budget.project.limit_usd", "0.001", "default")
        for day in range(3):
            clock.now += 86400  # a new day: fresh counter rows, created inside a refused transaction
            result = await engine.generate(f"{TASK} on day {day}", max_tokens=500, use_cache=False, confirmed=True)
            assert result.provider == "openai"
        periods = engine.store.call(
            lambda: sorted({c.period for c in BudgetCounter.select().where(BudgetCounter.scope == "project")})
        )
        assert len(periods) == 3
    finally:
        engine.close()


def test_counter_rows_removed_behind_the_books_back_are_recreated(paths, fake, sleeps, keys) -> None:
    engine = build(paths, fake, sleeps)
    try:
        settings = engine.config("default", "default").settings
        refs = budget_refs(settings, "default", "default", engine.clock())
        fields = LedgerFields("r1", "default", "default", "llm", "openai", "m", 1)
        held = engine.store.call(engine.book.reserve, refs, 100, fields)
        engine.store.call(engine.book.settle, held, 100)
        # another process (or an operator) deletes the rows; ours are cached
        engine.store.call(lambda: BudgetCounter.delete().execute())
        held = engine.store.call(
            engine.book.reserve, refs, 100, LedgerFields("r2", "default", "default", "llm", "openai", "m", 1)
        )
        engine.store.call(engine.book.settle, held, 100)
        rows = engine.store.call(lambda: {c.scope: (c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()})
        assert rows == {"system": (100, 0), "project": (100, 0), "agent": (100, 0)}
    finally:
        engine.close()


def test_a_rolled_back_limit_update_is_not_remembered(paths, fake, sleeps, keys) -> None:
    """The cached limit of a counter follows the database too: a refusal that rolled back the
    system counter's limit update must not leave the cache claiming the new limit is written."""
    engine = build(paths, fake, sleeps)
    try:
        fields = lambda rid: LedgerFields(rid, "default", "default", "llm", "o", "m", 1)  # noqa: E731
        refs = budget_refs(engine.config("default", "default").settings, "default", "default", engine.clock())
        engine.store.call(engine.book.reserve, refs, 10, fields("a"))
        paths.user_settings.write_text(
            user_settings(fake, extra="[budget.system]\nlimit_usd = 30.0\n[budget.project]\nlimit_usd = 0.000001\n"),
            encoding="utf-8",
        )
        tight = budget_refs(engine.config("default", "default").settings, "default", "default", engine.clock())
        with pytest.raises(BudgetRefused, match="project"):
            engine.store.call(engine.book.reserve, tight, 10, fields("b"))
        paths.user_settings.write_text(
            user_settings(fake, extra="[budget.system]\nlimit_usd = 30.0\n"), encoding="utf-8"
        )
        loose = budget_refs(engine.config("default", "default").settings, "default", "default", engine.clock())
        engine.store.call(engine.book.reserve, loose, 10, fields("c"))
        limit = engine.store.call(lambda: BudgetCounter.get(BudgetCounter.scope == "system").limit_micros)
        assert limit == 30_000_000
    finally:
        engine.close()
