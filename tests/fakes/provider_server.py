"""A loopback fake LLM provider: OpenAI, Anthropic and Gemini wire formats over real HTTP.

Tests point litellm at it through ``api_base`` (see :meth:`FakeProviderServer.litellm_kwargs`)
and script what each request gets back: a :class:`Reply` (text + usage) or a :class:`Fault`
(HTTP error, hang, broken body, dropped connection). Every request that reaches the server is
logged (:attr:`FakeProviderServer.requests`), so tests can assert that exactly one HTTP attempt
was made.

    with FakeProviderServer() as server:
        server.enqueue("anthropic", Reply(text="hi", tokens_in=12, tokens_out=3))
        server.enqueue("anthropic", Fault.rate_limit(retry_after=1.5))
        await litellm.acompletion(messages=..., num_retries=0, max_retries=0,
                                  **server.litellm_kwargs("anthropic"))

api_base per format (what litellm appends, measured with litellm 1.110.2)
--------------------------------------------------------------------------
=========  ==========================  =================================================
format     api_base given to litellm   request litellm sends
=========  ==========================  =================================================
openai     ``{root}/v1``               ``POST /v1/chat/completions`` (Bearer key)
anthropic  ``{root}`` (no /v1)         ``POST /v1/messages`` (``x-api-key``)
gemini     ``{root}/v1beta``           ``POST /v1beta/models/M:generateContent`` and
                                       ``.../M:streamGenerateContent?alt=sse``
                                       (``x-goog-api-key``; litellm adds no version segment,
                                       it only appends ``models/M:action`` to api_base)
=========  ==========================  =================================================

litellm appends ``/v1/messages`` to an Anthropic api_base whatever it ends with (a base ending
in ``/v1`` gives ``/v1/v1/messages``), except that a base already ending in ``/v1/messages`` is
used as is. The server routes on the path suffix (``/chat/completions``, ``/messages``,
``/models/M:generateContent``), so such variants still reach it.

Fault -> litellm exception class and ``status_code`` (litellm 1.110.2, ``num_retries=0, max_retries=0``)
-------------------------------------------------------------------------------------------------------
Measured by tests/fakes/test_provider_server.py; every row made exactly one HTTP request
(zero for ``refused``). ``status_code`` is the attribute of the raised exception.

Non-streaming (``await litellm.acompletion(...)``):

=================  ==============================  ==============================  ==============================
fault              openai                          anthropic                       gemini
=================  ==============================  ==============================  ==============================
rate_limit         RateLimitError 429              RateLimitError 429              RateLimitError 429
server_error       InternalServerError 500         InternalServerError 500         InternalServerError 500
unavailable        ServiceUnavailableError 503     ServiceUnavailableError 503     InternalServerError 500
unavailable_plain  ServiceUnavailableError 503     ServiceUnavailableError 503     ServiceUnavailableError 503
hang               Timeout 408                     Timeout 408                     Timeout 408
refused            InternalServerError 500         InternalServerError 500         APIConnectionError 500
malformed          InternalServerError 500         APIConnectionError 500          BadRequestError 422
unauthorized       AuthenticationError 401         AuthenticationError 401         AuthenticationError 401
bad_request        BadRequestError 400             BadRequestError 400             BadRequestError 400
context_window     ContextWindowExceededError 400  ContextWindowExceededError 400  ContextWindowExceededError 400
not_found_model    NotFoundError 404               NotFoundError 404               NotFoundError 404
disconnect         InternalServerError 500         InternalServerError 500         APIConnectionError 500
=================  ==============================  ==============================  ==============================

Streaming (``stream=True`` then ``async for``). ``@iter``: raised by the first ``async for``
step, not by ``await acompletion`` -- litellm's Gemini stream sends its HTTP request lazily.
``X (Y)``: a ``MidStreamFallbackError`` whose ``original_exception`` is a ``Y``.

=================  =====================================================  ==============================  ==========================================================
fault              openai                                                 anthropic                       gemini
=================  =====================================================  ==============================  ==========================================================
rate_limit         RateLimitError 429                                     RateLimitError 429              MidStreamFallbackError 429 (RateLimitError) @iter
server_error       InternalServerError 500                                InternalServerError 500         MidStreamFallbackError 500 (InternalServerError) @iter
unavailable        ServiceUnavailableError 503                            ServiceUnavailableError 503     MidStreamFallbackError 500 (InternalServerError) @iter
unavailable_plain  ServiceUnavailableError 503                            ServiceUnavailableError 503     MidStreamFallbackError 503 (ServiceUnavailableError) @iter
hang               Timeout 408                                            Timeout 408                     Timeout 408 @iter
refused            InternalServerError 500                                InternalServerError 500         MidStreamFallbackError 500 (APIConnectionError) @iter
malformed          MidStreamFallbackError 500 (APIConnectionError) @iter  no error, empty text            no error, empty text
unauthorized       AuthenticationError 401                                AuthenticationError 401         AuthenticationError 401 @iter
bad_request        BadRequestError 400                                    BadRequestError 400             BadRequestError 400 @iter
context_window     ContextWindowExceededError 400                         ContextWindowExceededError 400  ContextWindowExceededError 400 @iter
not_found_model    NotFoundError 404                                      NotFoundError 404               NotFoundError 404 @iter
disconnect         InternalServerError 500                                InternalServerError 500         MidStreamFallbackError 500 (APIConnectionError) @iter
=================  =====================================================  ==============================  ==========================================================

Rows: ``rate_limit`` 429 + ``Retry-After: 1.5``; ``server_error`` 500; ``unavailable`` 503 with
each provider's real body (Gemini: "The model is overloaded. Please try again later.");
``unavailable_plain`` 503 with "Service temporarily unavailable"; ``hang`` no answer, client
``timeout=0.5``; ``refused`` nothing listening; ``malformed`` 200 + truncated JSON;
``unauthorized`` 401; ``bad_request`` 400; ``context_window`` 400 with the real
context-length text; ``not_found_model`` 404; ``disconnect`` request read, socket closed.

Notes for an error classifier:

* Every class is ``litellm.exceptions.X`` and derives from ``openai.APIError``.
  ``ContextWindowExceededError`` subclasses litellm's ``BadRequestError``;
  ``ServiceUnavailableError`` does NOT subclass ``InternalServerError``;
  ``MidStreamFallbackError`` subclasses ``ServiceUnavailableError`` (so check it first and
  classify by ``original_exception`` / ``status_code``, which carries the inner status);
  ``Timeout`` subclasses ``openai.APITimeoutError`` -> ``openai.APIConnectionError``.
* ``status_code`` 500 hides transport failures: refused / disconnected / malformed arrive as
  ``InternalServerError`` or ``APIConnectionError`` with 500 (Gemini malformed: 422).
* Gemini's real 503 text is mapped to ``InternalServerError(500)``, not 503.
* A malformed SSE event is dropped silently by the Anthropic and Gemini stream parsers: the
  call "succeeds" with empty text. Treat an empty completion as a failure.
* ``Retry-After``: read ``exc.litellm_response_headers["retry-after"]`` (an ``httpx.Headers``;
  works for all three formats and on ``MidStreamFallbackError``). ``exc.response.headers``
  has it for the OpenAI format only; Anthropic/Gemini get a header-less stub response.
  ``exc.headers`` is ``None``. Gemini also puts ``retryDelay`` in the error body.
* Streaming usage: with ``stream_options={"include_usage": True}`` all three formats end with
  one chunk whose ``usage`` is the provider's. Without it no chunk has ``usage``;
  ``litellm.stream_chunk_builder`` still recovers the real usage for Anthropic and Gemini, but
  for the OpenAI format to a custom ``api_base`` litellm does not request usage, so the
  builder falls back to its own token count. Always pass ``stream_options`` for OpenAI.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import random
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

__all__ = [
    "DEFAULT_MODELS",
    "FORMATS",
    "FakeProviderServer",
    "Fault",
    "ProviderRequest",
    "RecordedRequest",
    "Reply",
    "default_responder",
    "estimate_tokens",
]

Format = Literal["openai", "anthropic", "gemini"]
FORMATS: tuple[str, ...] = ("openai", "anthropic", "gemini")

#: Model used by :meth:`FakeProviderServer.litellm_kwargs` when none is given (all are in
#: litellm's bundled price map, so cost calculation works offline).
DEFAULT_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
}

_API_BASE_SUFFIX: dict[str, str] = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}

_GEMINI_PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<action>generateContent|streamGenerateContent)$")


def estimate_tokens(text: str) -> int:
    """Deterministic token estimate used for default usage: ceil(len(text) / 4), at least 1."""
    return max(1, (len(text) + 3) // 4)


# --------------------------------------------------------------------------------------------
# Scripted outcomes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A successful completion.

    ``tokens_in`` / ``tokens_out`` default to :func:`estimate_tokens` of the prompt text and of
    ``text``. ``chunks`` fixes how a streamed reply is split (their concatenation must be
    ``text``); by default it is split into words with their trailing whitespace.
    ``finish_reason`` is ``"stop"`` or ``"length"`` (mapped to each format's spelling).
    ``delay`` sleeps before answering and ``chunk_delay`` between stream chunks; both are cut
    short by :meth:`FakeProviderServer.stop`. ``drip`` sends the response body one byte at a
    time, ``drip`` seconds apart (each byte arrives well within any read timeout, so only a
    wall deadline ends the attempt); it stops when the client goes away or on ``stop``.
    ``hold`` (a ``threading.Event``) pauses a stream before its SSE event number ``hold_at``
    until the test sets it (or the server stops): a test can look at a half-streamed answer
    without timing anything. Gemini sends one event per chunk (``hold_at=2``: two chunks out);
    OpenAI and Anthropic send one and two opening events first.
    """

    text: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    chunks: tuple[str, ...] | None = None
    finish_reason: Literal["stop", "length"] = "stop"
    delay: float = 0.0
    chunk_delay: float = 0.0
    drip: float = 0.0
    hold: threading.Event | None = field(default=None, compare=False)
    hold_at: int = 0

    def __post_init__(self) -> None:
        if self.chunks is not None:
            object.__setattr__(self, "chunks", tuple(self.chunks))
            if "".join(self.chunks) != self.text:
                raise ValueError("Reply.chunks must concatenate to Reply.text")

    @property
    def kind(self) -> str:
        return "reply"

    def stream_pieces(self) -> tuple[str, ...]:
        if self.chunks is not None:
            return self.chunks
        return tuple(re.findall(r"\S+\s*|\s+", self.text)) or ("",)


