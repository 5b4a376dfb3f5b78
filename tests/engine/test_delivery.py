"""One rule for every surface (``engine.delivery``), here through the Python API: an answer that
is not validated, or for critical work not approved, raises ``ValidationFailed`` carrying the
result; ``raise_on_invalid=False`` returns it with ``ok`` False; it is never cached."""

from __future__ import annotations

import pytest

from engine.delivery import assess
from engine.errors import ExitCode, ValidationFailed
from engine.store.models import CacheEntry, LedgerEntry
from tests.fakes.trust import DANGEROUS, SAFE, answering, reviews

ORDER = '["openai", "gemini"]'


@pytest.mark.parametrize("name", sorted(DANGEROUS))
async def test_dangerous_code_that_survives_its_repair_raises_with_the_result(make_engine, fake, name) -> None:
    code, rule_id, line = DANGEROUS[name]
    fake.responder = answering(code)
    engine = make_engine(order=ORDER)
    with pytest.raises(ValidationFailed) as info:
        await engine.generate("a helper that does the thing")
    exc = info.value
    assert exc.exit_code == ExitCode.VALIDATION_FAILED == 5
    assert exc.result is not None and exc.result.code == code and exc.result.ok is False
    assert "fails validation after 1 repair" in str(exc)
    assert {"rule_id": rule_id, "line": line} == {k: exc.findings[0][k] for k in ("rule_id", "line")}
    assert exc.to_dict()["findings"][0]["message"]
    assert fake.count() == 2, "one answer and one repair"
    assert engine.store.call(lambda: CacheEntry.select().count()) == 0, "an invalid answer is never cached"


async def test_without_raising_the_result_says_ok_false_and_why(make_engine, fake) -> None:
    code, rule_id, _ = DANGEROUS["eval"]
    fake.responder = answering(code)
    engine = make_engine(order=ORDER)
    result = await engine.generate("a calculator", raise_on_invalid=False)
    data = result.to_dict()
    assert result.ok is False and data["ok"] is False
    assert data["problem"]["findings"][0]["rule_id"] == rule_id and data["code"] == code
    ok = await engine.generate("an adder", raise_on_invalid=False, use_cache=False)
    assert ok.ok is False  # the fake still answers eval: no answer turns valid by asking again
    fake.responder = answering(SAFE)
    fine = await engine.generate("an adder")
    assert fine.ok and fine.to_dict()["ok"] is True and "problem" not in fine.to_dict()


async def test_a_rejecting_reviewer_blocks_a_critical_answer(make_engine, fake) -> None:
    fake.responder = answering(SAFE, verdict="reject", issues=("does not check overflow",))
    engine = make_engine(order=ORDER)
    with pytest.raises(ValidationFailed) as info:
        await engine.generate("an adder", critical=True)
    exc = info.value
    assert "not approved by gemini" in str(exc) and "'reject'" in str(exc)
    assert exc.findings == ({"rule_id": "review", "line": None, "message": "does not check overflow"},)
    review = exc.result.to_dict()["validation"]["review"]
    assert review["reviewer"] == "gemini" != exc.result.provider == "openai"
    assert engine.store.call(lambda: CacheEntry.select().count()) == 0


async def test_an_inferred_critical_task_is_reviewed_without_any_flag(make_engine, fake) -> None:
    fake.responder = answering(SAFE)
    engine = make_engine(order=ORDER)
    result = await engine.generate("hash a password before storing it")
    assert [r.format for r in reviews(fake.requests)] == ["gemini"]
    data = result.to_dict()
    assert data["critical"]["source"] == "rule" and data["critical"]["rules"][0]["rule"] == "password"
    assert data["validation"]["review"]["verdict"] == "approve"
    sources = engine.store.call(lambda: [r.source for r in LedgerEntry.select().order_by(LedgerEntry.id)])
    assert sources == ["llm", "review"]


async def test_no_second_provider_means_a_critical_answer_is_not_approved(make_engine, fake) -> None:
    fake.responder = answering(SAFE)
    engine = make_engine(order='["openai"]')
    with pytest.raises(ValidationFailed, match="'unavailable'"):
        await engine.generate("an adder", critical=True)


def test_the_rule_itself() -> None:
    good = {"validation": {"ok": True, "findings": []}}
    assert assess("llm", SAFE, good).ok
    assert not assess("llm", SAFE, {}).ok and "not validated" in assess("llm", SAFE, {}).reason
    assert "no code" in assess("llm", "  \n", good).reason
    critical = {**good, "critical": {"critical": True}}
    assert "no review on record" in assess("builtin", SAFE, critical).reason
    approved = {
        "validation": {"ok": True, "findings": [], "review": {"verdict": "approve", "reviewer": "x"}},
        "critical": {"critical": True},
    }
    assert assess("cache", SAFE, approved).ok
    unclear = {"validation": {"ok": True, "findings": [], "review": {"verdict": "unclear", "issues": ["?"]}}}
    assert not assess("llm", SAFE, unclear).ok, "a review that did not approve blocks even when not critical"
    lines = assess(
        "llm",
        "x\n",
        {
            "validation": {
                "ok": False,
                "findings": [
                    {"rule_id": "B307", "line": 2, "message": "eval", "blocking": True},
                    {"rule_id": "D100", "line": 1, "message": "doc", "blocking": False},
                ],
            }
        },
    ).finding_lines()
    assert lines == ["line 2: B307 eval"]
