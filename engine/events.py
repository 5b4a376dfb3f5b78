"""What the engine reports while it works: typed, frozen events.

The engine never calls into a UI. Long operations take an ``emit`` callable and hand it these
events; the TUI turns them into Textual messages, the CLI into a progress line on stderr or a
JSON list. ``to_dict`` gives the JSON form (``{"event": "attempt_failed", ...}``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base class: every event has a snake_case ``event`` name in its dict form."""

    def to_dict(self) -> dict[str, Any]:
        """``asdict`` with the ``event`` name; plain fields (every event's but one) are copied as
        they are, the rest as ``asdict`` would (each served answer turns 4-6 events into JSON:
        ``asdict``'s generic recursion was a third of the server's own time per template hit)."""
        names, event = _shape(type(self))
        data = {name: _plain(getattr(self, name)) for name in names}
        data["event"] = event
        return data


_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    return asdict(_Box(value)).get("value")  # lists, tuples, nested dataclasses: asdict's own copy


@dataclass(frozen=True)
class _Box:
    value: Any


_SHAPES: dict[type, tuple[tuple[str, ...], str]] = {}


def _shape(cls: type) -> tuple[tuple[str, ...], str]:
    """(field names, snake_case event name) of an event class, worked out once per class."""
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = (tuple(f.name for f in fields(cls)), _snake(cls.__name__))
    return shape


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


@dataclass(frozen=True)
class LookupResult(Event):
    """A cheaper source was consulted: learned template, built-in template, or cache."""

    source: str
    hit: bool
    detail: str = ""


@dataclass(frozen=True)
class Preparing(Event):
    """Slow one-time work before a paid call (loading the LLM client takes seconds)."""

    detail: str


@dataclass(frozen=True)
class ProviderSkipped(Event):
    provider: str
    model: str
    reason: str


@dataclass(frozen=True)
class AttemptStarted(Event):
    provider: str
    model: str
    attempt: int
    reserved_usd: float
    purpose: str = "llm"  # llm (the answer) | repair | review | suggest | ping


@dataclass(frozen=True)
class AttemptFailed(Event):
    provider: str
    model: str
    attempt: int
    error_class: str
    message: str
    retryable: bool


@dataclass(frozen=True)
class Backoff(Event):
    provider: str
    attempt: int
    delay_s: float
    reason: str


@dataclass(frozen=True)
class AttemptSucceeded(Event):
    provider: str
    model: str
    attempt: int
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: int


@dataclass(frozen=True)
class ProviderCooledDown(Event):
    provider: str
    seconds: float
    failures: int


@dataclass(frozen=True)
class TokensStreamed(Event):
    provider: str
    text: str


@dataclass(frozen=True)
class StreamRestarted(Event):
    """A stream failed part way; text shown so far is discarded and another attempt begins."""

    provider: str


@dataclass(frozen=True)
class BudgetLevelCrossed(Event):
    """A budget reached an alert level for the first time this period (spent + reserved)."""

    scope: str
    key: str
    period: str
    level: int
    level_name: str
    percent: float
    used_micros: int = 0
    limit_micros: int | None = None


@dataclass(frozen=True)
class UsageAnomaly(Event):
    """A provider's usage claim was not believed; the call was charged ``charged_micros``
    (at most the reservation's worst case). See ``engine.budget.usage``."""

    provider: str
    model: str
    anomaly: str
    claimed_micros: int | None
    charged_micros: int


@dataclass(frozen=True)
class ChainReordered(Event):
    level: int
    order: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ValidationDone(Event):
    ok: bool
    score: int
    findings: int


@dataclass(frozen=True)
class TemplateLearned(Event):
    suggestion_id: int
    status: str


@dataclass(frozen=True)
class ConfigWarning(Event):
    """Something in the configuration was not honoured (e.g. an untrusted provider route)."""

    message: str


@dataclass(frozen=True)
class Finished(Event):
    source: str
    cost_usd: float
    saved_usd: float


Emit = Callable[[Event], None]


EVENT_TYPES = {_snake(cls.__name__): cls for cls in Event.__subclasses__()}
__all__ = ["EVENT_TYPES", "Emit", "Event"] + [cls.__name__ for cls in Event.__subclasses__()]
