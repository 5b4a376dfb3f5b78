"""The provider chain over real HTTP: retries, fallback, classification, events, cost."""

from __future__ import annotations

import math

import pytest

from engine.errors import NoProviderAvailable, PriceUnknown
from engine.events import AttemptFailed, AttemptSucceeded, Backoff, ProviderCooledDown, ProviderSkipped, TokensStreamed
from engine.llm import adapter
from engine.service import Engine
from engine.store.models import LedgerEntry
from tests.engine.conftest import PROVIDERS, Sleeps
from tests.engine.test_savings_basis import expected as expected_saving
from tests.fakes import FakeProviderServer, Fault, Reply

FORMATS = list(PROVIDERS)
TASK = "function that adds two integers"


def only(fmt: str) -> str:
    return f'["{fmt}"]'


def rows(engine: Engine) -> list[LedgerEntry]:
    return engine.store.call(lambda: list(LedgerEntry.select().order_by(LedgerEntry.id)))


def oracle_cost_micros(model: str, tokens_in: int, tokens_out: int) -> int:
    lib = adapter.litellm()
    a, b = lib.cost_per_token(model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out)
    return math.ceil(round((a + b) * 1e6, 6))


@pytest.mark.parametrize("fmt", FORMATS)
async def test_each_format_answers_and_costs_real_usage(make_engine, fake: FakeProviderServer, fmt: str) -> None:
    engine = make_engine(order=only(fmt))
    fake.enqueue(
        fmt,
        Reply(text="```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```", tokens_in=120, tokens_out=40),
    )
    result = await engine.generate(TASK)
    assert fake.count() == 1 and fake.count(fmt) == 1
    assert (result.source, result.provider, result.model, result.attempts) == ("llm", fmt, PROVIDERS[fmt], 1)
    assert result.code == "def add(a: int, b: int) -> int:\n    return a + b\n"
    assert (result.tokens_in, result.tokens_out) == (120, 40)
    assert result.cost_micros == oracle_cost_micros(PROVIDERS[fmt], 120, 40) > 0
    ledger = rows(engine)
    assert [(r.source, r.outcome, r.cost_micros, r.tokens_in) for r in ledger] == [
        ("llm", "ok", result.cost_micros, 120)
    ]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_rate_limit_retries_with_retry_after_then_falls_back(make_engine, fake, sleeps: Sleeps, fmt: str) -> None:
    other = next(f for f in FORMATS if f != fmt)
    engine = make_engine(order=f'["{fmt}", "{other}"]')
    fake.enqueue(
        fmt, Fault.rate_limit(retry_after=1.5), Fault.rate_limit(retry_after=2.5), Fault.rate_limit(retry_after=1)
    )
    fake.enqueue(other, Reply(text="x = 1", tokens_in=10, tokens_out=5))
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    assert fake.count(fmt) == 3, "exactly the chain's attempts reach the provider (no SDK retries)"
    assert fake.count(other) == 1 and result.provider == other and result.attempts == 4
    assert sleeps.delays == [1.5, 2.5]
    failed = [e for e in events if isinstance(e, AttemptFailed)]
    assert [(e.provider, e.error_class, e.retryable) for e in failed] == [(fmt, "rate_limit", True)] * 3
    assert [e.delay_s for e in events if isinstance(e, Backoff)] == [1.5, 2.5]
    ledger = rows(engine)
    assert [(r.provider, r.outcome, r.error_class, r.cost_micros) for r in ledger] == [
        (fmt, "error", "rate_limit", 0)
    ] * 3 + [(other, "ok", None, result.cost_micros)]


