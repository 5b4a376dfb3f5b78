"""litellm's bundled price map, read as a JSON file without importing litellm.

Used where a price is only an estimate and importing litellm (seconds) is not allowed: the
counterfactual cost a template hit saves. Paid calls price their real usage through
``engine.llm.pricing`` instead.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

from engine.config.schema import Settings
from engine.money import cost_micros

_FILE = "model_prices_and_context_window_backup.json"


@functools.cache
def _prices() -> dict[str, tuple[float, float]]:
    spec = importlib.util.find_spec("litellm")  # locates the package without executing it
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(list(spec.submodule_search_locations)[0]) / _FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for name, entry in data.items():
        if isinstance(entry, dict):
            a, b = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                out[name] = (a * 1e6, b * 1e6)
    return out


def bundled_price(model: str) -> tuple[float, float] | None:
    """USD per million (input, output) tokens, or None when the map does not know the model."""
    prices = _prices()
    return prices.get(model) or (prices.get(model.split("/", 1)[1]) if "/" in model else None)


def estimated_price(settings: Settings, model: str) -> tuple[float, float] | None:
    """USD per million (input, output) tokens: the settings' override, else the bundled map."""
    override = settings.pricing.models.get(model)
    if override is not None:
        return override.input_usd_per_mtok, override.output_usd_per_mtok
    return bundled_price(model)


def estimate_call_micros(settings: Settings, prompt_chars: int, output_chars: int) -> int:
    """What the cheapest priced provider in the chain would charge for a call of this size
    (about four characters per token)."""
    best: int | None = None
    for name in settings.chain.order:
        price = estimated_price(settings, settings.providers[name].model)
        if price is None:
            continue
        cost = cost_micros((prompt_chars + 3) // 4, (output_chars + 3) // 4, *price)
        best = cost if best is None else min(best, cost)
    return best or 0
