"""What the pipeline's tiers share: ``TierAgent`` (the agent every tier mixin reads: its
``Engine`` and that engine's store) and ``Gate`` (the reviews one request pays for before critical
code is served).

Invariants: a ``Gate`` adds up every review it pays for (``cost_micros``) and spends it against
the request's ``RequestCap``; when ``max_usd`` leaves no room for a paid review and no verdict is
on record, the code is "not reviewed" (never approved) and no call is made. Nothing here imports
litellm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.context import RequestContext
from engine.cost_cap import RequestCap, review_worst_micros
from engine.reviews import Subject, approval, recorded_verdict, review_cost_micros, verdict_key

if TYPE_CHECKING:
    from engine.service import Engine
    from engine.store.db import Store

__all__ = ["Gate", "TierAgent"]


class TierAgent:
    """The agent a tier mixin (``engine.tiers.*``) is mixed into: ``engine.pipeline.CoderAgent``."""

    engine: Engine
    store: Store


class Gate:
    """The reviews one request needs before critical code is served; adds up what they cost."""

    def __init__(self, coder: TierAgent, ctx: RequestContext, cap: RequestCap) -> None:
        self.coder, self.ctx, self.cap = coder, ctx, cap
        self.decision = ctx.critical
        self.cost_micros = 0
        self.stopped = ""  # which paid step max_usd skipped, and why

    async def review(self, code: str, subject: Subject) -> dict[str, Any]:
        ctx = self.ctx
        worst = review_worst_micros(ctx.settings, ctx.task, code, self.coder.engine.environ)
        if not self.cap.fits(worst) and not await self.coder.store.run(
            recorded_verdict, verdict_key(ctx.task, code), subject.author
        ):
            # max_usd leaves no room for a paid review and none is on record: not approved
            return {"verdict": "not reviewed", "issues": [self.cap.why_not("review", worst)], "cost_usd": 0.0}
        review = await approval(self.coder.engine, ctx, code, subject)
        cost = review_cost_micros(review)
        self.cost_micros += cost
        self.cap.spend(cost)
        return review