FaultKind = Literal[
    "rate_limit",
    "server_error",
    "unavailable",
    "hang",
    "malformed",
    "unauthorized",
    "bad_request",
    "context_window",
    "not_found_model",
    "disconnect",
]


@dataclass(frozen=True)
class Fault:
    """A scripted failure. Build with the class methods, e.g. ``Fault.rate_limit(1.5)``."""

    kind: FaultKind
    status: int = 0
    retry_after: float | None = None
    seconds: float = 30.0
    message: str | None = None

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0) -> Fault:
        """429 with a ``Retry-After`` header (seconds; omitted when ``None``)."""
        return cls("rate_limit", 429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, message: str | None = None) -> Fault:
        return cls("server_error", status, message=message)

    @classmethod
    def unavailable(cls, retry_after: float | None = None, message: str | None = None) -> Fault:
        """503 (``Retry-After`` header only when given). The default Gemini body says "The model
        is overloaded.", which litellm maps to InternalServerError(500), not 503; pass another
        ``message`` to get ServiceUnavailableError(503) from Gemini."""
        return cls("unavailable", 503, retry_after=retry_after, message=message)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Accept the request and send nothing; the connection is closed after ``seconds``
        (capped by the server's ``hang_limit``), on :meth:`FakeProviderServer.stop`, or as soon
        as the client goes away."""
        return cls("hang", 0, seconds=seconds)

    @classmethod
    def malformed(cls) -> Fault:
        """200 with a truncated JSON body (a truncated SSE event when streaming)."""
        return cls("malformed", 200)

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls("unauthorized", 401)

    @classmethod
    def bad_request(cls, message: str | None = None) -> Fault:
        return cls("bad_request", 400, message=message)

    @classmethod
    def context_window(cls) -> Fault:
        """400 with the provider's real context-length-exceeded error body."""
        return cls("context_window", 400)

    @classmethod
    def not_found_model(cls) -> Fault:
        return cls("not_found_model", 404)

    @classmethod
    def disconnect(cls) -> Fault:
        """Read the request, then close the connection without any response."""
        return cls("disconnect", 0)


Outcome = Reply | Fault

_FAULT_FACTORIES: dict[str, Callable[[], Fault]] = {
    "rate_limit": Fault.rate_limit,
    "server_error": Fault.server_error,
    "unavailable": Fault.unavailable,
    "hang": Fault.hang,
    "malformed": Fault.malformed,
    "unauthorized": Fault.unauthorized,
    "bad_request": Fault.bad_request,
    "context_window": Fault.context_window,
    "not_found_model": Fault.not_found_model,
    "disconnect": Fault.disconnect,
}


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    """Text of an OpenAI/Anthropic message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return ""


@dataclass(frozen=True)
class ProviderRequest:
    """One HTTP request as it reached the server (what a responder is given)."""

    seq: int
    format: str  # "openai" | "anthropic" | "gemini" | "unknown"
    model: str | None
    method: str
    path: str  # path with query string
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None when the body was not JSON
    stream: bool
    received_at: float  # time.monotonic()

    def messages(self) -> list[tuple[str, str]]:
        """``(role, text)`` pairs of the prompt, system first, in the format's own order."""
        body = self.body if isinstance(self.body, Mapping) else {}
        out: list[tuple[str, str]] = []
        if self.format == "openai":
            for msg in body.get("messages") or []:
                if isinstance(msg, Mapping):
                    out.append((str(msg.get("role", "")), _text_of(msg.get("content"))))
        elif self.format == "anthropic":
            system = _text_of(body.get("system"))
            if system:
                out.append(("system", system))
            for msg in body.get("messages") or []:
                if isinstance(msg, Mapping):
                    out.append((str(msg.get("role", "")), _text_of(msg.get("content"))))
        elif self.format == "gemini":
            system = body.get("systemInstruction") or body.get("system_instruction")
            if isinstance(system, Mapping):
                out.append(("system", _text_of(system.get("parts"))))
            for msg in body.get("contents") or []:
                if isinstance(msg, Mapping):
                    out.append((str(msg.get("role", "user")), _text_of(msg.get("parts"))))
        return out

    @property
    def prompt_text(self) -> str:
        return "\n".join(text for _, text in self.messages())

    @property
    def last_user_text(self) -> str:
        for role, text in reversed(self.messages()):
            if role == "user":
                return text
        return ""

    @property
    def api_key(self) -> str | None:
        """The credential as sent in this format's header."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        if "x-goog-api-key" in self.headers:
            return self.headers["x-goog-api-key"]
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class RecordedRequest(ProviderRequest):
    """A logged request plus the outcome that was served for it."""

    outcome: Outcome | None = None


def default_responder(request: ProviderRequest) -> Reply:
    """Built-in responder: a fenced python block derived from the last user message.

    Deterministic; usage defaults to estimate_tokens(prompt) / estimate_tokens(text)."""
    prompt = request.last_user_text
    summary = " ".join(prompt.split())[:100]
    words = re.findall(r"[a-z0-9]+", prompt.lower())[:6]
    name = "_".join(words) or "generated"
    if name[0].isdigit():
        name = "f_" + name
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8]
    text = f"```python\n# Task: {summary}\ndef {name}():\n    return {digest!r}\n```\n"
    return Reply(text=text)


# --------------------------------------------------------------------------------------------
# Wire formats
# --------------------------------------------------------------------------------------------

_FINISH = {
    "openai": {"stop": "stop", "length": "length"},
    "anthropic": {"stop": "end_turn", "length": "max_tokens"},
    "gemini": {"stop": "STOP", "length": "MAX_TOKENS"},
}


def _usage(request: ProviderRequest, reply: Reply) -> tuple[int, int]:
    tin = reply.tokens_in if reply.tokens_in is not None else estimate_tokens(request.prompt_text)
    tout = reply.tokens_out if reply.tokens_out is not None else estimate_tokens(reply.text)
    return tin, tout


def _reply_body(request: ProviderRequest, reply: Reply) -> dict[str, Any]:
    tin, tout = _usage(request, reply)
    model = request.model or ""
    rid = f"fake-{request.seq}"
    finish = _FINISH[request.format][reply.finish_reason]
    if request.format == "openai":
        return {
            "id": f"chatcmpl-{rid}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
        }
    if request.format == "anthropic":
        return {
            "id": f"msg_{rid}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": finish,
            "stop_sequence": None,
            "usage": {"input_tokens": tin, "output_tokens": tout},
        }
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": reply.text}]}, "finishReason": finish, "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": tin, "candidatesTokenCount": tout, "totalTokenCount": tin + tout},
        "modelVersion": model,
        "responseId": rid,
    }


def _stream_events(request: ProviderRequest, reply: Reply) -> list[bytes]:
    """SSE events (each a complete ``...\\n\\n`` block) for a streamed reply."""
    tin, tout = _usage(request, reply)
    model = request.model or ""
    rid = f"fake-{request.seq}"
    finish = _FINISH[request.format][reply.finish_reason]
    pieces = reply.stream_pieces()
    body = request.body if isinstance(request.body, Mapping) else {}

    def data(obj: Any) -> bytes:
        return b"data: " + json.dumps(obj).encode("utf-8") + b"\n\n"

    def event(name: str, obj: Any) -> bytes:
        return f"event: {name}\n".encode() + data(obj)

    if request.format == "openai":
        opts = body.get("stream_options")
        include_usage = isinstance(opts, Mapping) and bool(opts.get("include_usage"))
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
            obj: dict[str, Any] = {
                "id": f"chatcmpl-{rid}",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                obj["usage"] = None
            return data(obj)

        out = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
        out += [chunk({"content": piece}, None) for piece in pieces if piece]
        out.append(chunk({}, finish))
        if include_usage:
            out.append(
                data(
                    {
                        "id": f"chatcmpl-{rid}",
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "system_fingerprint": "fp_fake",
                        "choices": [],
                        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
                    }
                )
            )
        out.append(b"data: [DONE]\n\n")
        return out

    if request.format == "anthropic":
        out = [
            event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_{rid}",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": tin, "output_tokens": 1},
                    },
                },
            ),
            event(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        out += [
            event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
            for piece in pieces
            if piece
        ]
        out.append(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        out.append(
            event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": finish, "stop_sequence": None},
                    "usage": {"output_tokens": tout},
                },
            )
        )
        out.append(event("message_stop", {"type": "message_stop"}))
        return out

    # gemini: every chunk is a partial GenerateContentResponse; the last carries
    # finishReason and usageMetadata.
    out = []
    for i, piece in enumerate(pieces):
        cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
        obj: dict[str, Any] = {"candidates": [cand], "modelVersion": model, "responseId": rid}
        if i == len(pieces) - 1:
            cand["finishReason"] = finish
            obj["usageMetadata"] = {
                "promptTokenCount": tin,
                "candidatesTokenCount": tout,
                "totalTokenCount": tin + tout,
            }
        out.append(data(obj))
    return out


_MALFORMED_JSON = b'{"id": "malformed", "choices": [{"message": {"content": "trunc'


# Error bodies as the real providers send them: kind -> (error type / status, message).
_ANTHROPIC_ERRORS: dict[str, tuple[str, str]] = {
    "rate_limit": (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization. Please try again later.",
    ),
    "server_error": ("api_error", "Internal server error"),
    "unavailable": ("api_error", "Service unavailable"),
    "unauthorized": ("authentication_error", "invalid x-api-key"),
    "bad_request": ("invalid_request_error", 'messages: roles must alternate between "user" and "assistant"'),
    "context_window": ("invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum"),
    "not_found_model": ("not_found_error", "model: {model}"),
}
_GEMINI_ERRORS: dict[str, tuple[str, str]] = {
    "rate_limit": ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    "server_error": (
        "INTERNAL",
        (
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting"
        ),
    ),
    "unavailable": ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    "unauthorized": ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    "bad_request": ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    "context_window": (
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    ),
    "not_found_model": (
        "NOT_FOUND",
        (
            "models/{model} is not found for API version v1beta, or is not supported for generateContent. "
            "Call ListModels to see the list of available models and their supported methods."
        ),
    ),
}
# kind -> (type, code, param, message)
_OPENAI_ERRORS: dict[str, tuple[str, str | None, str | None, str]] = {
    "rate_limit": (
        "requests",
        "rate_limit_exceeded",
        None,
        (
            "Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, Requested 1. "
            "Please try again in {retry_after}s."
        ),
    ),
    "server_error": (
        "server_error",
        None,
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "unavailable": ("server_error", None, None, "The engine is currently overloaded, please try again later."),
    "unauthorized": (
        "invalid_request_error",
        "invalid_api_key",
        None,
        "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    "bad_request": (
        "invalid_request_error",
        "invalid_value",
        "temperature",
        "Invalid value for 'temperature': expected a number between 0 and 2.",
    ),
    "context_window": (
        "invalid_request_error",
        "context_length_exceeded",
        "messages",
        (
            "This model's maximum context length is 128000 tokens. However, your messages resulted in "
            "200000 tokens. Please reduce the length of the messages."
        ),
    ),
    "not_found_model": (
        "invalid_request_error",
        "model_not_found",
        None,
        "The model `{model}` does not exist or you do not have access to it.",
    ),
}


def _error_body(fmt: str, fault: Fault, model: str | None) -> dict[str, Any]:
    """The provider's own error JSON for an HTTP-status fault."""
    values = {"model": model or "unknown-model", "retry_after": f"{fault.retry_after or 1:g}"}
    if fmt == "anthropic":
        etype, msg = _ANTHROPIC_ERRORS.get(fault.kind, ("api_error", "error"))
        return {
            "type": "error",
            "error": {"type": etype, "message": fault.message or msg.format(**values)},
            "request_id": "req_fake",
        }
    if fmt == "gemini":
        gstatus, msg = _GEMINI_ERRORS.get(fault.kind, ("INTERNAL", "error"))
        err: dict[str, Any] = {
            "code": fault.status,
            "message": fault.message or msg.format(**values),
            "status": gstatus,
        }
        if fault.kind == "rate_limit" and fault.retry_after is not None:
            err["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{fault.retry_after:g}s"}
            ]
        return {"error": err}
    # openai (also used for unknown routes)
    etype, code, param, msg = _OPENAI_ERRORS.get(fault.kind, ("server_error", None, None, "error"))
    return {"error": {"message": fault.message or msg.format(**values), "type": etype, "param": param, "code": code}}


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # 100+ clients connect at once in load tests; the default is 5
    owner: FakeProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: no traceback
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):  # a client leaving is normal
            self.owner._note_error(exc)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each reply waits ~40 ms for the client's delayed ACK
    server: _HTTPServer
    server_version = "FakeProvider/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def do_POST(self) -> None:
        self.server.owner._handle(self)

    do_GET = do_POST
    do_PUT = do_POST
    do_DELETE = do_POST

    # -- writing helpers --
    def send_json(self, status: int, payload: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeProviderServer:
    """Loopback fake provider for the OpenAI, Anthropic and Gemini wire formats.

    Thread-safe. Start with ``with FakeProviderServer() as s:`` or ``s.start()`` /
    ``s.stop()``. The server never checks the API key; it records what was sent.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        api_key: str = "fake-key",
        responder: Callable[[ProviderRequest], Outcome] | None = None,
        hang_limit: float = 30.0,
    ) -> None:
        self.host = host
        self.api_key = api_key
        self.hang_limit = hang_limit
        self._responder: Callable[[ProviderRequest], Outcome] = responder or default_responder
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._queues: dict[tuple[str, str | None], deque[Outcome]] = {}
        self._log: list[RecordedRequest] = []
        self._seq = 0
        self._fault_rate: tuple[float, tuple[Fault, ...], int, int] | None = None
        self._errors: list[BaseException] = []
        self._connections: set[socket.socket] = set()
        self._stop_event = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeProviderServer:
        if self._httpd is not None:
            return self
        self._stop_event.clear()
        httpd = _HTTPServer((self.host, 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving. Releases hanging requests at once and closes open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stop_event.set()
        httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if thread is not None:
            thread.join(timeout)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeProviderServer is not started")
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- litellm wiring ---------------------------------------------------------------------

    @staticmethod
    def _check_format(fmt: str) -> str:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        return fmt

    def api_base(self, fmt: str) -> str:
        """The ``api_base`` to give litellm for this wire format."""
        return self.root_url + _API_BASE_SUFFIX[self._check_format(fmt)]

    @staticmethod
    def litellm_model(fmt: str, model: str | None = None) -> str:
        """``"openai/gpt-4o-mini"``, ``"anthropic/claude-haiku-4-5"``, ``"gemini/gemini-2.5-flash"``."""
        FakeProviderServer._check_format(fmt)
        model = model or DEFAULT_MODELS[fmt]
        return model if model.startswith(fmt + "/") else f"{fmt}/{model}"

    def litellm_kwargs(self, fmt: str, model: str | None = None, **extra: Any) -> dict[str, Any]:
        """``{"model": ..., "api_base": ..., "api_key": ...}`` (plus ``extra``) for acompletion."""
        return {
            "model": self.litellm_model(fmt, model),
            "api_base": self.api_base(fmt),
            "api_key": self.api_key,
            **extra,
        }

    def refused_api_base(self, fmt: str) -> str:
        """An api_base on a loopback port where nothing listens (connection refused)."""
        self._check_format(fmt)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((self.host, 0))
            port = sock.getsockname()[1]
        return f"http://{self.host}:{port}{_API_BASE_SUFFIX[fmt]}"

    def refused_litellm_kwargs(self, fmt: str, model: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**self.litellm_kwargs(fmt, model, **extra), "api_base": self.refused_api_base(fmt)}

    # -- scripting --------------------------------------------------------------------------

    @staticmethod
    def _bare_model(fmt: str, model: str | None) -> str | None:
        if model is not None and model.startswith(fmt + "/"):
            return model[len(fmt) + 1 :]
        return model

    def enqueue(self, fmt: str, *outcomes: Outcome, model: str | None = None) -> None:
        """Queue outcomes for the next requests of ``fmt`` (optionally only for ``model``;
        per-model queues are served before the format-wide one)."""
        self._check_format(fmt)
        for outcome in outcomes:
            if not isinstance(outcome, (Reply, Fault)):
                raise TypeError(f"expected Reply or Fault, got {outcome!r}")
        with self._lock:
            self._queues.setdefault((fmt, self._bare_model(fmt, model)), deque()).extend(outcomes)

    def pending(self, fmt: str | None = None, model: str | None = None) -> int:
        """Number of queued outcomes not yet served."""
        with self._lock:
            return sum(
                len(q)
                for (f, m), q in self._queues.items()
                if (fmt is None or f == fmt) and (model is None or m == self._bare_model(f, model))
            )

    @property
    def responder(self) -> Callable[[ProviderRequest], Outcome]:
        return self._responder

    @responder.setter
    def responder(self, fn: Callable[[ProviderRequest], Outcome] | None) -> None:
        """Set the responder used when no outcome is queued (``None`` restores the default).
        It may return a Reply or a Fault; calls are serialized under the server lock."""
        with self._lock:
            self._responder = fn or default_responder

    def fault_rate(self, p: float, kinds: Iterable[str | Fault] | None = None, seed: int = 0) -> None:
        """Serve a random fault (from ``kinds``, default 500/503/429) with probability ``p``
        for requests that have no queued outcome. Deterministic: the n-th request after this
        call gets the same decision for the same seed. ``p=0`` turns it off."""
        if not 0.0 <= p <= 1.0:
            raise ValueError("p must be within [0, 1]")
        faults = tuple(
            k if isinstance(k, Fault) else _FAULT_FACTORIES[k]()
            for k in (kinds if kinds is not None else ("server_error", "unavailable", "rate_limit"))
        )
        if not faults and p > 0:
            raise ValueError("kinds must not be empty")
        with self._lock:
            self._fault_rate = (p, faults, seed, self._seq) if p > 0 else None

    # -- log --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request that reached the server, in arrival order."""
        with self._lock:
            return list(self._log)

    def count(self, fmt: str | None = None, model: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._log
                if (fmt is None or r.format == fmt) and (model is None or r.model == self._bare_model(r.format, model))
            )

    def last(self, fmt: str | None = None) -> RecordedRequest | None:
        with self._lock:
            for r in reversed(self._log):
                if fmt is None or r.format == fmt:
                    return r
        return None

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` requests were logged; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._log) >= n, timeout)

    @property
    def open_connections(self) -> int:
        """Client connections currently open (including idle keep-alive ones)."""
        with self._lock:
            return len(self._connections)

    def wait_for_connections(self, at_most: int = 0, timeout: float = 5.0) -> bool:
        """Block until at most ``at_most`` connections are open; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._connections) <= at_most, timeout)

    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions inside the server (responder errors...); clients dropping
        connections are not errors."""
        with self._lock:
            return list(self._errors)

    def reset(self) -> None:
        """Clear the log, the queues, the fault rate and errors; restore the default responder.
        Sequence numbers keep increasing."""
        with self._lock:
            self._log.clear()
            self._queues.clear()
            self._fault_rate = None
            self._errors.clear()
            self._responder = default_responder

    # -- internals --------------------------------------------------------------------------

    def _note_error(self, exc: BaseException | None) -> None:
        if exc is not None:
            with self._lock:
                self._errors.append(exc)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
            self._cond.notify_all()

    def _choose(self, fmt: str, model: str | None, seq: int) -> Outcome | None:
        """Pick a queued or random outcome (caller holds the lock); None -> responder."""
        for key in ((fmt, model), (fmt, None)):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        if self._fault_rate is not None:
            p, faults, seed, base = self._fault_rate
            rng = random.Random(f"{seed}:{seq - base}")
            if rng.random() < p:
                return faults[rng.randrange(len(faults))]
        return None

    def _handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path_only = h.path.split("?", 1)[0]
        fmt, model, stream = "unknown", None, False
        if path_only.endswith("/chat/completions"):
            fmt = "openai"
        elif path_only.endswith("/messages"):
            fmt = "anthropic"
        elif (m := _GEMINI_PATH.search(path_only)) is not None:
            fmt, model = "gemini", m.group("model")
            stream = m.group("action") == "streamGenerateContent"
        if fmt in ("openai", "anthropic") and isinstance(body, Mapping):
            model = body.get("model") if isinstance(body.get("model"), str) else None
            stream = bool(body.get("stream"))

        # One critical section (re-entrant, so a responder may query the server): log order,
        # sequence numbers and queue/fault-rate decisions agree, and responders run serialized.
        with self._cond:
            self._seq += 1
            seq = self._seq
            request = ProviderRequest(
                seq=seq,
                format=fmt,
                model=model,
                method=h.command,
                path=h.path,
                headers={k.lower(): v for k, v in h.headers.items()},
                body=body,
                stream=stream,
                received_at=time.monotonic(),
            )
            outcome: Outcome | None
            if fmt == "unknown":
                outcome = Fault("not_found_model", 404, message=f"no route for {h.command} {path_only}")
            else:
                outcome = self._choose(fmt, model, seq)
            if outcome is None:
                try:
                    outcome = self._responder(request)
                    if not isinstance(outcome, (Reply, Fault)):
                        raise TypeError(f"responder returned {outcome!r}, not a Reply or Fault")
                except Exception as exc:  # noqa: BLE001 - a broken responder is a 500, noted in .errors
                    self._errors.append(exc)
                    outcome = Fault.server_error(500, message=f"responder failed: {exc!r}")
            fields = {name: getattr(request, name) for name in ProviderRequest.__dataclass_fields__}
            self._log.append(RecordedRequest(**fields, outcome=outcome))
            self._cond.notify_all()
        self._serve(h, request, outcome)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True if the server is stopping."""
        return seconds > 0 and self._stop_event.wait(seconds)

    def _serve(self, h: _Handler, request: ProviderRequest, outcome: Outcome) -> None:
        fmt = request.format
        if isinstance(outcome, Reply):
            if self._sleep(outcome.delay):
                h.close_connection = True
                return
            if not request.stream:
                payload = json.dumps(_reply_body(request, outcome)).encode("utf-8")
                if outcome.drip > 0:
                    self._drip_json(h, payload, outcome.drip)
                    return
                h.send_json(200, payload)
                return
            h.start_stream()
            for i, ev in enumerate(_stream_events(request, outcome)):
                if i and self._sleep(outcome.chunk_delay):
                    h.close_connection = True
                    return
                if outcome.hold is not None and i == outcome.hold_at:
                    while not outcome.hold.wait(0.02):
                        if self._stop_event.is_set():
                            h.close_connection = True
                            return
                if outcome.drip > 0:
                    for n in range(len(ev)):
                        if self._sleep(outcome.drip):
                            h.close_connection = True
                            return
                        h.write_chunk(ev[n : n + 1])
                        h.wfile.flush()
                    continue
                h.write_chunk(ev)
            h.end_stream()
            return

        fault = outcome
        if fault.kind == "hang":
            self._hang(h, min(fault.seconds, self.hang_limit))
            h.close_connection = True
            return
        if fault.kind == "disconnect":
            h.close_connection = True
            return
        if fault.kind == "malformed":
            if request.stream:
                h.start_stream()
                h.write_chunk(b'data: {"id": "malformed", "choices": [{"delta": {"content": "trunc\n\n')
                h.end_stream()
            else:
                h.send_json(200, _MALFORMED_JSON)
            return
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        payload = json.dumps(_error_body(fmt, fault, request.model)).encode("utf-8")
        h.send_json(fault.status, payload, headers)

    def _drip_json(self, h: _Handler, payload: bytes, interval: float) -> None:
        """A 200 whose body arrives one byte per ``interval`` seconds."""
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.flush()
        for n in range(len(payload)):
            if self._sleep(interval):
                h.close_connection = True
                return
            h.wfile.write(payload[n : n + 1])
            h.wfile.flush()

    def _hang(self, h: _Handler, seconds: float) -> None:
        """Hold the connection open until stop(), the client leaving, or ``seconds``."""
        deadline = time.monotonic() + seconds
        conn = h.connection
        while not self._stop_event.wait(0.05):
            if time.monotonic() >= deadline:
                return
            try:
                readable, _, _ = select.select([conn], [], [], 0)
                if readable and conn.recv(1, socket.MSG_PEEK) == b"":
                    return  # client closed its side
            except (OSError, ValueError):
                return