@pytest.mark.parametrize(
    ("fault", "error_class", "requests"),
    [
        (Fault.server_error(500), "server_error", 3),
        (Fault.unavailable(message="Service temporarily unavailable"), "unavailable", 3),
        (Fault.hang(5), "timeout", 3),
        (Fault.unauthorized(), "auth", 1),
        (Fault.bad_request(), "bad_request", 1),
        (Fault.not_found_model(), "not_found", 1),
        (Fault.context_window(), "context_window", 1),
    ],
    ids=lambda v: getattr(v, "kind", v),
)
@pytest.mark.parametrize("fmt", FORMATS)
async def test_faults_are_classified_retried_or_skipped(
    make_engine, fake, sleeps: Sleeps, fmt, fault, error_class, requests
) -> None:
    other = next(f for f in FORMATS if f != fmt)
    engine = make_engine(order=f'["{fmt}", "{other}"]', timeout=0.5)
    fake.enqueue(fmt, fault, fault, fault)
    fake.enqueue(other, Reply(text="x = 1", tokens_in=10, tokens_out=5))
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    failed = [e for e in events if isinstance(e, AttemptFailed)]
    assert {e.error_class for e in failed} == {error_class}, [e.message for e in failed]
    assert fake.count(fmt) == requests
    assert result.provider == other
    assert sleeps.delays == ([2.0, 4.0] if requests == 3 else [])


@pytest.mark.parametrize("fmt", FORMATS)
async def test_malformed_body_is_a_failure_not_an_answer(make_engine, fake, fmt) -> None:
    other = next(f for f in FORMATS if f != fmt)
    engine = make_engine(order=f'["{fmt}", "{other}"]')
    fake.enqueue(fmt, Fault.malformed(), Fault.malformed(), Fault.malformed())
    fake.enqueue(other, Reply(text="x = 1"))
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    assert result.provider == other
    failed = [e for e in events if isinstance(e, AttemptFailed) and e.provider == fmt]
    assert failed and fake.count(fmt) == len(failed)


async def test_refused_connection_retries_then_falls_back(make_engine, fake, sleeps) -> None:
    engine = make_engine(order='["gemini", "openai"]')
    from engine.config import set_value

    # point gemini at a port where nothing listens
    set_value(
        engine.paths,
        "providers.gemini.api_base",
        f'"{fake.refused_api_base("gemini")}"',
        "default",
        trust_providers=True,
    )
    fake.enqueue("openai", Reply(text="x = 1"))
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    assert fake.count("gemini") == 0 and result.provider == "openai"
    assert [e.error_class for e in events if isinstance(e, AttemptFailed)] == ["connection"] * 3
    assert sleeps.delays == [2.0, 4.0]


async def test_all_providers_failing_is_no_provider_with_reasons(make_engine, fake) -> None:
    engine = make_engine()
    for fmt in FORMATS:
        fake.enqueue(fmt, Fault.unauthorized())
    with pytest.raises(NoProviderAvailable) as err:
        await engine.generate(TASK)
    for fmt in FORMATS:
        assert f"{fmt}: auth" in str(err.value)
    assert engine.store.call(engine.book.held_count) == 0
    assert [r.outcome for r in rows(engine)] == ["error"] * 3


async def test_missing_key_skips_provider_without_a_request(make_engine, fake, monkeypatch) -> None:
    engine = make_engine(order='["gemini", "openai"]')
    monkeypatch.delenv("GEMINI_API_KEY")
    fake.enqueue("openai", Reply(text="x = 1"))
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    assert result.provider == "openai" and fake.count("gemini") == 0
    skipped = [e for e in events if isinstance(e, ProviderSkipped)]
    assert skipped[0].provider == "gemini" and "GEMINI_API_KEY" in skipped[0].reason


async def test_backoff_is_exponential_capped_and_jittered(make_engine, fake, sleeps) -> None:
    engine = make_engine(order=only("openai"), extra="")
    from engine.config import set_value

    set_value(engine.paths, "chain.attempts", "5", "default")
    set_value(engine.paths, "chain.backoff_max_s", "5.0", "default")
    fake.enqueue("openai", *[Fault.server_error()] * 4, Reply(text="x = 1"))
    await engine.generate(TASK)
    assert sleeps.delays == [2.0, 4.0, 5.0, 5.0]
    set_value(engine.paths, "chain.jitter", "0.5", "default")
    settings = engine.config("default", "default").settings
    from engine.llm.failures import Failure

    delays = [engine.chain.backoff_delay(settings, 1, Failure("server_error", "x")) for _ in range(200)]
    assert min(delays) >= 1.0 and max(delays) <= 3.0 and len(set(delays)) > 100
    capped = engine.chain.backoff_delay(settings, 1, Failure("rate_limit", "x", 429, retry_after_s=999))
    assert capped == settings.chain.retry_after_max_s


