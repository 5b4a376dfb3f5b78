"""Learning off the answer path (issue 13 item 5): deterministic parameterisation first, a model
only when that cannot decide, and never a delay for the answer."""

from __future__ import annotations

import json
import threading

import pytest

from engine.learning.literals import propose
from engine.learning.review import check
from engine.learning.suggest import build_messages
from engine.store.models import LedgerEntry
from engine.validation import CodeValidator
from tests.engine.test_learning import CODE, SUGGESTION, TASK, responder
from tests.fakes import FakeProviderServer, Fault, ProviderRequest, Reply

# -- deterministic parameterisation: a table ------------------------------------------------------

CASES = [
    (
        "a constant MAX_RETRIES set to 5",
        '"""Settings."""\n\nMAX_RETRIES: int = 5\n',
        "a constant {name:identifier} set to {value:integer}",
    ),
    (
        'a function greet that returns the text "hello"',
        '"""Greeting."""\n\n\ndef greet() -> str:\n    """The greeting."""\n    return "hello"\n',
        "a function {name:identifier} that returns the text {text:string}",
    ),
    (
        "dataclass Invoice with fields number: int, total: float and paid: bool",
        (
            '"""Invoices."""\n\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Invoice:\n    """An invoice."""\n\n'
            "    number: int\n    total: float\n    paid: bool\n"
        ),
        "dataclass {name:identifier} with fields {fields:field_list}",
    ),
    (
        "a ratio constant RATIO equal to 0.75",
        '"""Ratio."""\n\nRATIO: float = 0.75\n',
        "a ratio constant {name:identifier} equal to {value:number}",
    ),
]


@pytest.mark.parametrize(("task", "code", "pattern"), CASES)
def test_literals_aligned_with_the_code_become_checked_slots(task: str, code: str, pattern: str) -> None:
    proposal = propose(task, code)
    assert proposal is not None and proposal.pattern == pattern
    preview = check(task, code, proposal.pattern, proposal.params, CodeValidator())
    assert preview.ok, preview.reason


def test_a_value_absent_from_the_code_stays_a_literal_word() -> None:
    # "3" is not in the code: it stays in the pattern, which then only answers "3 retries"
    proposal = propose("a constant MAX_RETRIES for 3 retries", '"""S."""\n\nMAX_RETRIES: int = 7\n')
    assert proposal is not None and proposal.pattern == "a constant {name:identifier} for 3 retries"


def test_nothing_to_align_gives_no_proposal() -> None:
    assert (
        propose(
            "a function that adds two numbers",
            '"""A."""\n\n\ndef add(a: int, b: int) -> int:\n    """Sum."""\n    return a + b\n',
        )
        is None
    )


def test_a_value_that_occurs_twice_in_the_code_is_refused_by_the_round_trip_check() -> None:
    task, code = (
        "the first 1 fibonacci numbers in fib",
        (
            '"""F."""\n\n\ndef fib() -> list[int]:\n'
            '    """First numbers."""\n    a, b = 0, 1\n    out = []\n    for _ in range(1):\n'
            "        out.append(a)\n        a, b = b, a + b\n    return out\n"
        ),
    )
    proposal = propose(task, code)
    assert proposal is not None
    assert not check(task, code, proposal.pattern, proposal.params, CodeValidator()).ok  # so a model is asked


def test_the_model_prompt_is_compact_and_never_carries_the_code_body() -> None:
    code = (
        CODE + '\n\ndef helper() -> str:\n    """A long docstring that costs tokens and says nothing."""\n'
        '    return "x" * 10\n'
    )
    [system, user] = build_messages(TASK, code)
    assert "reusable template" in system["content"]
    assert f"<task>\n{TASK}\n</task>" in user["content"]
    assert "MAX_RETRIES" in user["content"] and "helper" in user["content"]
    assert "long docstring" not in user["content"] and "def helper" not in user["content"]


# -- through the engine ----------------------------------------------------------------------------


async def test_deterministic_learning_makes_no_model_call(make_engine, fake: FakeProviderServer) -> None:
    fake.responder = responder()
    engine = make_engine(order='["openai"]', learning=True)
    result = await engine.generate(TASK)
    await engine.settle_learning()
    s = engine.store.call(engine.library.suggestion, result.to_dict()["suggestion_id"])
    assert s.status == "pending" and s.pattern == "a constant {name:identifier} set to {value:integer}"
    assert s.provider == "" and s.confidence > 0
    ledger = engine.store.call(lambda: [r.source for r in LedgerEntry.select()])
    assert ledger == ["llm"], "no suggestion call"
    view = engine.store.call(engine.library.accept, s.id)
    served = await engine.generate("a constant PAGE_SIZE set to 50")
    assert served.source == "learned" and "PAGE_SIZE: int = 50" in served.code and view.id


async def test_the_answer_returns_before_the_suggestion_call_is_answered(make_engine, fake: FakeProviderServer) -> None:
    release = threading.Event()
    seen = threading.Event()

    def answer(request: ProviderRequest) -> Reply:
        system = request.messages()[0][1]
        if "reusable template" in system:
            seen.set()
            assert release.wait(30), "the test never released the suggestion"
            return Reply(text=json.dumps(SUGGESTION), tokens_in=100, tokens_out=60)
        return Reply(text=f"```python\n{CODE}```", tokens_in=400, tokens_out=60)

    fake.responder = answer
    engine = make_engine(order='["openai"]', learning=True, extra="deterministic = false\n")
    try:
        result = await engine.generate(TASK)  # would hang here if the suggestion were awaited
        sid = result.to_dict()["suggestion_id"]
        assert engine.store.call(engine.library.suggestion, sid).status == "queued"
        paid = engine.store.call(lambda: LedgerEntry.get(LedgerEntry.source == "llm").cost_micros)
        assert result.cost_micros == paid
    finally:
        release.set()
    await engine.settle_learning()
    assert seen.is_set()
    s = engine.store.call(engine.library.suggestion, sid)
    assert s.status == "pending" and s.pattern == SUGGESTION["pattern"]


async def test_learning_trouble_never_reaches_the_answer(make_engine, fake: FakeProviderServer) -> None:
    def answer(request: ProviderRequest) -> Reply:
        if "reusable template" in request.messages()[0][1]:
            return Fault.server_error()
        return Reply(text=f"```python\n{CODE}```")

    fake.responder = answer
    engine = make_engine(order='["openai"]', learning=True, extra="deterministic = false\n")
    result = await engine.generate(TASK)
    assert result.source == "llm" and result.ok
    await engine.settle_learning()
    s = engine.store.call(engine.library.suggestion, result.to_dict()["suggestion_id"])
    assert s.status == "pending" and s.reason.startswith("no suggestion")
