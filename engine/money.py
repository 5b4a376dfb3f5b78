"""Money is integer micro-dollars (1 USD = 1_000_000). Conversions live here and nowhere else.

A price in USD per million tokens times a token count is, exactly, micro-dollars; costs are
rounded *up* to a whole micro-dollar so that spend is never under-counted.
"""

from __future__ import annotations

import math
from decimal import Decimal

MICROS_PER_USD = 1_000_000


def usd_to_micros(usd: float | None) -> int | None:
    if usd is None:
        return None
    return int((Decimal(str(usd)) * MICROS_PER_USD).to_integral_value())


def micros_to_usd(micros: int) -> float:
    return micros / MICROS_PER_USD


def cost_micros(tokens_in: int, tokens_out: int, in_usd_per_mtok: float, out_usd_per_mtok: float) -> int:
    """Cost of a call in micro-dollars, rounded up."""
    exact = Decimal(tokens_in) * Decimal(str(in_usd_per_mtok)) + Decimal(tokens_out) * Decimal(str(out_usd_per_mtok))
    return int(math.ceil(exact))


def format_usd(micros: int | None) -> str:
    if micros is None:
        return "—"
    usd = micros / MICROS_PER_USD
    if micros and abs(usd) < 0.01:
        return f"${usd:.6f}"
    return f"${usd:,.2f}"
