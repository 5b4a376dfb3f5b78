"""Test doubles: a loopback fake LLM provider (see provider_server.py)."""

from .provider_server import (
    DEFAULT_MODELS,
    FORMATS,
    FakeProviderServer,
    Fault,
    ProviderRequest,
    RecordedRequest,
    Reply,
    default_responder,
    estimate_tokens,
)

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
