"""The OpenAI-compatible endpoint, driven by the real ``openai`` SDK over real HTTP."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes import Reply

POINT = "dataclass named Point with fields x: int, y: int"  # a built-in template answers it
PAID = "function parse_port that reads a TCP port from the string '8080'"
GOOD = '```python\ndef parse_port(text: str) -> int:\n    """Port."""\n    return int(text)\n```'


@pytest.fixture
def server(serve):
    return serve("--no-warm")


def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)


def test_a_template_hit_through_the_sdk_says_source_and_savings(server, fake) -> None:
    raw = client(server).chat.completions.with_raw_response.create(
        model="templar/acme/backend",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": POINT}],
    )
    completion = raw.parse()
    assert raw.headers["x-templar-source"] == "builtin" and float(raw.headers["x-templar-cost-usd"]) == 0
    assert float(raw.headers["x-templar-saved-usd"]) > 0
    text = completion.choices[0].message.content
    assert "class Point" in text and text.startswith("```python")
    extra = completion.model_extra["templar"]
    assert extra["source"] == "builtin" and extra["ok"] and extra["request_id"] == raw.headers["x-templar-request-id"]
    assert fake.requests == []


def test_a_paid_answer_streams_through_the_sdk(server, fake) -> None:
    fake.enqueue("openai", Reply(text=GOOD, tokens_in=40, tokens_out=20))
    stream = client(server).chat.completions.create(
        model="templar/acme",
        messages=[{"role": "user", "content": PAID}],
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"templar": {"use_templates": False}},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "def parse_port" in text
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert final and final[0].model_extra["templar"]["source"] == "llm"
    assert final[0].model_extra["templar"]["cost_usd"] > 0
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20
    assert len(fake.requests) == 1 and fake.requests[0].body["messages"][-1]["content"].count(PAID) == 1


def test_the_project_comes_from_the_model_route_or_headers(server, fake) -> None:
    fake.enqueue("openai", Reply(text=GOOD))
    fake.enqueue("openai", Reply(text=GOOD))
    sdk = client(server)
    sdk.chat.completions.create(
        model="templar/acme/backend",
        messages=[{"role": "user", "content": PAID}],
        extra_body={"templar": {"use_templates": False, "use_cache": False}},
    )
    sdk.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": PAID}],
        extra_headers={"x-templar-project": "beta", "x-templar-agent": "ops"},
        extra_body={"templar": {"use_templates": False, "use_cache": False}},
    )
    stats = httpx.get(f"{server.url}/api/stats", params={"by": "project"}).json()
    assert {row["project"] for row in stats["groups"]} == {"acme", "beta"}


def test_an_answer_failing_validation_is_a_422_and_never_handed_over(server, fake) -> None:
    bad = "```python\ndef parse_port(text: str) -> int:\n    return int(text\n```"
    fake.responder = lambda request: Reply(text=bad)
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client(server).chat.completions.create(
            model="templar",
            messages=[{"role": "user", "content": PAID}],
            extra_body={"templar": {"use_templates": False}},
        )
    error = caught.value.body
    assert error["type"] == "validation_failed" and "def parse_port" not in str(error)


def test_max_usd_refuses_with_402_and_calls_nothing(server, fake) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client(server).chat.completions.create(
            model="templar",
            messages=[{"role": "user", "content": PAID}],
            extra_body={"templar": {"use_templates": False, "max_usd": 0.000001}},
        )
    assert caught.value.status_code == 402 and caught.value.body["type"] == "max_usd_exceeded"
    assert fake.requests == []


def test_dry_run_through_the_openai_endpoint(server, fake) -> None:
    data = httpx.post(
        f"{server.url}/v1/chat/completions",
        json={
            "model": "templar",
            "messages": [{"role": "user", "content": PAID}],
            "templar": {"dry_run": True, "use_templates": False},
        },
    ).json()
    assert data["templar"]["tier"] == "llm" and data["templar"]["provider"] == "openai"
    assert data["templar"]["worst_case_usd"] > 0 and fake.requests == []


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"model": "templar", "messages": []}, "messages"),
        ({"model": "templar", "messages": [{"role": "system", "content": "x"}]}, "user message"),
        ({"model": "templar/a/b/c", "messages": [{"role": "user", "content": "x"}]}, "templar/PROJECT"),
        ({"model": "templar/../etc", "messages": [{"role": "user", "content": "x"}]}, "invalid project"),
        ({"model": "templar", "messages": [{"role": "user", "content": "x"}], "n": 3}, "n must be 1"),
        ({"model": "templar", "messages": [{"role": "user", "content": "  "}]}, "empty"),
        ({"model": "templar", "messages": [{"role": "user", "content": "x"}], "templar": {"max_usd": -1}}, "max_usd"),
        ({"model": "templar", "messages": [{"role": "user", "content": "x"}], "max_tokens": "many"}, "max_tokens"),
    ],
)
def test_bad_requests_are_400_with_the_field_named(server, body, fragment: str) -> None:
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert response.status_code == 400 and fragment in response.json()["error"]["message"]


def test_a_body_that_is_not_json_or_too_large(server) -> None:
    assert httpx.post(f"{server.url}/v1/chat/completions", content=b"{nope").status_code == 400
    big = b'{"messages": "' + b"x" * 1_100_000 + b'"}'
    assert httpx.post(f"{server.url}/v1/chat/completions", content=big).status_code == 413


def test_models_lists_the_routes(server) -> None:
    ids = [m.id for m in client(server).models.list()]
    assert "templar" in ids
