"""Alerts that reach people: level crossings and usage anomalies go to a webhook (a real local
HTTP receiver here) and/or a command's stdin, retried with backoff, never blocking a call."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from engine.alerts import AlertDispatcher, Target, payload, where
from engine.config import set_value
from engine.errors import ConfigError
from engine.events import BudgetLevelCrossed, UsageAnomaly
from engine.llm import adapter
from engine.llm.price_map import bundled_price
from engine.money import cost_micros
from engine.service import build_messages
from tests.fakes import Reply

TASK = "function that adds two integers"


class Receiver:
    """A webhook receiver on loopback: records JSON bodies; answers ``statuses`` in turn
    (then 200); holds each request until ``gate`` is set when ``hold`` is True."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.statuses: list[int] = []
        self.hold = False
        self.gate = threading.Event()
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.paths.append(self.path)
                receiver.bodies.append(json.loads(body))
                receiver.arrived.set()
                if receiver.hold:
                    receiver.gate.wait(30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/s3cr3t-path-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def alerts_table(**values: object) -> str:
    lines = ["", "[alerts]"]
    for key, value in values.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def worst_case(engine: Any, task: str, max_tokens: int) -> tuple[int, int]:
    settings = engine.config("default", "default").settings
    model = settings.providers["openai"].model
    prompt = adapter.count_tokens(model, build_messages(settings, task))
    price_in, price_out = bundled_price(model) or (0.0, 0.0)
    return prompt, cost_micros(prompt, max_tokens, price_in, price_out)


async def spend_to_60_percent(engine: Any, fake: Any) -> None:
    """One paid call that costs its worst case, on a project budget set so that it is 60 %."""
    prompt, each = worst_case(engine, TASK, 500)
    set_value(engine.paths, "budget.project.limit_usd", repr(int(each / 0.6) / 1e6), "default")
    fake.responder = lambda request: Reply(text="X = 1", tokens_in=prompt, tokens_out=500)
    await engine.generate(TASK, confirmed=True, max_tokens=500)


async def test_a_level_crossing_is_posted_with_level_scope_spent_and_limit(make_engine, fake, receiver) -> None:
    engine = make_engine(order='["openai"]', extra=alerts_table(webhook_url=receiver.url))
    await spend_to_60_percent(engine, fake)
    assert engine.alerts.drain(10)
    project = [b for b in receiver.bodies if b["kind"] == "level" and b["scope"] == "project"]
    assert [b["level"] for b in project] == [1], "60 % crosses L1 notice only, once"
    body = project[0]
    assert body["level_name"] == "notice" and body["key"] == "default" and body["period"]
    assert body["limit_usd"] > 0 and body["spent_usd"] == pytest.approx(0.6 * body["limit_usd"], rel=0.01)
    assert body["percent"] == pytest.approx(60, abs=0.6)
    assert engine.alerts.delivered >= 1 and engine.alerts.failed == 0


async def test_a_failing_webhook_is_retried_with_backoff_and_then_delivered(make_engine, fake, receiver) -> None:
    receiver.statuses = [503, 500]
    engine = make_engine(
        order='["openai"]', extra=alerts_table(webhook_url=receiver.url, delivery_backoff_s=0.01, delivery_retries=3)
    )
    await spend_to_60_percent(engine, fake)
    assert engine.alerts.drain(10)
    assert len(receiver.bodies) == 3, "two failures, then the same alert again"
    assert receiver.bodies[0] == receiver.bodies[2]
    assert engine.alerts.delivered == 1 and engine.alerts.failed == 0


async def test_a_hung_webhook_never_blocks_the_call(make_engine, fake, receiver) -> None:
    receiver.hold = True
    engine = make_engine(order='["openai"]', extra=alerts_table(webhook_url=receiver.url, delivery_timeout_s=60))
    # if delivery ran on the call's path, the call would wait for the gate, which opens only after it
    await asyncio.wait_for(spend_to_60_percent(engine, fake), timeout=30)
    assert receiver.arrived.wait(10), "the alert is on its way while the call has already returned"
    assert engine.alerts.delivered == 0
    receiver.gate.set()
    assert engine.alerts.drain(10)
    assert engine.alerts.delivered == 1


async def test_an_unreachable_webhook_is_logged_by_host_only_and_the_call_succeeds(
    make_engine, fake, receiver, caplog: pytest.LogCaptureFixture
) -> None:
    url = receiver.url
    receiver.__exit__()  # nothing listens there any more
    engine = make_engine(
        order='["openai"]',
        extra=alerts_table(webhook_url=url, delivery_backoff_s=0.0, delivery_retries=1, delivery_timeout_s=2),
    )
    with caplog.at_level(logging.INFO, logger="templar.alerts"):
        await spend_to_60_percent(engine, fake)
        assert engine.alerts.drain(10)
    assert engine.alerts.failed == 1 and engine.alerts.delivered == 0
    text = caplog.text
    assert "not delivered" in text and "127.0.0.1" in text
    assert "s3cr3t-path-token" not in text, "a webhook path is often a secret: never logged"


async def test_a_command_gets_the_alert_json_on_stdin(make_engine, fake, tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    script = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"
    engine = make_engine(order='["openai"]', extra=alerts_table(command=[sys.executable, "-c", script, str(out)]))
    await spend_to_60_percent(engine, fake)
    assert engine.alerts.drain(20)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(b["kind"] == "level" and b["level"] == 1 and b["scope"] == "project" for b in lines)


async def test_a_failing_command_is_logged_and_counted(make_engine, fake, caplog) -> None:
    engine = make_engine(order='["openai"]', extra=alerts_table(command=[sys.executable, "-c", "raise SystemExit(3)"]))
    with caplog.at_level(logging.WARNING, logger="templar.alerts"):
        await spend_to_60_percent(engine, fake)
        assert engine.alerts.drain(20)
    assert engine.alerts.failed >= 1 and "exited 3" in caplog.text


async def test_a_usage_anomaly_is_delivered(make_engine, fake, receiver) -> None:
    engine = make_engine(order='["openai"]', extra=alerts_table(webhook_url=receiver.url))
    prompt, _ = worst_case(engine, TASK, 100)
    fake.responder = lambda request: Reply(text="X = 1", tokens_in=prompt, tokens_out=50_000)  # far above max_tokens
    seen: list[object] = []
    await engine.generate(TASK, confirmed=True, max_tokens=100, emit=seen.append)
    assert any(isinstance(e, UsageAnomaly) for e in seen)
    assert engine.alerts.drain(10)
    anomalies = [b for b in receiver.bodies if b["kind"] == "anomaly"]
    assert len(anomalies) == 1 and anomalies[0]["provider"] == "openai"
    assert anomalies[0]["charged_usd"] <= anomalies[0]["claimed_usd"]


async def test_nothing_configured_means_nothing_delivered_and_hits_pay_nothing(make_engine, fake) -> None:
    engine = make_engine(order='["openai"]')
    await spend_to_60_percent(engine, fake)
    assert engine.alerts.drain(1)
    assert engine.alerts.delivered == engine.alerts.failed == 0
    assert engine.alerts._thread is None, "no delivery thread without a target"


@pytest.mark.parametrize(
    "key,value",
    [
        ("alerts.command", "touch /tmp/pwned"),
        ("alerts.webhook_url", "https://evil.example/collect"),
        ("alerts.webhook_url_env", "HOME"),
    ],
)
def test_a_project_cannot_choose_where_alerts_go(paths, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match="system"):
        set_value(paths, key, value, "default")


@pytest.mark.parametrize("bad", ["ftp://x", "file:///etc/passwd", "not a url", "http://"])
def test_a_webhook_url_must_be_http(make_engine, bad: str) -> None:
    with pytest.raises(ConfigError):
        engine = make_engine(extra=alerts_table(webhook_url=bad))
        engine.config("default", "default")


def test_payload_and_where_are_plain() -> None:
    level = BudgetLevelCrossed("project", "p", "2026-12", 2, "watch", 71.5, 715_000, 1_000_000)
    body = payload(level, project="p", agent="a", now=1.0)
    assert body is not None and body["spent_usd"] == 0.715 and body["limit_usd"] == 1.0
    assert payload(UsageAnomaly("openai", "m", "zero", None, 5), now=1.0)["claimed_usd"] is None  # type: ignore[index]
    assert where("https://user:pw@hooks.example.com:8443/T000/B000/XXXX?x=1") == "https://hooks.example.com:8443"


def test_drain_without_anything_queued_returns_at_once() -> None:
    assert AlertDispatcher().drain(0.01)
    assert not Target().enabled
    assert (
        Target.from_settings(type("A", (), {"webhook_url_env": "HOOK"})(), {"HOOK": "https://h/x"}).webhook_url
        == "https://h/x"
    )
