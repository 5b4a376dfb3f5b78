"""FakeProviderServer driven by real litellm over loopback HTTP (no mocks inside litellm).

Every litellm call passes ``num_retries=0, max_retries=0`` so one call is one HTTP attempt;
the tests check that on the server's request log. The expected exception tables below are
the measured behaviour of litellm 1.110.2 and are copied into provider_server's docstring.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

os.environ["LITELLM_OFFLINE_MODE"] = "true"  # also set in conftest.py; both run before import
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["HF_HUB_OFFLINE"] = "1"

import litellm
import openai
import pytest
from litellm import exceptions as lx

from .provider_server import (
    DEFAULT_MODELS,
    FORMATS,
    FakeProviderServer,
    Fault,
    Reply,
    estimate_tokens,
)

litellm.suppress_debug_info = True

pytestmark = [
    # Noise from litellm's import-time pydantic models, not from this code.
    pytest.mark.filterwarnings("ignore:.*`ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_.*' attribute on the instance:DeprecationWarning"),
]

MESSAGES = [
    {"role": "system", "content": "You write Python."},
    {"role": "user", "content": "Write a function that adds two numbers"},
]
NO_RETRY = {"num_retries": 0, "max_retries": 0}
HANG_TIMEOUT = 0.5

FAULTS: dict[str, Fault | None] = {
    "rate_limit": Fault.rate_limit(retry_after=1.5),
    "server_error": Fault.server_error(500),
    "unavailable": Fault.unavailable(),  # each provider's real 503 body
    "unavailable_plain": Fault.unavailable(message="Service temporarily unavailable"),
    "hang": Fault.hang(),
    "refused": None,  # nothing listening: server.refused_api_base(fmt)
    "malformed": Fault.malformed(),
    "unauthorized": Fault.unauthorized(),
    "bad_request": Fault.bad_request(),
    "context_window": Fault.context_window(),
    "not_found_model": Fault.not_found_model(),
    "disconnect": Fault.disconnect(),
}


@dataclass(frozen=True)
class Expect:
    cls: type[BaseException] | None  # None: no exception at all
    status: int | None = None
    stage: str = "call"  # "call": raised by `await acompletion(...)`; "iter": by `async for`
    inner: type[BaseException] | None = None  # MidStreamFallbackError.original_exception


ISE, SU, RL, TO = lx.InternalServerError, lx.ServiceUnavailableError, lx.RateLimitError, lx.Timeout
COMMON = {
    "rate_limit": Expect(RL, 429),
    "server_error": Expect(ISE, 500),
    "unavailable": Expect(SU, 503),
    "unavailable_plain": Expect(SU, 503),
    "hang": Expect(TO, 408),
    "unauthorized": Expect(lx.AuthenticationError, 401),
    "bad_request": Expect(lx.BadRequestError, 400),
    "context_window": Expect(lx.ContextWindowExceededError, 400),
    "not_found_model": Expect(lx.NotFoundError, 404),
}

# Non-streaming calls.
EXPECTED: dict[str, dict[str, Expect]] = {
    "openai": {
        **COMMON,
        "refused": Expect(ISE, 500),  # "Connection error."
        "malformed": Expect(ISE, 500),
        "disconnect": Expect(ISE, 500),  # "Connection error."
    },
    "anthropic": {
        **COMMON,
        "refused": Expect(ISE, 500),  # "Cannot connect to host ..."
        "malformed": Expect(lx.APIConnectionError, 500),  # "Unable to get json response"
        "disconnect": Expect(ISE, 500),  # "Server disconnected"
    },
    "gemini": {
        **COMMON,
        # litellm maps the text "The model is overloaded." to InternalServerError(500).
        "unavailable": Expect(ISE, 500),
        "refused": Expect(lx.APIConnectionError, 500),
        "malformed": Expect(lx.BadRequestError, 422),  # "Error converting to valid response block"
        "disconnect": Expect(lx.APIConnectionError, 500),
    },
}

MSF = lx.MidStreamFallbackError  # a subclass of ServiceUnavailableError!
# Streaming calls (stream=True, then iterate).
EXPECTED_STREAM: dict[str, dict[str, Expect]] = {
    "openai": {
        **EXPECTED["openai"],
        "malformed": Expect(MSF, 500, "iter", lx.APIConnectionError),
    },
    "anthropic": {
        **EXPECTED["anthropic"],
        "malformed": Expect(None),  # broken SSE event silently dropped: empty text, no error
    },
    "gemini": {  # the HTTP request is only sent when iteration starts
        "rate_limit": Expect(MSF, 429, "iter", RL),
        "server_error": Expect(MSF, 500, "iter", ISE),
        "unavailable": Expect(MSF, 500, "iter", ISE),
        "unavailable_plain": Expect(MSF, 503, "iter", SU),
        "hang": Expect(TO, 408, "iter"),
        "refused": Expect(MSF, 500, "iter", lx.APIConnectionError),
        "malformed": Expect(None),  # silently empty, as anthropic
        "unauthorized": Expect(lx.AuthenticationError, 401, "iter"),
        "bad_request": Expect(lx.BadRequestError, 400, "iter"),
        "context_window": Expect(lx.ContextWindowExceededError, 400, "iter"),
        "not_found_model": Expect(lx.NotFoundError, 404, "iter"),
        "disconnect": Expect(MSF, 500, "iter", lx.APIConnectionError),
    },
}


@dataclass
class Result:
    exc: BaseException | None
    stage: str | None
    text: str
    chunks: list[Any]
    elapsed: float


@pytest.fixture(autouse=True)
def _no_server_errors(provider: FakeProviderServer):
    yield
    assert provider.errors == []


async def run_call(
    server: FakeProviderServer, fmt: str, fault_name: str | None = None, *, stream: bool = False, **extra: Any
) -> Result:
    """One litellm call against `server` (or a refused port), never raising."""
    fault = FAULTS[fault_name] if fault_name else None
    if fault_name == "refused":
        kwargs = server.refused_litellm_kwargs(fmt)
    else:
        kwargs = server.litellm_kwargs(fmt)
        if fault is not None:
            server.enqueue(fmt, fault)
    timeout = HANG_TIMEOUT if fault_name == "hang" else 10.0
    stage = "call"
    chunks: list[Any] = []
    text = ""
    started = time.monotonic()
    try:
        call = {"messages": MESSAGES, "timeout": timeout, "stream": stream, **kwargs, **extra, **NO_RETRY}
        resp = await litellm.acompletion(**call)
        if stream:
            stage = "iter"
            async for chunk in resp:
                chunks.append(chunk)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            chunks = [resp]
            text = resp.choices[0].message.content or ""
    except Exception as exc:  # noqa: BLE001 - the exception is the result under test
        return Result(exc, stage, text, chunks, time.monotonic() - started)
    return Result(None, None, text, chunks, time.monotonic() - started)


# --------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_reply_text_and_usage(provider: FakeProviderServer, fmt: str) -> None:
    provider.enqueue(fmt, Reply(text="def add(a, b):\n    return a + b\n", tokens_in=123, tokens_out=45))
    r = await run_call(provider, fmt)
    assert r.exc is None
    resp = r.chunks[0]
    assert resp.choices[0].message.content == "def add(a, b):\n    return a + b\n"
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (123, 45)
    assert resp.choices[0].finish_reason == "stop"

    assert provider.count() == 1 and provider.count(fmt) == 1
    req = provider.requests[0]
    assert (req.format, req.model, req.stream, req.seq) == (fmt, DEFAULT_MODELS[fmt], False, req.seq)
    assert req.api_key == provider.api_key
    assert req.last_user_text == "Write a function that adds two numbers"
    assert "You write Python." in req.prompt_text
    assert isinstance(req.outcome, Reply) and req.outcome.tokens_in == 123
    expected_path = {
        "openai": "/v1/chat/completions",
        "anthropic": "/v1/messages",
        "gemini": f"/v1beta/models/{DEFAULT_MODELS[fmt]}:generateContent",
    }[fmt]
    assert req.path == expected_path


async def test_litellm_kwargs_shapes(provider: FakeProviderServer) -> None:
    root = provider.root_url
    assert provider.litellm_kwargs("openai", model="gpt-4o-mini") == {
        "model": "openai/gpt-4o-mini",
        "api_base": root + "/v1",
        "api_key": "fake-key",
    }
    assert provider.litellm_kwargs("anthropic")["model"] == "anthropic/claude-haiku-4-5"
    assert provider.litellm_kwargs("anthropic")["api_base"] == root  # litellm appends /v1/messages
    assert provider.litellm_kwargs("gemini")["model"] == "gemini/gemini-2.5-flash"
    assert provider.litellm_kwargs("gemini")["api_base"] == root + "/v1beta"  # litellm adds no version
    assert provider.litellm_kwargs("gemini", "gemini/gemini-2.5-pro")["model"] == "gemini/gemini-2.5-pro"
    with pytest.raises(ValueError):
        provider.api_base("cohere")


@pytest.mark.parametrize("fmt", FORMATS)
async def test_stream_chunks_in_order_with_usage(provider: FakeProviderServer, fmt: str) -> None:
    pieces = ("def add(a, b):\n", "    ", "return a + b", "\n")
    provider.enqueue(fmt, Reply(text="".join(pieces), tokens_in=321, tokens_out=54, chunks=pieces))
    r = await run_call(provider, fmt, stream=True, stream_options={"include_usage": True})
    assert r.exc is None
    deltas = [c.choices[0].delta.content for c in r.chunks if c.choices and c.choices[0].delta.content]
    assert tuple(deltas) == pieces  # one litellm chunk per wire chunk, in order
    assert r.text == "".join(pieces)
    # With stream_options include_usage, all three formats end with a chunk carrying usage.
    usage_chunks = [c for c in r.chunks if getattr(c, "usage", None) is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is r.chunks[-1]
    assert (usage_chunks[0].usage.prompt_tokens, usage_chunks[0].usage.completion_tokens) == (321, 54)
    req = provider.last()
    assert provider.count() == 1 and req.stream
    # Only the OpenAI format forwards stream_options on the wire (Anthropic/Gemini always send usage).
    if fmt == "openai":
        assert req.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_stream_usage_without_stream_options(provider: FakeProviderServer, fmt: str) -> None:
    """No chunk carries usage without stream_options. stream_chunk_builder recovers the real
    usage for Anthropic and Gemini, but for OpenAI to a custom api_base litellm does not ask
    for usage, so the builder falls back to counting tokens itself."""
    provider.enqueue(fmt, Reply(text="hello world foo", tokens_in=123, tokens_out=45))
    r = await run_call(provider, fmt, stream=True)
    assert r.exc is None and r.text == "hello world foo"
    assert all(getattr(c, "usage", None) is None for c in r.chunks)
    built = litellm.stream_chunk_builder(r.chunks, messages=MESSAGES)
    got = (built.usage.prompt_tokens, built.usage.completion_tokens)
    if fmt == "openai":
        assert "stream_options" not in provider.last().body
        assert got != (123, 45)  # litellm's own estimate
    else:
        assert got == (123, 45)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_default_responder_is_deterministic_code(provider: FakeProviderServer, fmt: str) -> None:
    first = await run_call(provider, fmt)
    second = await run_call(provider, fmt)
    assert first.exc is None and second.exc is None
    assert first.text == second.text
    assert first.text.startswith("```python\n") and first.text.endswith("```\n")
    code = first.text.removeprefix("```python\n").removesuffix("```\n")
    compile(code, "<reply>", "exec")
    assert "def write_a_function_that_adds_two" in code
    req = provider.last()
    usage = first.chunks[0].usage
    assert usage.prompt_tokens == estimate_tokens(req.prompt_text)
    assert usage.completion_tokens == estimate_tokens(first.text)


async def test_custom_responder_and_per_model_queue(provider: FakeProviderServer) -> None:
    provider.responder = lambda req: Reply(text=f"model={req.model} n={provider.count()}")
    r = await run_call(provider, "openai")
    assert r.text == "model=gpt-4o-mini n=0"  # responder runs before its request is logged

    provider.enqueue("openai", Reply(text="any model"))
    provider.enqueue("openai", Reply(text="only 4.1"), model="openai/gpt-4.1-mini")
    assert provider.pending("openai") == 2 and provider.pending(model="gpt-4.1-mini") == 1
    r1 = await run_call(provider, "openai")  # gpt-4o-mini: no per-model queue
    r2 = await run_call(provider, "openai", model="openai/gpt-4.1-mini")
    r3 = await run_call(provider, "openai", model="openai/gpt-4.1-mini")
    assert (r1.text, r2.text) == ("any model", "only 4.1")
    assert r3.text.startswith("model=gpt-4.1-mini")  # queues empty: responder again
    assert provider.count(model="gpt-4.1-mini") == 2 and provider.count("openai") == 4
    assert provider.pending() == 0

    provider.responder = None
    r4 = await run_call(provider, "openai")
    assert r4.text.startswith("```python")


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


def _check(r: Result, expect: Expect, provider: FakeProviderServer, fault_name: str) -> None:
    if expect.cls is None:
        assert r.exc is None, repr(r.exc)
        assert r.text == ""
    else:
        assert r.exc is not None, f"no exception; text={r.text!r}"
        assert type(r.exc) is expect.cls, f"{type(r.exc).__name__}: {r.exc}"
        assert isinstance(r.exc, openai.APIError)
        assert r.exc.status_code == expect.status
        assert r.stage == expect.stage
        if expect.inner is not None:
            assert type(r.exc.original_exception) is expect.inner
    # Exactly one HTTP attempt, no hidden retries; a refused connection never arrives.
    assert provider.count() == (0 if fault_name == "refused" else 1)
    if fault_name == "hang":
        assert r.elapsed < HANG_TIMEOUT + 2.0


CASES = [(fmt, name) for fmt in FORMATS for name in FAULTS]


@pytest.mark.parametrize(("fmt", "fault_name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
async def test_fault(provider: FakeProviderServer, fmt: str, fault_name: str) -> None:
    r = await run_call(provider, fmt, fault_name)
    _check(r, EXPECTED[fmt][fault_name], provider, fault_name)


@pytest.mark.parametrize(("fmt", "fault_name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
async def test_fault_streaming(provider: FakeProviderServer, fmt: str, fault_name: str) -> None:
    r = await run_call(provider, fmt, fault_name, stream=True)
    _check(r, EXPECTED_STREAM[fmt][fault_name], provider, fault_name)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("fmt", FORMATS)
async def test_rate_limit_retry_after_is_readable(provider: FakeProviderServer, fmt: str, stream: bool) -> None:
    r = await run_call(provider, fmt, "rate_limit", stream=stream)
    exc = r.exc
    assert isinstance(exc, lx.RateLimitError) or (
        isinstance(exc, lx.MidStreamFallbackError) and isinstance(exc.original_exception, lx.RateLimitError)
    )
    assert exc.status_code == 429
    # The one place that works for every format (and inside MidStreamFallbackError):
    assert exc.litellm_response_headers["retry-after"] == "1.5"
    # exc.response is the real HTTP response only for the OpenAI format; Anthropic and Gemini
    # get a header-less stub response (URL https://cloud.google.com/vertex-ai/...).
    if fmt == "openai":
        assert exc.response.headers["retry-after"] == "1.5"
    else:
        assert "retry-after" not in exc.response.headers
    if fmt == "gemini":  # Gemini also states it in the body (google.rpc.RetryInfo)
        assert '"retryDelay": "1.5s"' in str(exc)


async def test_context_window_carries_provider_text(provider: FakeProviderServer) -> None:
    for fmt, needle in [
        ("openai", "maximum context length"),
        ("anthropic", "prompt is too long"),
        ("gemini", "exceeds the maximum number of tokens"),
    ]:
        provider.reset()
        r = await run_call(provider, fmt, "context_window")
        assert isinstance(r.exc, lx.ContextWindowExceededError) and isinstance(r.exc, lx.BadRequestError)
        assert needle in str(r.exc)


# --------------------------------------------------------------------------------------------
# Server mechanics (raw HTTP where litellm adds nothing)
# --------------------------------------------------------------------------------------------


def _post(server: FakeProviderServer, path: str, body: Any, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


OPENAI_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}


def test_fault_rate_is_deterministic(provider: FakeProviderServer) -> None:
    def run(seed: int) -> list[int]:
        provider.reset()
        provider.fault_rate(0.3, kinds=["server_error", "rate_limit", Fault.unavailable()], seed=seed)
        return [_post(provider, "/v1/chat/completions", OPENAI_BODY)[0] for _ in range(200)]

    a, b, c = run(7), run(7), run(8)
    assert a == b and a != c
    faults = sum(s != 200 for s in a)
    assert 30 <= faults <= 90 and {429, 500, 503} == {s for s in a if s != 200}
    provider.fault_rate(0)
    assert _post(provider, "/v1/chat/completions", OPENAI_BODY)[0] == 200


def test_log_records_everything(provider: FakeProviderServer) -> None:
    provider.enqueue("openai", Fault.malformed())
    broken = b'{"id": "malformed", "choices": [{"message": {"content": "trunc'
    assert _post(provider, "/v1/chat/completions", OPENAI_BODY) == (200, broken)
    status, _ = _post(provider, "/nowhere", {"a": 1})
    assert status == 404
    log = provider.requests
    assert [r.format for r in log] == ["openai", "unknown"]
    assert log[1].seq == log[0].seq + 1 and log[1].body == {"a": 1}
    assert log[0].outcome == Fault.malformed()
    with pytest.raises(AttributeError):
        log[0].seq = 99  # type: ignore[misc]
    first_seq = log[0].seq
    provider.reset()
    assert provider.requests == [] and provider.count() == 0
    _post(provider, "/v1/chat/completions", OPENAI_BODY)
    assert provider.requests[0].seq > first_seq  # sequence numbers survive reset()


async def test_concurrent_requests_are_all_logged(provider: FakeProviderServer) -> None:
    calls = [run_call(provider, FORMATS[i % 3]) for i in range(30)]
    results = await asyncio.gather(*calls)
    assert all(r.exc is None for r in results)
    log = provider.requests
    assert len(log) == 30 and provider.count("gemini") == 10
    seqs = [r.seq for r in log]
    assert seqs == sorted(seqs) and len(set(seqs)) == 30


async def test_stop_returns_promptly_while_hanging() -> None:
    server = FakeProviderServer().start()
    server.enqueue("openai", Fault.hang(seconds=60))
    task = asyncio.create_task(run_call(server, "openai", timeout=20.0))
    assert await asyncio.to_thread(server.wait_for_requests, 1, 10.0)
    started = time.monotonic()
    await asyncio.to_thread(server.stop)
    assert time.monotonic() - started < 2.0
    r = await asyncio.wait_for(task, 10.0)
    # The client sees the connection drop, not its 20 s timeout.
    assert isinstance(r.exc, lx.InternalServerError) and r.elapsed < 5.0
    assert not server.running


def test_hang_is_released_when_the_client_leaves() -> None:
    with FakeProviderServer() as server:
        server.enqueue("anthropic", Fault.hang(seconds=60))
        sock = socket.create_connection((server.host, server.port), timeout=5)
        body = json.dumps({"model": "m", "messages": []}).encode()
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        assert server.wait_for_requests(1, 5.0)
        assert server.open_connections == 1
        sock.close()
        started = time.monotonic()
        assert server.wait_for_connections(0, 5.0)  # handler thread gave up the hang
        assert time.monotonic() - started < 1.0
        assert server.last().outcome == Fault.hang(seconds=60)


def test_quiet_and_context_manager(capfd: pytest.CaptureFixture[str]) -> None:
    with FakeProviderServer(hang_limit=0.2) as server:
        server.enqueue("openai", Fault.disconnect(), Fault.server_error(), Fault.hang())
        with pytest.raises(http.client.RemoteDisconnected):
            _post(server, "/v1/chat/completions", OPENAI_BODY)
        assert _post(server, "/v1/chat/completions", OPENAI_BODY)[0] == 500
        with pytest.raises(http.client.RemoteDisconnected):  # hang_limit ends the hang
            _post(server, "/v1/chat/completions", OPENAI_BODY)
        assert _post(server, "/v1/chat/completions", "not json")[0] == 200
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.putrequest("GET", "/garbage")
        conn.endheaders()
        assert conn.getresponse().status == 404
        conn.close()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_outcome_validation() -> None:
    with pytest.raises(ValueError):
        Reply(text="abc", chunks=("a", "b"))
    server = FakeProviderServer()
    with pytest.raises(TypeError):
        server.enqueue("openai", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.fault_rate(1.5)
    with pytest.raises(RuntimeError):
        _ = server.port


def render_fault_table(expected: dict[str, dict[str, Expect]]) -> str:
    """The table as it appears in provider_server's docstring (kept in sync by a test)."""

    def cell(e: Expect) -> str:
        if e.cls is None:
            return "no error, empty text"
        text = f"{e.cls.__name__} {e.status}"
        if e.inner is not None:
            text = f"{e.cls.__name__} {e.status} ({e.inner.__name__})"
        return text + (" @iter" if e.stage == "iter" else "")

    rows = [("fault", *FORMATS)] + [(name, *(cell(expected[f][name]) for f in FORMATS)) for name in FAULTS]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(rows[0], widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows[1:]]
    lines.append(rule)
    return "\n".join(lines)


def test_docstring_tables_match_measurements() -> None:
    from . import provider_server

    doc = provider_server.__doc__ or ""
    assert render_fault_table(EXPECTED) in doc
    assert render_fault_table(EXPECTED_STREAM) in doc
