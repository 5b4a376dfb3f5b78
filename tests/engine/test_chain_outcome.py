"""ProviderChain._try_provider: a typed outcome per provider, and the run's state untouched
(``complete`` folds outcomes in through ``Run.fold``, the one place that changes it)."""

from __future__ import annotations

import copy

import pytest

from engine.llm.chain import ChainRequest
from engine.llm.outcome import Answered, Candidate, MovedOn, Run
from engine.llm.pricing import price_for
from tests.fakes import FakeProviderServer, Fault, Reply


def request(engine, messages=None, **kw) -> ChainRequest:
    from engine.budget.book import budget_refs

    settings = engine.config().settings
    return ChainRequest(
        messages=messages or [{"role": "user", "content": "x = 1 please"}],
        max_tokens=50,
        temperature=0.0,
        request_id="rid",
        project="default",
        agent="default",
        refs=budget_refs(settings, "default", "default", engine.clock()),
        **kw,
    )


def candidate(engine, name: str) -> Candidate:
    settings = engine.config().settings
    return Candidate(name, settings.providers[name], price_for(settings.providers[name].model, settings))


def test_fold_adds_an_outcome_to_the_run() -> None:
    run = Run(deadline=10.0, attempts=1)
    run.fold("a", MovedOn(attempts=2, reason="server_error (boom)"))
    run.fold("b", MovedOn(reason="budget: over", refused="over", out_of_time=True))
    run.fold("c", MovedOn())  # nothing tried, nothing said
    assert (run.attempts, run.last, run.refused, run.out_of_time) == (
        3,
        {"a": "server_error (boom)", "b": "budget: over"},
        ["over"],
        True,
    )


async def test_no_key_moves_on_without_touching_the_run(make_engine, fake: FakeProviderServer, monkeypatch) -> None:
    engine = make_engine(order='["gemini", "openai"]')
    monkeypatch.delenv("GEMINI_API_KEY")
    run = Run(deadline=engine.clock() + 60, attempts=4, health={"x": (1, 0.0)})
    before = copy.deepcopy(run)
    events: list = []
    outcome = await engine.chain._try_provider(
        engine.config().settings, request(engine), candidate(engine, "gemini"), events.append, run.view()
    )
    assert outcome == MovedOn(reason="no API key: set GEMINI_API_KEY")
    assert run == before and fake.count("gemini") == 0


async def test_an_answer_counts_earlier_attempts_and_failures_report_why(make_engine, fake: FakeProviderServer) -> None:
    engine = make_engine(order='["openai"]')
    settings = engine.config().settings
    fake.enqueue("openai", Fault.server_error(), Reply(text="x = 1"))
    run = Run(deadline=engine.clock() + 60, attempts=3)
    view = run.view()
    outcome = await engine.chain._try_provider(
        settings, request(engine), candidate(engine, "openai"), lambda e: None, view
    )
    assert isinstance(outcome, Answered)
    assert outcome.result.attempts == 3 + 2 and outcome.result.provider == "openai"  # the call's attempts so far
    assert run.attempts == 3 and view.attempts == 3  # read, never written
    fake.enqueue("openai", Fault.unauthorized())
    failed = await engine.chain._try_provider(
        settings, request(engine), candidate(engine, "openai"), lambda e: None, run.view()
    )
    assert isinstance(failed, MovedOn) and failed.attempts == 1 and failed.reason and not failed.out_of_time
    assert failed.reason.startswith(("auth", "unauthorized", "authentication"))


async def test_a_passed_deadline_is_out_of_time_with_no_attempt(make_engine, fake: FakeProviderServer) -> None:
    engine = make_engine(order='["openai"]')
    outcome = await engine.chain._try_provider(
        engine.config().settings,
        request(engine),
        candidate(engine, "openai"),
        lambda e: None,
        Run(deadline=engine.clock() - 1).view(),
    )
    assert outcome == MovedOn(attempts=0, reason=None, out_of_time=True) and fake.count("openai") == 0


def test_a_run_view_is_frozen() -> None:
    view = Run(deadline=1.0).view()
    with pytest.raises(AttributeError):
        view.attempts = 5  # type: ignore[misc]
