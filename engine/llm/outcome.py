"""What the provider chain's steps hand each other (``engine.llm.chain``).

``ProviderChain._try_provider`` returns an ``Outcome``: ``Answered`` (the settled result) or
``MovedOn`` (why this provider did not answer). It reads the chain call's state through a
``RunView`` and changes none of it; ``Run.fold`` is the one place an outcome is added to the
call's state (attempt count, per-provider reasons, budget refusals, out of time).

Invariants: all values but ``Run`` are frozen; amounts are integer micro-dollars.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from engine.config.schema import ProviderSettings
from engine.llm.adapter import Completion
from engine.llm.failures import Failure
from engine.llm.pricing import Price

__all__ = [
    "Answered",
    "Candidate",
    "ChainResult",
    "Failed",
    "MovedOn",
    "Next",
    "Outcome",
    "Run",
    "RunView",
    "Settled",
    "Target",
]


@dataclass(frozen=True)
class ChainResult:
    """The chain's answer: which provider and model, what it cost, how many attempts it took."""

    text: str
    provider: str
    model: str
    attempts: int
    tokens_in: int
    tokens_out: int
    cost_micros: int
    latency_ms: int
    usage_measured: bool


@dataclass
class Candidate:
    """A provider in this call's order, with its price (None until priced, or when unknown)."""

    name: str
    settings: ProviderSettings
    price: Price | None


@dataclass(frozen=True)
class Answered:
    result: ChainResult


@dataclass(frozen=True)
class MovedOn:
    """Why a provider did not answer."""

    attempts: int = 0  # attempts made at this provider
    reason: str | None = None  # its line in the failure summary (None: nothing to say)
    refused: str | None = None  # a budget refusal's message
    out_of_time: bool = False  # the chain deadline stopped it


Outcome = Answered | MovedOn


@dataclass(frozen=True)
class RunView:
    """What a provider's attempts may read of the chain call: deadline, attempts so far, health."""

    deadline: float
    attempts: int
    health: dict[str, tuple[int, float]]


@dataclass
class Run:
    """What one chain call has learned so far (its providers' outcomes, folded in order)."""

    deadline: float  # clock() value after which nothing new starts
    attempts: int = 0
    last: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    health: dict[str, tuple[int, float]] = field(default_factory=dict)
    out_of_time: bool = False

    def view(self) -> RunView:
        return RunView(self.deadline, self.attempts, dict(self.health))

    def fold(self, name: str, outcome: MovedOn) -> None:
        self.attempts += outcome.attempts
        if outcome.reason is not None:
            self.last[name] = outcome.reason
        if outcome.refused is not None:
            self.refused.append(outcome.refused)
        self.out_of_time = self.out_of_time or outcome.out_of_time


@dataclass(frozen=True)
class Target:
    """One provider being attempted: its key, worst-case cost, prompt size, and whether it has
    failures on record (a success must then clear them)."""

    cand: Candidate
    price: Price
    api_key: str | None
    worst: int
    prompt_tokens: int
    dirty: bool


@dataclass(frozen=True)
class Settled:
    completion: Completion
    latency_ms: int


@dataclass(frozen=True)
class Failed:
    failure: Failure
    out_of_time: bool  # the chain's deadline (not the provider's timeout) cut the attempt


class Next(enum.Enum):
    """After a failed attempt: retry this provider, or move on (because the deadline is near)."""

    RETRY = "retry"
    MOVE_ON = "move_on"
    OUT_OF_TIME = "out_of_time"
