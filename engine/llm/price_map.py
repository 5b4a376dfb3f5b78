"""litellm's bundled model map, read as a JSON file without importing litellm: THE price reader.

Every price Templar does not get from settings comes from here: a paid call's worst case and
real cost (``engine.llm.pricing``), what a $0 answer saved (``SAVINGS_BASIS``), the order of the
cheapest providers, and each model's context window. It is the same file litellm itself reads in
offline mode (``LITELLM_LOCAL_MODEL_COST_MAP``, see ``engine.llm.adapter``); its name is private
to litellm, so ``tests/engine/test_price_reader.py`` pins it and checks it agrees with litellm.
Reading it costs milliseconds and never imports litellm, so template and cache hits stay light.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from collections.abc import Mapping
from pathlib import Path

from engine.config.schema import Settings
from engine.money import cost_micros, per_mtok

_FILE = "model_prices_and_context_window_backup.json"


def map_path() -> Path | None:
    """Where litellm's bundled map is (None when litellm is not installed)."""
    spec = importlib.util.find_spec("litellm")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / _FILE


@functools.cache
def _entries() -> dict[str, dict[str, object]]:
    path = map_path()
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {name: entry for name, entry in data.items() if isinstance(entry, dict)} if isinstance(data, dict) else {}


def _entry(model: str) -> dict[str, object] | None:
    """The map's entry for ``model``, tried as given, then without its ``provider/`` prefix."""
    entries = _entries()
    return entries.get(model) or (entries.get(model.split("/", 1)[1]) if "/" in model else None)


@functools.cache
def bundled_price(model: str) -> tuple[float, float] | None:
    """USD per million (input, output) tokens, or None when the map does not know the model."""
    entry = _entry(model)
    if entry is None:
        return None
    a, b = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return per_mtok(a), per_mtok(b)
    return None


def bundled_window(model: str) -> int | None:
    """The most input tokens the model accepts, per the map (None when unknown)."""
    entry = _entry(model)
    window = entry.get("max_input_tokens") if entry is not None else None
    return window if isinstance(window, int) and window > 0 else None


def estimated_price(settings: Settings, model: str) -> tuple[float, float] | None:
    """USD per million (input, output) tokens: the settings' override, else the bundled map."""
    override = settings.pricing.models.get(model)
    if override is not None:
        return override.input_usd_per_mtok, override.output_usd_per_mtok
    return bundled_price(model)


SAVINGS_BASIS = (
    "what the chain would have paid first, at current prices: the first provider in the effective "
    "chain order that has its API key (or needs none) and a known price (settings override, else "
    "litellm's bundled map), for the request's prompt (system + task prompt) and the answer's code "
    "as output, estimated at 4 characters per token; $0 when no provider could have been paid. "
    "The same basis for learned, built-in and cache answers."
)


def first_payable(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> tuple[str, tuple[float, float]] | None:
    """The provider the chain would have paid first, and its price: the first in ``chain.order``
    with its key present (or keyless) and a known price; None when there is none."""
    env = os.environ if environ is None else environ
    for name in settings.chain.order:
        provider = settings.providers[name]
        if provider.api_key_env and not env.get(provider.api_key_env):
            continue
        price = estimated_price(settings, provider.model)
        if price is not None:
            return name, price
    return None


def savings_micros(
    settings: Settings, prompt_chars: int, output_chars: int, environ: Mapping[str, str] | None = None
) -> int:
    """What a $0 answer saved, on the one basis every tier uses (``SAVINGS_BASIS``)."""
    payable = first_payable(settings, environ)
    if payable is None:
        return 0
    return cost_micros((max(0, prompt_chars) + 3) // 4, (max(0, output_chars) + 3) // 4, *payable[1])
