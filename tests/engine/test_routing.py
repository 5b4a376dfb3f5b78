"""Routing (issue 13 item 4) through the engine: off by default, a capped cheap call when on,
recorded as source ``routed`` with the router's cost and the net saving."""

from __future__ import annotations

import pytest

from engine.store.models import LedgerEntry
from tests.engine.test_aliases import CODE_FOR, TEACH, answer
from tests.fakes import FakeProviderServer, ProviderRequest, Reply

WORDING = "a function which tells if some number is prime"
ROUTING = "route_paraphrases = true\nroute_min_similarity = 0.3\nroute_max_usd = {cap}\n"


def with_router(request: ProviderRequest) -> Reply:
    if "code template answers" in request.messages()[0][1]:
        return Reply(text="yes", tokens_in=60, tokens_out=1)
    if WORDING in request.messages()[-1][1]:
        return Reply(text=f"```python\n{CODE_FOR[TEACH]}```")
    return answer(request)


async def taught(make_engine, extra: str = ""):
    engine = make_engine(order='["openai"]', learning=True, extra=extra)
    result = await engine.generate(TEACH)
    await engine.settle_learning()
    engine.store.call(engine.library.accept, result.to_dict()["suggestion_id"])
    return engine


def sources(engine) -> list[str]:
    return engine.store.call(lambda: [r.source for r in LedgerEntry.select().order_by(LedgerEntry.id)])


async def test_routing_is_off_by_default(make_engine, fake: FakeProviderServer) -> None:
    fake.responder = with_router
    engine = await taught(make_engine)
    result = await engine.generate(WORDING)
    assert result.source == "llm" and "route" not in sources(engine)


async def test_a_routed_answer_records_the_router_cost_and_the_net_saving(make_engine, fake) -> None:
    fake.responder = with_router
    engine = await taught(make_engine, ROUTING.format(cap=0.001))
    result = await engine.generate(WORDING)
    assert result.source == "routed" and result.code == CODE_FOR[TEACH]
    router = engine.store.call(lambda: LedgerEntry.get(LedgerEntry.source == "route").cost_micros)
    assert result.cost_micros == router > 0
    assert result.extra["router_cost_usd"] == pytest.approx(router / 1e6)
    assert result.saved_micros == round(result.extra["net_saved_usd"] * 1e6) >= 0
    assert sources(engine)[-2:] == ["route", "routed"]


async def test_the_cost_cap_stops_the_router_call(make_engine, fake) -> None:
    fake.responder = with_router
    engine = await taught(make_engine, ROUTING.format(cap=0.0000001))
    result = await engine.generate(WORDING)
    assert result.source == "llm" and "route" not in sources(engine)


async def test_a_no_is_not_served(make_engine, fake) -> None:
    def no(request: ProviderRequest) -> Reply:
        if "code template answers" in request.messages()[0][1]:
            return Reply(text="no")
        return with_router(request)

    fake.responder = no
    engine = await taught(make_engine, ROUTING.format(cap=0.001))
    assert (await engine.generate(WORDING)).source == "llm"
