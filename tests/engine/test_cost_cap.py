"""``max_usd`` caps one request's total; ``dry_run`` says what would answer and calls nothing."""

from __future__ import annotations

import pytest

from engine.cost_cap import (
    MaxCostExceeded,
    RequestCap,
    prompt_tokens_bound,
    step_worst_micros,
)
from engine.errors import BudgetRefused, ExitCode
from engine.service import build_messages
from tests.fakes import FakeProviderServer, Reply

TASK = "function parse_port that reads a TCP port from the string '8080'"  # has values: a suggestion call
GOOD = '```python\ndef parse_port(text: str) -> int:\n    """Port."""\n    return int(text)\n```'
BROKEN = "```python\ndef parse_port(text: str) -> int:\n    return int(text\n```"


def answer_worst(engine, max_tokens: int, task: str = TASK) -> int:
    settings = engine.config().settings
    return step_worst_micros(settings, build_messages(settings, task), max_tokens, engine.environ)


def held(engine) -> int:
    return engine.store.call(engine.book.held_count)


async def test_an_answer_whose_worst_case_does_not_fit_is_refused_before_any_call(make_engine, fake) -> None:
    engine = make_engine(order='["openai"]')
    cap = (answer_worst(engine, 200) - 1) / 1e6
    with pytest.raises(MaxCostExceeded) as caught:
        await engine.generate(TASK, max_tokens=200, max_usd=cap, use_templates=False)
    assert isinstance(caught.value, BudgetRefused) and caught.value.exit_code == ExitCode.BUDGET_REFUSED
    assert "max_usd" in str(caught.value) and "answer" in str(caught.value)
    assert fake.requests == [] and held(engine) == 0


async def test_a_suggestion_that_does_not_fit_is_skipped_and_the_answer_kept(make_engine, fake) -> None:
    # the model path (deterministic parameterisation off): only max_usd stands between it and a call
    engine = make_engine(order='["openai"]', learning=True, extra="deterministic = false\n")
    fake.enqueue("openai", Reply(text=GOOD, tokens_in=50, tokens_out=30))
    cap = answer_worst(engine, 200) / 1e6  # exactly the answer's worst case: nothing left for a suggestion
    result = await engine.generate(TASK, max_tokens=200, max_usd=cap, use_templates=False)
    await engine.settle_learning()  # learning runs after the answer; it must not call the model
    assert result.ok
    assert len(fake.requests) == 1  # the suggestion call never left
    queued = await engine.get_suggestion(int(result.extra["suggestion_id"]))
    assert "max_usd" in queued.reason and queued.status == "pending"


async def test_a_repair_that_does_not_fit_stops_and_says_so(make_engine, fake) -> None:
    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text=BROKEN, tokens_in=50, tokens_out=30))
    cap = answer_worst(engine, 200) / 1e6
    result = await engine.generate(TASK, max_tokens=200, max_usd=cap, use_templates=False, raise_on_invalid=False)
    assert not result.ok and len(fake.requests) == 1
    assert "repair" in result.extra["validation"]["max_usd_stopped"]


@pytest.mark.parametrize("answers", [1, 2, 4])
async def test_the_total_never_passes_the_cap(make_engine, fake: FakeProviderServer, answers: int) -> None:
    """Whatever the provider claims and however many paid steps run, the request's total <= the cap."""
    engine = make_engine(order='["openai", "anthropic"]', learning=True)
    fake.responder = lambda request: Reply(
        text=BROKEN if "corrected" not in str(request.body) else GOOD, tokens_in=10**6, tokens_out=10**6
    )  # claims far beyond the bound
    cap_micros = answers * answer_worst(engine, 100) + 7
    result = await engine.generate(
        TASK, max_tokens=100, max_usd=cap_micros / 1e6, use_templates=False, critical=True, raise_on_invalid=False
    )
    assert 0 < result.cost_micros <= cap_micros
    assert held(engine) == 0


