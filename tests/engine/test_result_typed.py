"""GenerationResult: typed fields instead of an ``extra`` dict, the same ``--json`` shape as
before, and no import cycle between the pipeline and the service."""

from __future__ import annotations

import subprocess
import sys

import engine
from engine.critical import CriticalDecision
from engine.result import GenerationResult, NearMiss, TemplateAnswer
from engine.validation import ValidationReport
from tests.fakes import FakeProviderServer, Reply

BASE_KEYS = [
    "ok",
    "request_id",
    "source",
    "provider",
    "model",
    "attempts",
    "cost_usd",
    "saved_usd",
    "tokens_in",
    "tokens_out",
    "latency_ms",
    "code",
    "events",
]
REPORT_KEYS = ["ok", "score", "findings", "type_hint_coverage", "docstring_coverage", "checkers"]
PASSED = ValidationReport(ok=True, score=100, findings=(), type_hint_coverage=1.0, docstring_coverage=1.0)


def test_one_class_behind_every_import_path() -> None:
    from engine.service import GenerationResult as via_service

    assert via_service is GenerationResult is engine.GenerationResult
    assert {"GenerationResult", "TemplateAnswer", "NearMiss", "RequestContext"} <= set(engine.__all__)


def test_the_pipeline_no_longer_imports_the_service() -> None:
    code = "import sys, engine.pipeline; print('engine.service' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_template_hit_json_keeps_its_keys_in_order() -> None:
    hit = GenerationResult(
        request_id="r",
        source="builtin",
        code="X = 1\n",
        text="X = 1\n",
        saved_micros=1234,
        validation=PASSED,
        template=TemplateAnswer("constant", 2, "a constant {name}", {"name": "X"}, "exact"),
    )
    data = hit.to_dict()
    assert list(data) == [
        *BASE_KEYS,
        "template_id",
        "template_version",
        "pattern",
        "bindings",
        "explanation",
        "validation",
        "critical",
    ]
    assert list(data["validation"]) == REPORT_KEYS  # no repairs key on a template answer
    assert (data["template_id"], data["template_version"], data["saved_usd"]) == ("constant", 2, 0.001234)
    assert data["critical"] == {"critical": False, "source": None, "rules": []}
    assert hit.ok and hit.extra["bindings"] == {"name": "X"}


def test_llm_json_nests_repairs_and_review_and_a_rejection_is_not_ok() -> None:
    rejected = {"verdict": "reject", "issues": ["eval"], "reviewer": "gemini", "model": "m", "cost_usd": 0.0001}
    paid = GenerationResult(
        request_id="r",
        source="llm",
        code="X = 1\n",
        text="X = 1\n",
        cost_micros=2500,
        critical=CriticalDecision(True, "request"),
        validation=PASSED,
        repairs=1,
        review=rejected,
        suggestion_id=None,
        similar=(NearMiss("builtin", "t", "p", 0.5),),
    )
    data = paid.to_dict()
    assert list(data) == [*BASE_KEYS, "validation", "suggestion_id", "similar", "critical", "problem"]
    assert list(data["validation"]) == [*REPORT_KEYS, "repairs", "review"]
    assert data["validation"]["ok"] is False and paid.validation_ok is False and paid.approved is False
    assert data["similar"] == [{"source": "builtin", "template": "t", "pattern": "p", "score": 0.5}]
    assert not paid.ok and "gemini" in paid.delivery.reason
    approved = GenerationResult(
        request_id="r",
        source="llm",
        code="X = 1\n",
        text="",
        validation=PASSED,
        critical=CriticalDecision(True, "request"),
        review={**rejected, "verdict": "approve"},
    )
    assert approved.ok and approved.validation_ok and approved.to_dict()["validation"]["ok"] is True


def test_an_unvalidated_result_is_not_deliverable() -> None:
    bare = GenerationResult(request_id="r", source="cache", code="X = 1\n", text="")
    assert not bare.ok and not bare.validation_ok
    assert "validation" not in bare.to_dict() and "not validated" in bare.to_dict()["problem"]["reason"]


async def test_results_from_the_pipeline_fill_the_fields(make_engine, fake: FakeProviderServer) -> None:
    eng = make_engine(order='["openai"]')
    fake.enqueue("openai", Reply(text="```python\nMAX_RETRIES: int = 5\n```"))
    paid = await eng.generate("a constant MAX_RETRIES set to 5 and logged", use_templates=False)
    assert paid.source == "llm" and paid.validation is not None and paid.validation.ok and paid.template is None
    again = await eng.generate("a constant MAX_RETRIES set to 5 and logged", use_templates=False)
    assert again.source == "cache" and again.validation is not None and again.saved_micros > 0
    builtin = await eng.generate("enum Color with members red, green and blue")
    assert builtin.source == "builtin" and builtin.template is not None
    assert builtin.template.bindings and builtin.extra["template_id"] == builtin.template.template_id
