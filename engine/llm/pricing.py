"""Prices per model: settings overrides first, then litellm's bundled map (``engine.llm.price_map``).

A model with no known price is never treated as free: ``price_for`` returns None and the chain
refuses it with a message that says how to configure a price.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config.schema import Settings
from engine.llm.price_map import bundled_price
from engine.money import cost_micros


@dataclass(frozen=True)
class Price:
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    source: str  # "settings" | "litellm"

    def cost(self, tokens_in: int, tokens_out: int) -> int:
        return cost_micros(tokens_in, tokens_out, self.input_usd_per_mtok, self.output_usd_per_mtok)


def price_for(model: str, settings: Settings) -> Price | None:
    override = settings.pricing.models.get(model)
    if override is not None:
        return Price(override.input_usd_per_mtok, override.output_usd_per_mtok, "settings")
    bundled = bundled_price(model)
    if bundled is None:
        return None
    return Price(bundled[0], bundled[1], "litellm")


def how_to_price(model: str) -> str:
    return (
        f"no known price for {model}; add one to settings (or a project file): "
        f'[pricing.models."{model}"] input_usd_per_mtok = ... , output_usd_per_mtok = ... '
        f"(use 0 for a free local model)"
    )
