"""RequestContext: one frozen value carries a request's facts; every paid call it makes is booked
to that request (id, project, agent, budgets, confirmation)."""

from __future__ import annotations

import dataclasses

import pytest

from engine.context import RequestContext
from engine.service import Engine
from engine.store.models import LedgerEntry
from tests.fakes import FakeProviderServer, Reply


def test_context_is_frozen_keyword_only_and_fills_defaults(paths) -> None:
    engine = Engine.from_settings(paths)
    try:
        settings = engine.config("proj", "bot").settings
        seen: list[object] = []
        ctx = RequestContext.build(
            "a constant X set to 1",
            project="proj",
            agent="bot",
            settings=settings,
            now=engine.clock(),
            emit=seen.append,
            critical=True,
        )
    finally:
        engine.close()
    assert ctx.max_tokens == settings.generation.max_tokens  # the setting unless the caller asks
    assert [r.scope for r in ctx.refs] == ["system", "project", "agent"]
    assert ctx.refs[2].key == "proj/bot"
    assert ctx.is_critical and ctx.critical.source == "request"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.project = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        RequestContext("id", "task")  # type: ignore[misc,call-arg]  # keyword construction only
    other = RequestContext.build("t", project="proj", agent="bot", settings=settings, now=0.0, emit=seen.append)
    assert other.request_id != ctx.request_id  # a fresh id per request


def test_chain_request_carries_the_request_and_the_overrides(paths) -> None:
    engine = Engine.from_settings(paths)
    try:
        settings = engine.config().settings
        ctx = RequestContext.build(
            "t",
            project="p",
            agent="a",
            settings=settings,
            now=engine.clock(),
            emit=lambda e: None,
            confirmed=True,
            max_tokens=77,
        )
    finally:
        engine.close()
    plain = ctx.chain_request([{"role": "user", "content": "hi"}])
    assert (plain.request_id, plain.project, plain.agent, plain.confirmed) == (ctx.request_id, "p", "a", True)
    assert plain.max_tokens == 77 and plain.temperature == settings.generation.temperature
    assert plain.refs == list(ctx.refs) and plain.source == "llm" and plain.order is None
    side = ctx.chain_request([], max_tokens=5, temperature=0.0, source="review", exclude=("openai",), order=("gemini",))
    assert (side.max_tokens, side.temperature, side.source, side.exclude, side.order) == (
        5,
        0.0,
        "review",
        ("openai",),
        ("gemini",),
    )


async def test_every_paid_call_of_a_critical_request_is_booked_to_its_id(make_engine, fake: FakeProviderServer) -> None:
    """The answer and its review are two chain calls: both ledger rows carry the request's id,
    project and agent (the context, not re-typed arguments, supplies them)."""
    engine = make_engine(order='["openai", "gemini"]')
    fake.enqueue("openai", Reply(text="```python\nX: int = 1\n```"))
    fake.enqueue("gemini", Reply(text='{"verdict": "approve", "issues": []}'))
    result = await engine.generate(
        "a constant X set to 1", project="proj", agent="bot", critical=True, use_templates=False
    )
    rows = engine.store.call(lambda: list(LedgerEntry.select().where(LedgerEntry.outcome == "ok")))
    assert sorted(r.source for r in rows) == ["llm", "review"]
    assert {(r.request_id, r.project, r.agent) for r in rows} == {(result.request_id, "proj", "bot")}
    assert result.to_dict()["validation"]["review"]["verdict"] == "approve"
