"""Dividing the system budget among projects (pure arithmetic; ``engine.budget.proposal`` feeds it).

    available  = system limit x (1 - reserve%)
    floor      = the configured floor per project (scaled down together if the floors alone
                 exceed what is available); the pool is what is left after the floors
    weight share  w_p / sum(w)
    spend share   (spend_p + prior x weight share) / (sum(spend) + prior)
                  -- this period's spend, smoothed by a prior of ``min_spend`` spread by weight;
                  ignored (weights only) while all projects together spent less than ``min_spend``
    share      = (1 - burn_share) x weight share + burn_share x spend share
    target     = floor + pool x share

Caps: a limit a person set is a cap. A project whose target is above its cap gets the cap, and
what it leaves is shared again among the uncapped projects by their shares (repeated until no
target exceeds a cap). ``force`` ignores caps.

Invariants: amounts are integer micro-dollars; rounding leftovers stay in the reserve, so the
proposal never exceeds the system limit; every figure that went into a proposal is returned
with it, so it can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProjectInput:
    project: str
    weight: float
    spend_micros: int  # this period
    current_limit_micros: int | None
    cap_micros: int | None = None  # a limit a person set (None: the allocator may raise it)


@dataclass(frozen=True)
class Allocation:
    project: str
    weight: float
    spend_micros: int
    current_limit_micros: int | None
    cap_micros: int | None
    weight_share: float
    spend_share: float  # smoothed; equals weight_share when spend did not count
    share: float  # the blend actually used for the pool
    floor_micros: int
    pool_micros: int  # floor + pool_micros = target
    target_micros: int
    proposed_micros: int
    capped: bool  # the cap binds: without it the proposal would be higher

    @property
    def burn_micros(self) -> int:  # the name the app and older JSON readers use
        return self.spend_micros


@dataclass(frozen=True)
class Plan:
    allocations: list[Allocation]
    reserve_micros: int
    available_micros: int
    floor_micros: int  # per project, after scaling
    spend_counted: bool  # False: this period's spend was below min_spend, weights only
    total_spend_micros: int


def allocate(
    system_limit_micros: int,
    projects: list[ProjectInput],
    *,
    reserve_pct: float,
    floor_micros: int,
    burn_share: float,
    min_spend_micros: int = 0,
    force: bool = False,
) -> Plan:
    """Proposed limits per project, with every figure that made them."""
    available = int(system_limit_micros * (100 - reserve_pct) / 100)
    if not projects:
        return Plan([], system_limit_micros, available, 0, False, 0)
    n = len(projects)
    floor_each = floor_micros if floor_micros * n <= available else available // n
    pool = available - floor_each * n
    total_weight = sum(p.weight for p in projects) or 1.0
    total_spend = sum(max(0, p.spend_micros) for p in projects)
    counted = total_spend > 0 and total_spend >= min_spend_micros
    prior = max(min_spend_micros, 0)
    weight_shares = [p.weight / total_weight for p in projects]
    if counted:
        spend_shares = [
            (max(0, p.spend_micros) + prior * w) / (total_spend + prior) for p, w in zip(projects, weight_shares)
        ]
        blend = burn_share
    else:
        spend_shares, blend = list(weight_shares), 0.0
    shares = [(1 - blend) * w + blend * s for w, s in zip(weight_shares, spend_shares)]
    caps = [None if force else p.cap_micros for p in projects]
    targets = [floor_each + int(pool * share) for share in shares]
    proposed, binding = _fill(caps, floor_each, pool, shares)
    out = [
        Allocation(
            p.project,
            p.weight,
            p.spend_micros,
            p.current_limit_micros,
            caps[i],
            weight_shares[i],
            spend_shares[i],
            shares[i],
            floor_each,
            targets[i] - floor_each,
            targets[i],
            proposed[i],
            i in binding,
        )
        for i, p in enumerate(projects)
    ]
    return Plan(out, system_limit_micros - sum(proposed), available, floor_each, counted, total_spend)


def _fill(caps: list[int | None], floor_each: int, pool: int, shares: list[float]) -> tuple[list[int], set[int]]:
    """Water-filling: projects whose share would pass their cap get the cap; the rest share what
    is left by share. Returns the proposals and the indexes whose cap binds."""
    fixed: dict[int, int] = {}
    while True:
        free = [i for i in range(len(shares)) if i not in fixed]
        left = floor_each * len(shares) + pool - sum(fixed.values()) - floor_each * len(free)
        weight = sum(shares[i] for i in free)
        want = {i: floor_each + (int(left * shares[i] / weight) if weight > 0 else 0) for i in free}
        over = [i for i in free if caps[i] is not None and want[i] > caps[i]]  # type: ignore[operator]
        if not over:
            return [fixed[i] if i in fixed else want[i] for i in range(len(shares))], set(fixed)
        for i in over:
            fixed[i] = caps[i]  # type: ignore[assignment]
