"""The one module that imports litellm — lazily, on the paid path only.

``import litellm`` costs seconds and hundreds of MB, so nothing imports it at module level: a
template or cache hit, ``--help`` and the TUI's first paint never load it. Before the first
import we force offline mode (no price-map download, no hub lookups) and switch off telemetry.

Every call disables litellm's and the SDKs' own retries (``num_retries=0, max_retries=0``):
the provider chain owns retries, so the number of requests a provider sees is exactly the
number of attempts the chain records. API keys are read from the environment at call time
and handed to litellm; they are never stored, logged or put into an event.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.config.schema import ProviderSettings
from engine.llm.failures import EmptyAnswer

_OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
}
_litellm: Any = None
KEYLESS = "not-needed"


def is_loaded() -> bool:
    return "litellm" in sys.modules


def litellm() -> Any:
    """Import and configure litellm once (offline, quiet, no retries of its own)."""
    global _litellm
    if _litellm is None:
        for key, value in _OFFLINE_ENV.items():
            os.environ.setdefault(key, value)
        import litellm as module  # the only litellm import in Templar

        module.telemetry = False
        module.suppress_debug_info = True
        module.num_retries = 0
        module.drop_params = True
        _litellm = module
    return _litellm


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int
    tokens_out: int
    usage_measured: bool  # False when usage had to be counted locally (a stream without usage)


def _kwargs(
    provider: ProviderSettings, api_key: str | None, max_tokens: int, temperature: float, timeout_s: float | None = None
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": provider.model,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "timeout": provider.timeout_s if timeout_s is None else timeout_s,
        "num_retries": 0,
        "max_retries": 0,
        "api_key": api_key or KEYLESS,
    }
    if provider.api_base:
        kwargs["api_base"] = provider.api_base
    return kwargs


async def complete(
    provider: ProviderSettings,
    api_key: str | None,
    messages: list[dict[str, str]],
    *,
    max_tokens: int,
    temperature: float,
    on_text: Callable[[str], None] | None = None,
    timeout_s: float | None = None,
) -> Completion:
    """One attempt against one provider. Streams through ``on_text`` when given.

    ``timeout_s`` (default: the provider's) is handed to litellm as its transport timeout; the
    wall deadline of the whole attempt, stream included, is the caller's ``asyncio.timeout``."""
    lib = litellm()
    kwargs = _kwargs(provider, api_key, max_tokens, temperature, timeout_s)
    if on_text is None:
        response = await lib.acompletion(messages=messages, **kwargs)
        text = response.choices[0].message.content or ""
        if not text.strip():
            raise EmptyAnswer()
        usage = getattr(response, "usage", None)
        if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
            return Completion(text, int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0), True)
        return Completion(text, count_tokens(provider.model, messages), count_text_tokens(provider.model, text), False)
    stream = await lib.acompletion(messages=messages, stream=True, stream_options={"include_usage": True}, **kwargs)
    parts: list[str] = []
    tokens_in = tokens_out = None
    async for chunk in stream:
        choices = getattr(chunk, "choices", None) or []
        if choices:
            delta = getattr(choices[0], "delta", None)
            piece = getattr(delta, "content", None) if delta is not None else None
            if piece:
                parts.append(piece)
                on_text(piece)
        usage = getattr(chunk, "usage", None)
        if usage is not None and getattr(usage, "prompt_tokens", None):
            tokens_in, tokens_out = int(usage.prompt_tokens), int(usage.completion_tokens or 0)
    text = "".join(parts)
    if not text.strip():
        raise EmptyAnswer()
    if tokens_in is None:
        return Completion(text, count_tokens(provider.model, messages), count_text_tokens(provider.model, text), False)
    return Completion(text, tokens_in, tokens_out or 0, True)


_counted: set[str] = set()


def tokenizer_ready(model: str) -> bool:
    """Whether ``model``'s tokenizer is already loaded (the first count takes ~0.7 s)."""
    return model in _counted


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens for ``messages`` with the model's tokenizer (bundled, offline)."""
    count = int(litellm().token_counter(model=model, messages=messages))
    _counted.add(model)
    return count


def count_text_tokens(model: str, text: str) -> int:
    return int(litellm().token_counter(model=model, text=text))


def provider_list() -> list[str]:
    return [str(p.value if hasattr(p, "value") else p) for p in litellm().provider_list]
