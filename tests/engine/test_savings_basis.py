"""One savings basis for every $0 tier: what the chain would have paid first at current prices
(first provider in the chain with a key and a price; prompt = system + task prompt, output = the
answer's code, 4 characters per token). Failed $0 attempts are counted apart from paid calls."""

from __future__ import annotations

import math

import pytest

from engine.errors import BadInput
from engine.learning.body import Param
from engine.llm.price_map import SAVINGS_BASIS, bundled_price
from engine.pipeline import build_messages
from engine.stats import compute_stats
from engine.store.models import LedgerEntry, Template
from tests.engine.test_learning import learn, responder
from tests.fakes.settings import MODELS

COLOR = "enum Color with members red, green and blue"


def expected(engine, task: str, code: str, provider: str, price: tuple[float, float] | None = None) -> int:
    """The basis, computed by hand: ceil(chars / 4) tokens at the provider's USD per million tokens."""
    settings = engine.config().settings
    prompt = sum(len(m["content"]) for m in build_messages(settings, task))
    usd_in, usd_out = price or bundled_price(MODELS[provider])
    return math.ceil(math.ceil(prompt / 4) * usd_in + math.ceil(len(code) / 4) * usd_out - 1e-9)


async def test_learned_builtin_and_cache_hits_use_the_first_payable_provider(make_engine, fake) -> None:
    fake.responder = responder()
    engine = make_engine(order='["gemini", "openai"]', learning=True)  # gemini first, though openai is cheaper
    _, sid = await learn(engine)
    engine.store.call(engine.library.accept, sid)

    learned = await engine.generate("a constant TIMEOUT_SECONDS set to 30")
    builtin = await engine.generate(COLOR)
    await engine.generate("write a function that adds two numbers")
    cached = await engine.generate("write a function that adds two numbers")
    assert (learned.source, builtin.source, cached.source) == ("learned", "builtin", "cache")
    for result, task in (
        (learned, "a constant TIMEOUT_SECONDS set to 30"),
        (builtin, COLOR),
        (cached, "write a function that adds two numbers"),
    ):
        assert result.saved_micros == expected(engine, task, result.code, "gemini") > 0, result.source
        row = engine.store.call(
            lambda r=result: LedgerEntry.get(
                (LedgerEntry.request_id == r.request_id) & (LedgerEntry.source == r.source)
            )
        )
        assert row.saved_micros == result.saved_micros and row.cost_micros == 0
    uses = engine.store.call(lambda: Template.select().first())
    assert uses.saved_micros == learned.saved_micros


async def test_the_basis_skips_providers_without_a_key_and_uses_price_overrides(make_engine, fake, monkeypatch) -> None:
    extra = '\n[pricing.models."openai/gpt-4o-mini"]\ninput_usd_per_mtok = 1000.0\noutput_usd_per_mtok = 2000.0\n'
    engine = make_engine(order='["gemini", "openai"]', extra=extra)
    monkeypatch.delenv("GEMINI_API_KEY")
    served = await engine.generate(COLOR)
    assert served.source == "builtin"
    assert served.saved_micros == expected(engine, COLOR, served.code, "openai", (1000.0, 2000.0))


async def test_nothing_is_saved_when_no_provider_could_have_been_paid(paths) -> None:
    from engine.service import Engine

    engine = Engine.from_settings(paths)  # default chain, no keys at all
    try:
        served = await engine.generate(COLOR)
        assert served.source == "builtin" and served.saved_micros == 0
    finally:
        engine.close()


async def test_a_failed_free_attempt_is_counted_apart_from_paid_calls(make_engine, fake) -> None:
    fake.responder = responder()
    engine = make_engine(order='["openai"]')
    broken = {
        "name": "broken",
        "pattern": "a risky loader called {name:identifier}",
        "body": '"""Loader."""\n\nimport pickle\n\n{{ name }} = pickle.loads(b"")\n',
        "params": [Param("name", "identifier", "LOAD", "", 1.0)],
    }
    engine.store.call(engine.library.add_template, broken)
    result = await engine.generate("a risky loader called DATA")
    assert result.source == "llm"
    stats = engine.store.call(compute_stats)
    total = stats["total"]
    assert total["free_failed_attempts"] == 1 and total["free_failures"] == {"validation": 1}
    assert total["paid_calls"] == 1 and total["failures"] == {}, "a $0 failure is not a paid call"
    assert total["template_hits"] == 0 and total["requests"] == 1
    assert stats["savings_basis"] == SAVINGS_BASIS and "first provider" in SAVINGS_BASIS
    assert engine.store.call(lambda: Template.select().first().failures) == 1
    with pytest.raises(BadInput, match=r"answered by a paid provider call, not a template"):
        engine.report_wrong(result.request_id, "the failed template attempt is not the answer")


async def test_stats_show_false_hits_per_template_and_reversals(make_engine, fake) -> None:
    fake.responder = responder()
    engine = make_engine(order='["openai"]', learning=True)
    _, sid = await learn(engine)
    tid = engine.store.call(engine.library.accept, sid).id
    answers = [await engine.generate(f"a constant C{i} set to {i}") for i in range(4)]
    builtin = await engine.generate(COLOR)
    assert {a.source for a in answers} == {"learned"} and builtin.source == "builtin"
    before = engine.store.call(compute_stats)["total"]["saved_usd"]
    engine.report_wrong(answers[0].request_id, "wrong")

    stats = engine.store.call(compute_stats)
    hits = stats["false_hits"]
    assert (hits["template_answers"], hits["wrong_reports"], hits["false_hit_rate"]) == (5, 1, 0.2)
    per = {t["template"]: t for t in hits["templates"]}
    assert per[f"learned-{tid}"] == {
        "template": f"learned-{tid}",
        "source": "learned",
        "answers": 4,
        "wrong": 1,
        "false_hit_rate": 0.25,
    }
    assert per[builtin.extra["template_id"]]["wrong"] == 0
    total = stats["total"]
    assert total["reversed_usd"] == pytest.approx(answers[0].saved_micros / 1e6)
    assert total["saved_usd"] == pytest.approx(before - answers[0].saved_micros / 1e6)
    assert total["template_hits"] == 5, "a reversal row is not an answer"
    grouped = engine.store.call(compute_stats, None, "source")
    assert {g["source"] for g in grouped["groups"]} >= {"learned", "builtin", "reversal"}
