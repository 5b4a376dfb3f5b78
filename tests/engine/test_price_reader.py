"""One price reader (engine.llm.price_map) over a file private to litellm: pin its name and
check that what it reads agrees with litellm's own lookup, so a litellm upgrade that moves or
renames the file fails here instead of silently pricing every model as unknown."""

from __future__ import annotations

import math

import pytest

from engine.llm import adapter, price_map, pricing
from engine.llm.price_map import bundled_price, bundled_window, map_path
from tests.fakes.settings import MODELS

KNOWN = sorted(
    {
        *MODELS.values(),
        "gpt-4o",
        "anthropic/claude-sonnet-4-5",
        "gemini/gemini-2.5-pro",
        "mistral/mistral-small-latest",
        "deepseek/deepseek-chat",
        "openai/gpt-4.1-mini",
    }
)


def test_the_private_file_is_where_we_read_it() -> None:
    path = map_path()
    assert path is not None and path.name == "model_prices_and_context_window_backup.json"
    assert path.is_file() and path.stat().st_size > 100_000  # the whole map, not a stub


@pytest.mark.parametrize("model", KNOWN)
def test_prices_and_windows_agree_with_litellm(model: str) -> None:
    info = adapter.litellm().get_model_info(model=model)
    price = bundled_price(model)
    assert price is not None, f"{model} should be priced"
    assert math.isclose(price[0], info["input_cost_per_token"] * 1_000_000, rel_tol=1e-9)
    assert math.isclose(price[1], info["output_cost_per_token"] * 1_000_000, rel_tol=1e-9)
    assert bundled_window(model) == info["max_input_tokens"]


def test_unknown_models_are_unpriced_never_free() -> None:
    for name in ("openai/no-such-model-xyz", "", "/", "gpt-4o/../../etc"):
        assert bundled_price(name) is None and bundled_window(name) is None


def test_the_chain_prices_through_the_same_reader(monkeypatch: pytest.MonkeyPatch, paths) -> None:
    from engine.config import load_config

    settings = load_config(paths).settings
    monkeypatch.setattr(pricing, "bundled_price", lambda model: (1.5, 2.5) if model == "m" else None)
    got = pricing.price_for("m", settings)
    assert got is not None and (got.input_usd_per_mtok, got.output_usd_per_mtok, got.source) == (1.5, 2.5, "litellm")
    assert pricing.price_for("other", settings) is None
    assert not hasattr(adapter, "model_facts")  # the second reader is gone
    assert price_map.bundled_price is bundled_price
