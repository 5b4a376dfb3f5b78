"""Classifying provider failures: what happened, and whether to retry or move on.

Classification reads the exception's class names (its whole MRO) and ``status_code``, so it
works on litellm's exception types without importing litellm. Measured mapping (see
tests/fakes/provider_server.py for the table per wire format):

    error_class     retry here?  then          typical cause
    rate_limit      yes          next provider 429 (Retry-After honoured)
    server_error    yes          next provider 500, malformed body (OpenAI)
    unavailable     yes          next provider 503
    timeout         yes          next provider the attempt's wall deadline (timeout_s) passed
    connection      yes          next provider refused / reset / DNS
    auth            no           next provider 401, 403, missing key
    bad_request     no           next provider 400, 422
    not_found       no           next provider unknown model (404)
    context_window  no           next provider prompt longer than the model accepts
    empty           yes          next provider 200 with no text (a broken stream event)
    unknown         no           next provider anything else

litellm wraps some mid-stream failures in ``MidStreamFallbackError`` (a subclass of
``ServiceUnavailableError``); the wrapped ``original_exception`` is classified instead, keeping
the outer ``Retry-After``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.scrub import scrub

RETRYABLE = frozenset({"rate_limit", "server_error", "unavailable", "timeout", "connection", "empty"})

_BY_CLASS = (
    ("ContextWindowExceededError", "context_window"),
    ("RateLimitError", "rate_limit"),
    ("AuthenticationError", "auth"),
    ("PermissionDeniedError", "auth"),
    ("NotFoundError", "not_found"),
    ("Timeout", "timeout"),
    ("APITimeoutError", "timeout"),
    ("TimeoutException", "timeout"),
    ("ServiceUnavailableError", "unavailable"),
    ("APIConnectionError", "connection"),
    ("InternalServerError", "server_error"),
    ("BadGatewayError", "server_error"),
    ("UnprocessableEntityError", "bad_request"),
    ("BadRequestError", "bad_request"),
    ("ConnectError", "connection"),
    ("ConnectionError", "connection"),
)


@dataclass(frozen=True)
class Failure:
    error_class: str
    message: str
    status_code: int | None = None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        return self.error_class in RETRYABLE


class EmptyAnswer(Exception):
    """A provider answered 200 with no text at all."""


class AttemptTimedOut(Exception):
    """An attempt passed its wall deadline (``timeout_s``, or the chain's ``deadline_s``)."""


def classify(exc: BaseException) -> Failure:
    inner = getattr(exc, "original_exception", None)
    if "MidStreamFallbackError" in {cls.__name__ for cls in type(exc).__mro__} and isinstance(inner, BaseException):
        failure = classify(inner)
        return Failure(
            failure.error_class, failure.message, failure.status_code, failure.retry_after_s or retry_after(exc)
        )
    if isinstance(exc, EmptyAnswer):
        return Failure("empty", "the provider returned an empty answer")
    if isinstance(exc, AttemptTimedOut):
        return Failure("timeout", str(exc))
    names = [cls.__name__ for cls in type(exc).__mro__]
    status = _status(exc)
    message = _message(exc)
    error_class = "unknown"
    for name, kind in _BY_CLASS:
        if name in names:
            error_class = kind
            break
    else:
        if status == 429:
            error_class = "rate_limit"
        elif status in (401, 403):
            error_class = "auth"
        elif status == 404:
            error_class = "not_found"
        elif status == 408:
            error_class = "timeout"
        elif status == 503:
            error_class = "unavailable"
        elif status is not None and status >= 500:
            error_class = "server_error"
        elif status is not None and 400 <= status < 500:
            error_class = "bad_request"
    if error_class == "server_error" and "connection error" in message.lower():
        error_class = "connection"
    if (
        error_class == "bad_request"
        and "context" in message.lower()
        and ("length" in message.lower() or "window" in message.lower() or "too long" in message.lower())
    ):
        error_class = "context_window"
    return Failure(error_class, message, status, retry_after(exc))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _message(exc: BaseException) -> str:
    """The failure's text, scrubbed of every key piece BEFORE it is cut (a cut piece still leaks)."""
    text = str(getattr(exc, "message", "") or exc) or type(exc).__name__
    text = " ".join(scrub(text).split())
    return scrub(text)[:300]


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header on the failure, if any."""
    for headers in _header_sources(exc):
        value = _get(headers, "retry-after-ms")
        if value is not None:
            try:
                return max(0.0, float(value) / 1000.0)
            except ValueError:
                pass
        value = _get(headers, "retry-after")
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def _header_sources(exc: BaseException) -> list[Any]:
    sources = []
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "headers", None) is not None:
        sources.append(response.headers)
    extra = getattr(exc, "litellm_response_headers", None)
    if extra is not None:
        sources.append(extra)
    headers = getattr(exc, "headers", None)
    if headers is not None:
        sources.append(headers)
    return sources


def _get(headers: Any, name: str) -> str | None:
    try:
        value = headers.get(name)
        if value is None:
            value = headers.get(name.title())
    except Exception:  # noqa: BLE001 - odd header containers
        return None
    return None if value is None else str(value)
