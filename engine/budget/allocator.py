"""Dividing the system budget among projects.

    available  = system limit x (1 - reserve%)
    each project first gets the floor (scaled down together if the floors alone exceed it);
    the rest is shared by a blend of configured weight and recent spend:
        share = (1 - burn_share) x weight / sum(weights) + burn_share x burn / sum(burns)
    (weights alone when nobody has spent anything in the window).

Amounts are integer micro-dollars; rounding leftovers stay in the reserve, so the proposal
never exceeds the system limit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProjectInput:
    project: str
    weight: float
    burn_micros: int
    current_limit_micros: int | None


@dataclass(frozen=True)
class Allocation:
    project: str
    weight: float
    burn_micros: int
    current_limit_micros: int | None
    proposed_micros: int


def allocate(
    system_limit_micros: int, projects: list[ProjectInput], *, reserve_pct: float, floor_micros: int, burn_share: float
) -> tuple[list[Allocation], int]:
    """Proposed limits per project, and the reserve kept back (everything not allocated)."""
    if not projects:
        return [], system_limit_micros
    available = int(system_limit_micros * (100 - reserve_pct) / 100)
    floors = floor_micros * len(projects)
    floor_each = floor_micros if floors <= available else available // len(projects)
    rest = available - floor_each * len(projects)
    total_weight = sum(p.weight for p in projects) or 1.0
    total_burn = sum(p.burn_micros for p in projects)
    blend = burn_share if total_burn > 0 else 0.0
    out = []
    for p in projects:
        share = (1 - blend) * p.weight / total_weight + (blend * p.burn_micros / total_burn if total_burn else 0.0)
        out.append(Allocation(p.project, p.weight, p.burn_micros, p.current_limit_micros, floor_each + int(rest * share)))
    return out, system_limit_micros - sum(a.proposed_micros for a in out)
