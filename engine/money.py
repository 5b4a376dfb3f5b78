"""Money is integer micro-dollars (1 USD = 1_000_000). Conversions live here and nowhere else.

A price in USD per million tokens times a token count is, exactly, micro-dollars; costs are
rounded *up* to a whole micro-dollar so that spend is never under-counted. USD floats exist only
at the edges: JSON output (``micros_to_usd``), human text (``format_usd``, ``format_usd_exact``),
config values and imports (``usd_to_micros``), and per-token prices (``per_mtok``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import overload

MICROS_PER_USD = 1_000_000
TOKENS_PER_MTOK = 1_000_000


@overload
def usd_to_micros(usd: float) -> int: ...
@overload
def usd_to_micros(usd: None) -> None: ...
@overload
def usd_to_micros(usd: float | None) -> int | None: ...
def usd_to_micros(usd: float | None) -> int | None:
    """Dollars (a config value, an import, a recorded review cost) to whole micro-dollars, rounded
    to the nearest (half to even); None stays None."""
    if usd is None:
        return None
    return int((Decimal(str(usd)) * MICROS_PER_USD).to_integral_value())


@overload
def micros_to_usd(micros: int) -> float: ...
@overload
def micros_to_usd(micros: None) -> None: ...
@overload
def micros_to_usd(micros: int | None) -> float | None: ...
def micros_to_usd(micros: int | None) -> float | None:
    """Micro-dollars to dollars, for JSON and events; None stays None."""
    return None if micros is None else micros / MICROS_PER_USD


def per_mtok(usd_per_token: float) -> float:
    """A price per token (litellm's unit) as USD per million tokens (Templar's)."""
    return usd_per_token * TOKENS_PER_MTOK


def cost_micros(tokens_in: int, tokens_out: int, in_usd_per_mtok: float, out_usd_per_mtok: float) -> int:
    """Cost of a call in micro-dollars, rounded up."""
    exact = Decimal(tokens_in) * Decimal(str(in_usd_per_mtok)) + Decimal(tokens_out) * Decimal(str(out_usd_per_mtok))
    return int(math.ceil(exact))


def format_usd_exact(micros: int) -> str:
    """``$0.001234``: always six decimals (CLI summaries, budget refusals)."""
    return f"${micros / MICROS_PER_USD:.6f}"


def format_usd(micros: int | None) -> str:
    if micros is None:
        return "—"
    usd = micros / MICROS_PER_USD
    if micros and abs(usd) < 0.01:
        return f"${usd:.6f}"
    return f"${usd:,.2f}"