async def test_a_review_on_record_is_used_even_when_a_paid_review_would_not_fit(make_engine, fake) -> None:
    same_price = '[pricing.models."anthropic/claude-haiku-4-5"]\ninput_usd_per_mtok = 0.15\noutput_usd_per_mtok = 0.6\n'
    engine = make_engine(order='["openai", "anthropic"]', extra=same_price)  # the answer's bound is then tight
    fake.enqueue("openai", Reply(text=GOOD))
    fake.enqueue("anthropic", Reply(text='{"verdict": "approve", "issues": []}'))
    first = await engine.generate(TASK, critical=True, use_templates=False)
    assert first.ok and first.source == "llm" and len(fake.requests) == 2
    again = await engine.generate(TASK, critical=True, use_templates=False, max_usd=0.000001)
    assert again.ok and again.source == "cache" and again.cost_micros == 0 and len(fake.requests) == 2
    fake.enqueue("openai", Reply(text=GOOD, tokens_in=10**6, tokens_out=10**6))  # charged its whole worst case
    task = TASK + " quickly"  # no verdict on record for it: the review's worst case must fit, and does not
    other = await engine.generate(
        task, critical=True, use_templates=False, max_usd=answer_worst(engine, 1024, task) / 1e6, raise_on_invalid=False
    )
    assert not other.ok and other.extra["validation"]["review"]["verdict"] == "not reviewed"


def test_the_prompt_bound_is_never_below_a_tokenizer_count() -> None:
    from engine.llm import adapter

    for text in ("plain words", "ünïcödé — ✓ 漢字", "x" * 5000, "    " * 300, "\x00\x01"):
        messages = [{"role": "user", "content": text}]
        assert prompt_tokens_bound(messages) >= adapter.count_tokens("openai/gpt-4o-mini", messages)


@pytest.mark.parametrize("bad", [-0.01, float("nan")])
def test_a_negative_or_nan_cap_is_bad_input(bad: float) -> None:
    with pytest.raises(MaxCostExceeded):
        RequestCap.of(bad)


# -- dry run ----------------------------------------------------------------------------------


async def test_dry_run_names_the_builtin_tier_and_calls_nothing(engine, fake) -> None:
    plan = await engine.dry_run("dataclass named Point with fields x: int, y: int")
    assert (plan.tier, plan.worst_case_micros, plan.provider) == ("builtin", 0, "")
    assert fake.requests == []


async def test_dry_run_of_a_paid_call_gives_provider_and_worst_case(make_engine, fake) -> None:
    engine = make_engine(order='["openai", "anthropic"]', learning=True)
    plan = await engine.dry_run(TASK, max_tokens=200, use_templates=False)
    assert (plan.tier, plan.provider, plan.model) == ("llm", "openai", "openai/gpt-4o-mini")
    assert set(plan.steps) == {"answer", "repairs", "suggestion"}
    assert plan.steps["answer"] == answer_worst(engine, 200)
    assert plan.worst_case_micros == sum(plan.steps.values())
    critical = await engine.dry_run(TASK, max_tokens=200, use_templates=False, critical=True)
    assert "review" in critical.steps and critical.worst_case_micros > plan.worst_case_micros
    assert fake.requests == [] and held(engine) == 0


async def test_dry_run_sees_the_cache_after_a_paid_answer(make_engine, fake) -> None:
    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text=GOOD))
    await engine.generate(TASK, use_templates=False)
    before = len(fake.requests)
    plan = await engine.dry_run(TASK, use_templates=False)
    assert plan.tier == "cache" and plan.worst_case_micros == 0 and len(fake.requests) == before
    assert (await engine.dry_run(TASK, use_templates=False, use_cache=False)).tier == "llm"


async def test_dry_run_without_any_payable_provider_says_none(make_engine, monkeypatch) -> None:
    engine = make_engine(order='["openai"]')
    monkeypatch.delenv("OPENAI_API_KEY")
    plan = await engine.dry_run(TASK, use_templates=False)
    assert plan.tier == "none" and "key" in plan.reason
