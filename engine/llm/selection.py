"""Which providers the chain tries, in what order, and why it gave up (``engine.llm.chain``).

Invariants:
- Admission comes first: at L6 (exhausted) no paid call is made; at L5 (critical) one is made
  only if confirmed, when ``alerts.confirm_at_critical`` is set.
- From L3 on, priced providers come cheapest first (input + output per Mtok), unpriced ones
  last; from L4 on, only the single cheapest priced provider is tried. A reorder is announced
  with a ``ChainReordered`` event.
- A provider is skipped (never called) while cooling down, without its key, without a price,
  or when the prompt exceeds its context window.
- The error for a call nobody answered is the most specific: the deadline, then every keyed
  provider unpriced, then only budget refusals, then no provider available.
"""

from __future__ import annotations

import asyncio

from engine.budget.levels import CRITICAL, EXHAUSTED, HIGH, LEVEL_NAMES
from engine.config.schema import ProviderSettings, Settings
from engine.errors import (
    BudgetRefused,
    ConfirmationRequired,
    DeadlineExceeded,
    NoProviderAvailable,
    PriceUnknown,
    TemplarError,
)
from engine.events import ChainReordered, Emit
from engine.llm import adapter
from engine.llm.cooldown import credential_key, health_key
from engine.llm.outcome import Candidate, Run, RunView
from engine.llm.price_map import bundled_window
from engine.llm.pricing import Price, how_to_price
from engine.logs import get_logger

budget_log = get_logger("budget")


def admit(settings: Settings, request_id: str, confirmed: bool, level: int) -> None:
    """Refuse a paid call the budget level forbids (L6), or one that needs a confirmation (L5)."""
    if level >= EXHAUSTED:
        budget_log.warning("paid call refused: budget exhausted (L6), request %s", request_id)
        raise BudgetRefused(
            "budget exhausted (L6): paid calls are refused; templates and cache still answer. See `templar budget`."
        )
    if level >= CRITICAL and settings.alerts.confirm_at_critical and not confirmed:
        raise ConfirmationRequired("budget critical (L5): confirm this paid call (--yes on the command line)")


def reorder(candidates: list[Candidate], level: int, emit: Emit) -> list[Candidate]:
    """From L3 on, cheaper providers first; from L4 on, only the cheapest (unpriced ones dropped)."""
    priced = sorted((c for c in candidates if c.price is not None), key=lambda c: _total_price(c.price))
    if level >= HIGH:
        priced = priced[:1]
    reason = "cheapest provider only" if level >= HIGH else "prefer cheaper providers"
    ordered = priced + ([] if level >= HIGH else [c for c in candidates if c.price is None])
    emit(ChainReordered(level, tuple(c.name for c in ordered), f"L{level} {LEVEL_NAMES[level]}: {reason}"))
    return ordered


def _total_price(price: Price | None) -> float:
    return float("inf") if price is None else price.input_usd_per_mtok + price.output_usd_per_mtok


def exhausted_error(settings: Settings, run: Run, unpriced: list[str], keyed: list[Candidate]) -> TemplarError:
    """The error for a call no provider answered, most specific first."""
    summary = "; ".join(f"{name}: {why}" for name, why in run.last.items()) or "the chain is empty"
    if run.out_of_time:
        return DeadlineExceeded(
            f"no provider answered within the chain deadline ({settings.chain.deadline_s:g} s, "
            f"chain.deadline_s) ({summary})"
        )
    if unpriced and len(unpriced) == len(keyed):
        return PriceUnknown(how_to_price(unpriced[0]))
    if run.refused and not any(v for v in run.last.values() if not v.startswith("budget")):
        return BudgetRefused("; ".join(run.refused))
    return NoProviderAvailable(f"no provider could answer ({summary})")


def cooldown_records(run: RunView, provider: ProviderSettings, api_key: str | None) -> list[tuple[int, float]]:
    """The (failures, cooling-until) records of the provider's endpoint and credential."""
    return [run.health.get(health_key(provider), (0, 0.0)), run.health.get(credential_key(provider, api_key), (0, 0.0))]


async def count_prompt_tokens(provider: ProviderSettings, messages: list[dict[str, str]]) -> int:
    if adapter.tokenizer_ready(provider.model):
        return adapter.count_tokens(provider.model, messages)  # ~0.2 ms
    # the first count loads a tokenizer (~0.7 s): not on the caller's loop
    return await asyncio.to_thread(adapter.count_tokens, provider.model, messages)


def window_reason(provider: ProviderSettings, prompt_tokens: int) -> tuple[str, str] | None:
    window = provider.context_window or bundled_window(provider.model)
    if window and prompt_tokens > window:
        return f"prompt has {prompt_tokens} tokens; the model accepts {window}", "context window exceeded"
    return None
