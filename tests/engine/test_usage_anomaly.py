"""Provider-reported usage is a claim, not a fact (issue 11, item 2).

Over real HTTP, a provider answers with absurd usage: 10^12 or 10^30 tokens, negative counts,
zero tokens for a non-empty answer, a non-numeric string. Whatever it claims, the settlement
stays within [0, the reservation's worst case]; anything outside is charged at the worst case,
flagged ``estimated`` and recorded as an anomaly (what, the claim, provider, request id), which
``templar stats`` and ``templar budget alerts`` show.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.store.models import BudgetCounter, LedgerEntry, Reservation
from tests.cli.helpers import run_main
from tests.fakes import FakeProviderServer, Reply

TASK = "function that adds two integers"

ABSURD = [
    pytest.param("openai", 10**12, 10**12, False, "above_worst_case", id="openai-10^12"),
    pytest.param("openai", 10**30, 10**30, False, "above_worst_case", id="openai-10^30"),
    pytest.param("gemini", -50, -50, False, "negative", id="gemini-negative"),
    pytest.param("anthropic", -5000, 20, True, "negative", id="anthropic-negative-stream"),
    pytest.param("anthropic", "abc", "abc", False, "zero", id="anthropic-non-numeric"),
    pytest.param("openai", 0, 0, False, "zero", id="openai-zero-for-an-answer"),
    pytest.param("gemini", 10, 10**9, True, "above_worst_case", id="gemini-huge-output-stream"),
]


def money(engine: Any) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        return {
            "counters": {c.scope: (c.spent_micros, c.reserved_micros) for c in BudgetCounter.select()},
            "reservations": [(r.amount_micros, r.state) for r in Reservation.select()],
            "ledger": [
                (r.cost_micros, r.estimated, r.tokens_in, r.tokens_out, r.outcome)
                for r in LedgerEntry.select().where(LedgerEntry.source == "llm")
            ],
        }

    return engine.store.call(read)


@pytest.mark.parametrize(("provider", "tokens_in", "tokens_out", "stream", "what"), ABSURD)
async def test_absurd_usage_is_charged_at_the_worst_case_and_recorded(
    make_engine, fake: FakeProviderServer, provider: str, tokens_in: Any, tokens_out: Any, stream: bool, what: str
) -> None:
    engine = make_engine(order=f'["{provider}"]')
    fake.enqueue(provider, Reply(text="```python\nX = 1\n```", tokens_in=tokens_in, tokens_out=tokens_out))
    result = await engine.generate(TASK, stream=stream, max_tokens=200, confirmed=True)
    state = money(engine)
    [(worst, held_state)] = state["reservations"]
    assert held_state == "settled"
    assert 0 < worst < 20_000_000
    for scope in ("system", "project", "agent"):
        assert state["counters"][scope] == (worst, 0), scope
    [(cost, estimated, tin, tout, outcome)] = state["ledger"]
    assert (cost, estimated, outcome) == (worst, True, "ok")
    assert 0 <= tin < 2**31 and 0 <= tout < 2**31
    assert result.cost_micros == worst
    anomalies = engine.store.call(engine.book.anomalies)
    assert len(anomalies) == 1
    [a] = anomalies
    assert a["what"] == what
    assert a["provider"] == provider and a["request_id"] == result.request_id
    assert a["charged_usd"] == worst / 1e6
    assert a["claimed_tokens_in"] == str(tokens_in if not isinstance(tokens_in, str) else 0)
    # later calls are judged on the corrected spend: the budget still works
    fake.enqueue(provider, Reply(text="```python\nY = 2\n```"))
    again = await engine.generate(TASK + " again", max_tokens=200, confirmed=True)
    assert again.source == "llm" and again.cost_micros <= worst


async def test_plausible_usage_is_charged_as_reported_and_not_flagged(make_engine, fake: FakeProviderServer) -> None:
    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text="```python\nX = 1\n```", tokens_in=30, tokens_out=40))
    result = await engine.generate(TASK, max_tokens=200, confirmed=True)
    state = money(engine)
    [(worst, _)] = state["reservations"]
    [(cost, estimated, tin, tout, _)] = state["ledger"]
    assert (tin, tout, estimated) == (30, 40, False)
    assert 0 < cost == result.cost_micros < worst
    assert engine.store.call(engine.book.anomalies) == []


async def test_a_claim_of_a_trillion_tokens_cannot_drain_a_20_dollar_budget(
    make_engine, fake: FakeProviderServer
) -> None:
    engine = make_engine(order='["openai"]')
    fake.responder = lambda request: Reply(text="```python\nX = 1\n```", tokens_in=10**12, tokens_out=10**12)
    for i in range(5):
        await engine.generate(f"{TASK} {i}", max_tokens=200, confirmed=True)
    spent, reserved = money(engine)["counters"]["system"]
    assert reserved == 0 and spent < 20_000_000 // 100  # five worst cases, far below 1 % of $20
    assert len(engine.store.call(engine.book.anomalies)) == 5


async def test_stats_and_budget_alerts_show_anomalies(make_engine, fake: FakeProviderServer, capsys) -> None:
    engine = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text="```python\nX = 1\n```", tokens_in=10**12, tokens_out=10**12))
    result = await engine.generate(TASK, max_tokens=200, confirmed=True)
    code, out, _ = run_main(capsys, "stats", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["anomalies"]["count"] == 1
    [row] = data["anomalies"]["recent"]
    assert row["request_id"] == result.request_id and row["claimed_tokens_out"] == str(10**12)
    code, out, _ = run_main(capsys, "stats")
    assert code == 0 and "anomal" in out and "openai" in out
    code, out, _ = run_main(capsys, "budget", "alerts", "--json")
    assert code == 0
    kinds = [a.get("kind") for a in json.loads(out)]
    assert "anomaly" in kinds
    code, out, _ = run_main(capsys, "budget", "alerts")
    assert code == 0 and "anomaly" in out and result.request_id[:8] in out