async def test_repeatedly_failing_provider_cools_down_and_is_skipped(make_engine, fake, sleeps) -> None:
    engine = make_engine(order='["gemini", "openai"]')
    from engine.config import set_value

    set_value(engine.paths, "chain.cooldown_failures", "3", "default")
    fake.enqueue("gemini", *[Fault.server_error()] * 3)
    events: list = []
    await engine.generate(TASK, emit=events.append)
    assert any(isinstance(e, ProviderCooledDown) and e.provider == "gemini" for e in events)
    before = fake.count("gemini")
    events.clear()
    # a fresh board is what another process has: the cooldown is in the store, not in memory
    from engine.llm.chain import CooldownBoard

    engine.chain.board = CooldownBoard(engine.store)
    await engine.generate(TASK + " again", emit=events.append)
    assert fake.count("gemini") == before, "a cooled-down provider gets no request, from any process"
    assert any(isinstance(e, ProviderSkipped) and "cooling down" in e.reason for e in events)


async def test_a_success_clears_recorded_failures(make_engine, fake) -> None:
    from engine.config import set_value
    from engine.llm.chain import health_key
    from engine.store.models import ProviderHealth

    engine = make_engine(order='["gemini"]')
    set_value(engine.paths, "chain.cooldown_failures", "5", "default")
    fake.enqueue("gemini", Fault.server_error(), Reply(text="X = 1"))
    await engine.generate(TASK)
    key = health_key(engine.config("default", "default").settings.providers["gemini"])
    row = engine.store.call(lambda: ProviderHealth.get_by_id(key))
    assert (row.failures, row.until) == (0, 0.0)


async def test_unknown_price_is_refused_before_any_request(make_engine, fake) -> None:
    engine = make_engine(order=only("openai"))
    from engine.config import set_value

    set_value(engine.paths, "providers.openai.model", '"openai/house-model-unpriced"', "default")
    with pytest.raises(PriceUnknown) as err:
        await engine.generate(TASK)
    assert 'pricing.models."openai/house-model-unpriced"' in str(err.value)
    assert fake.count() == 0 and rows(engine) == []
    set_value(
        engine.paths,
        'pricing.models."openai/house-model-unpriced"',
        "{input_usd_per_mtok = 1.0, output_usd_per_mtok = 2.0}",
        "default",
    )
    fake.enqueue("openai", Reply(text="x = 1", tokens_in=1000, tokens_out=500))
    result = await engine.generate(TASK)
    assert result.cost_micros == 1000 * 1 + 500 * 2


@pytest.mark.parametrize("fmt", FORMATS)
async def test_streaming_delivers_text_as_it_arrives(make_engine, fake, fmt) -> None:
    engine = make_engine(order=only(fmt))
    text = "```python\nx = [1, 2, 3]\nprint(sum(x))\n```"
    fake.enqueue(
        fmt,
        Reply(
            text=text, tokens_in=50, tokens_out=12, chunks=("```python\n", "x = [1, ", "2, 3]\n", "print(sum(x))\n```")
        ),
    )
    events: list = []
    result = await engine.generate(TASK, stream=True, emit=events.append)
    pieces = [e.text for e in events if isinstance(e, TokensStreamed)]
    assert len(pieces) >= 2 and "".join(pieces) == text
    assert result.code == "x = [1, 2, 3]\nprint(sum(x))\n"
    assert fake.last(fmt).stream
    succeeded = [e for e in events if isinstance(e, AttemptSucceeded)][0]
    assert succeeded.tokens_out > 0


async def test_identical_request_is_a_cache_hit_at_zero_cost(make_engine, fake) -> None:
    engine = make_engine(order=only("openai"))
    fake.enqueue("openai", Reply(text="```python\nX = 1\n```", tokens_in=300, tokens_out=100))
    first = await engine.generate(TASK)
    second = await engine.generate(TASK)
    assert fake.count() == 1
    basis = expected_saving(engine, TASK, first.code, "openai")  # one basis for every tier: test_savings_basis
    assert (second.source, second.cost_micros, second.saved_micros) == ("cache", 0, basis)
    assert basis > 0 and second.code == first.code
    ledger = rows(engine)
    assert [(r.source, r.cost_micros, r.saved_micros) for r in ledger] == [
        ("llm", first.cost_micros, 0),
        ("cache", 0, basis),
    ]
    # a different generation parameter is a different key
    await engine.generate(TASK, max_tokens=50)
    assert fake.count() == 2


