"""The native API over real HTTP with httpx: generate (JSON and SSE events), reads, feedback."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes import Reply

POINT = "dataclass named Point with fields x: int, y: int"
PAID = "function parse_port that reads a TCP port from the string '8080'"
GOOD = '```python\ndef parse_port(text: str) -> int:\n    """Port."""\n    return int(text)\n```'


@pytest.fixture
def server(serve):
    return serve("--no-warm")


def sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_generate_returns_the_engine_result(server, fake) -> None:
    response = httpx.post(f"{server.url}/api/generate", json={"task": POINT, "project": "acme"})
    data = response.json()
    assert response.status_code == 200 and data["ok"] and data["source"] == "builtin" and "class Point" in data["code"]
    assert response.headers["x-templar-request-id"] == data["request_id"] and fake.requests == []


def test_generate_streams_engine_events_then_the_result(server, fake) -> None:
    fake.enqueue("openai", Reply(text=GOOD))
    with httpx.stream(
        "POST",
        f"{server.url}/api/generate",
        json={"task": PAID, "use_templates": False},
        headers={"accept": "text/event-stream"},
        timeout=60,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.read().decode())
    names = [name for name, _ in events]
    assert names[-1] == "result" and events[-1][1]["source"] == "llm" and events[-1][1]["ok"]
    assert {
        "lookup_result",
        "attempt_started",
        "tokens_streamed",
        "attempt_succeeded",
        "validation_done",
        "finished",
    } <= set(names)
    streamed = "".join(data["text"] for name, data in events if name == "tokens_streamed")
    assert "def parse_port" in streamed
    assert names.index("attempt_started") < names.index("attempt_succeeded") < names.index("result")


def test_an_error_in_the_event_stream_is_its_last_event(server, fake) -> None:
    with httpx.stream(
        "POST",
        f"{server.url}/api/generate",
        json={"task": PAID, "use_templates": False, "max_usd": 0.000001, "events": True},
    ) as response:
        events = sse(response.read().decode())
    assert events[-1][0] == "error" and events[-1][1]["error"] == "max_usd_exceeded" and fake.requests == []


def test_dry_run_reads_and_feedback(server, fake) -> None:
    plan = httpx.post(f"{server.url}/api/dry-run", json={"task": POINT}).json()
    assert plan["tier"] == "builtin" and plan["worst_case_usd"] == 0
    answer = httpx.post(f"{server.url}/api/generate", json={"task": POINT}).json()
    stats = httpx.get(f"{server.url}/api/stats", params={"by": "source"}).json()
    assert stats["total"]["template_hits"] == 1 and [g["source"] for g in stats["groups"]] == ["builtin"]
    budget = httpx.get(f"{server.url}/api/budget", params={"project": "acme"}).json()
    assert isinstance(budget, list) and all("level" in b for b in budget)
    assert httpx.get(f"{server.url}/api/templates").json() == []  # nothing learned yet
    wrong = httpx.post(f"{server.url}/api/feedback", json={"request_id": answer["request_id"], "reason": "x is a str"})
    assert wrong.status_code == 200 and wrong.json()["template"]
    assert fake.requests == []


@pytest.mark.parametrize(
    "method, path, kwargs, status",
    [
        ("post", "/api/generate", {"json": {"task": ""}}, 400),
        ("post", "/api/generate", {"json": {"task": "x", "critical": "yes"}}, 400),
        ("post", "/api/generate", {"json": {"task": "x", "project": "a/b"}}, 400),
        ("post", "/api/generate", {"json": ["not", "an", "object"]}, 400),
        ("get", "/api/stats", {"params": {"by": "color"}}, 400),
        ("get", "/api/stats", {"params": {"since": "yesterday-ish"}}, 400),
        ("post", "/api/feedback", {"json": {"request_id": "no-such-id", "reason": "x"}}, 404),
        ("post", "/api/feedback", {"json": {"reason": "x"}}, 400),
        ("get", "/api/generate", {}, 405),
    ],
)
def test_bad_native_requests(server, method: str, path: str, kwargs: dict, status: int) -> None:
    response = getattr(httpx, method)(f"{server.url}{path}", **kwargs)
    assert response.status_code == status
    if status != 405:
        assert response.json()["message"]


def test_health_and_readiness_without_warmup(server) -> None:
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["llm"] == "not loaded"
    assert httpx.get(f"{server.url}/readyz").status_code == 200  # --no-warm: ready at once
