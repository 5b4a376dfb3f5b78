"""Worst-case cost of a paid step, and the per-request cap (``--max-usd``, ``max_usd=``).

One request may pay for up to four kinds of step: the answer, its repairs, a review (critical
work) and a parameterization suggestion. ``RequestCap`` admits each step only when what the
request has already spent plus that step's *worst case* fits under the cap, so the total can
never pass it:

- the worst case of a step is priced at the most expensive provider the chain could fail over
  to (every provider in ``chain.order`` with its key and a known price), for an upper bound on
  the prompt's tokens (its UTF-8 bytes plus a per-message overhead: a byte-level tokenizer never
  makes more tokens than that) and the step's full ``max_tokens`` of output;
- the book never charges more than the reservation it holds (``engine.budget``), and the chain
  reserves its own worst case from a real token count, which is below this bound.

Nothing here imports litellm: prices come from settings or litellm's bundled JSON map
(``engine.llm.price_map``). A provider with no known price is not payable (the chain refuses it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from engine.config.schema import Settings
from engine.errors import BudgetRefused
from engine.llm.price_map import estimated_price
from engine.money import cost_micros, micros_to_usd, usd_to_micros

MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators per chat message, generously
REVIEW_MAX_TOKENS = 512  # engine.reviews asks for a short JSON verdict
SUGGEST_MAX_TOKENS = 800  # engine.pipeline's suggestion call

__all__ = [
    "MaxCostExceeded",
    "RequestCap",
    "payable_providers",
    "prompt_tokens_bound",
    "review_worst_micros",
    "step_worst_micros",
    "usd",
]


def usd(micros: int) -> str:
    """Dollars to the micro-dollar: caps and worst cases are small, and rounding would hide them."""
    return f"${micros_to_usd(micros):.6f}"


class MaxCostExceeded(BudgetRefused):
    """The request's own cap (``--max-usd``) does not admit its next paid step (exit 3)."""

    kind = "max_usd_exceeded"


def prompt_tokens_bound(messages: list[dict[str, str]]) -> int:
    """An upper bound on the prompt's tokens for any byte-level tokenizer."""
    return sum(len(m["content"].encode("utf-8")) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def payable_providers(
    settings: Settings, environ: Mapping[str, str] | None = None, names: tuple[str, ...] | None = None
) -> list[tuple[str, str, tuple[float, float]]]:
    """(name, model, (input, output) USD per million tokens) of each provider the chain could pay,
    in chain order: its key is set (or it needs none) and its price is known."""
    env = os.environ if environ is None else environ
    out = []
    for name in names or tuple(settings.chain.order):
        provider = settings.providers[name]
        if provider.api_key_env and not env.get(provider.api_key_env):
            continue
        price = estimated_price(settings, provider.model)
        if price is not None:
            out.append((name, provider.model, price))
    return out


def step_worst_micros(
    settings: Settings, messages: list[dict[str, str]], max_tokens: int, environ: Mapping[str, str] | None = None
) -> int:
    """The most one chain call with ``messages`` can cost: the priciest payable provider; 0 when
    no provider is payable (the chain then refuses before any spend)."""
    tokens_in = prompt_tokens_bound(messages)
    costs = [cost_micros(tokens_in, max_tokens, *price) for _, _, price in payable_providers(settings, environ)]
    return max(costs, default=0)


@dataclass
class RequestCap:
    """What one request may still spend. ``limit_micros`` None means no cap (every step fits)."""

    limit_micros: int | None
    spent_micros: int = 0

    @classmethod
    def of(cls, max_usd: float | None) -> RequestCap:
        if max_usd is not None and not max_usd >= 0:  # also rejects NaN
            raise MaxCostExceeded(f"max_usd must be a non-negative number of dollars, not {max_usd!r}")
        return cls(usd_to_micros(max_usd))

    def fits(self, worst_micros: int) -> bool:
        return self.limit_micros is None or self.spent_micros + worst_micros <= self.limit_micros

    def why_not(self, step: str, worst_micros: int) -> str:
        assert self.limit_micros is not None
        left = max(0, self.limit_micros - self.spent_micros)
        return (
            f"max_usd {usd(self.limit_micros)}: the {step}'s worst case {usd(worst_micros)} does "
            f"not fit in the {usd(left)} left (spent {usd(self.spent_micros)})"
        )

    def admit(self, step: str, worst_micros: int) -> None:
        """Raise ``MaxCostExceeded`` unless the step's worst case fits (used for the answer itself)."""
        if not self.fits(worst_micros):
            raise MaxCostExceeded(self.why_not(step, worst_micros) + "; nothing was paid for this step")

    def spend(self, micros: int) -> None:
        self.spent_micros += max(0, micros)


def review_worst_micros(settings: Settings, task: str, code: str, environ: Mapping[str, str] | None = None) -> int:
    """The worst case of a critical request's review call (``engine.reviews``)."""
    from engine.reviews import REVIEW_SYSTEM

    messages = [
        {"role": "system", "content": REVIEW_SYSTEM},
        {"role": "user", "content": f"<task>\n{task}\n</task>\n\n<code>\n{code}\n</code>"},
    ]
    return step_worst_micros(settings, messages, REVIEW_MAX_TOKENS, environ)