async def test_answers_that_fail_validation_are_repaired_or_not_cached(make_engine, fake) -> None:
    engine = make_engine(order=only("openai"))
    fake.enqueue("openai", Reply(text="```python\ndef broken(:\n```"), Reply(text="```python\nX = 2\n```"))
    first = await engine.generate(TASK)
    assert first.code == "X = 2\n" and first.to_dict()["validation"]["repairs"] == 1
    repair_prompt = fake.requests[1].body["messages"][-1]["content"]
    assert "failed validation" in repair_prompt and "syntax" in repair_prompt
    assert (await engine.generate(TASK)).source == "cache"

    from engine.config import set_value

    set_value(engine.paths, "validation.max_repairs", "0", "default")
    fake.enqueue(
        "openai",
        Reply(text="```python\nimport os\nos.system('rm -rf /tmp/x')\n```"),
        Reply(text="```python\nY = 3\n```"),
    )
    blocked = await engine.generate(TASK + " other", raise_on_invalid=False)
    assert blocked.to_dict()["validation"]["ok"] is False
    second = await engine.generate(TASK + " other")
    assert second.source == "llm" and second.code == "Y = 3\n", "a blocked answer was cached"


async def test_failed_attempts_are_never_cached(make_engine, fake) -> None:
    engine = make_engine(order=only("openai"))
    from engine.config import set_value

    set_value(engine.paths, "chain.attempts", "1", "default")
    fake.enqueue("openai", Fault.server_error())
    with pytest.raises(NoProviderAvailable):
        await engine.generate(TASK)
    fake.enqueue("openai", Reply(text="X = 3"))
    result = await engine.generate(TASK)
    assert result.source == "llm"


async def test_api_key_reaches_provider_but_never_the_database_or_events(make_engine, fake, keys, paths) -> None:
    engine = make_engine()
    events: list = []
    result = await engine.generate(TASK, emit=events.append)
    assert fake.last().api_key == keys
    engine.close()
    blob = b"".join(p.read_bytes() for p in paths.data_dir.rglob("*") if p.is_file())
    blob += b"".join(p.read_bytes() for p in paths.config_dir.rglob("*") if p.is_file())
    assert keys.encode() not in blob
    assert keys not in repr(result.to_dict())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("fault", "error_class"),
    [
        (Fault.rate_limit(retry_after=0.5), "rate_limit"),
        (Fault.server_error(), "server_error"),
        (Fault.malformed(), None),
    ],
    ids=["429", "500", "malformed"],
)
async def test_streaming_faults_are_classified_and_retried(make_engine, fake, sleeps, fmt, fault, error_class) -> None:
    engine = make_engine(order=only(fmt))
    fake.enqueue(fmt, fault, Reply(text="```python\nX = 1\n```"))
    events: list = []
    result = await engine.generate(TASK, stream=True, emit=events.append)
    failed = [e for e in events if isinstance(e, AttemptFailed)]
    assert len(failed) == 1 and failed[0].retryable
    if error_class:
        assert failed[0].error_class == error_class
    assert result.code == "X = 1\n" and fake.count(fmt) == 2
    if error_class == "rate_limit":
        assert sleeps.delays == [0.5]


async def test_cache_ttl_and_size_cap(make_engine, fake) -> None:
    from engine import cache as response_cache
    from engine.store.models import CacheEntry

    engine = make_engine(order=only("openai"), extra="[cache]\nmax_entries = 3\nttl_s = 100\n")
    for i in range(5):
        fake.enqueue("openai", Reply(text=f"```python\nX = {i}\n```"))
        await engine.generate(f"{TASK} {i}")
    keys = engine.store.call(lambda: [e.code for e in CacheEntry.select().order_by(CacheEntry.id)])
    assert keys == ["X = 2\n", "X = 3\n", "X = 4\n"], "the least recently used were evicted"
    now = engine.clock()
    first = engine.store.call(lambda: CacheEntry.select().order_by(CacheEntry.id).first().key)
    assert engine.store.call(response_cache.peek, first, now) is not None
    assert engine.store.call(response_cache.peek, first, now + 101) is None, "expired entries are never served"
