"""Templar's engine: everything but the UI, and its documented Python API (``docs/python-api.md``).

    from engine import Engine, ValidationFailed
    engine = Engine.from_settings()            # $TEMPLAR_HOME or the platform's dirs
    result = await engine.generate("enum Color with members red, green and blue")

Invariants: this package never imports ``textual`` or ``tui``; ``litellm`` is imported in one
module only (``engine.llm.adapter``), lazily, on the paid path. ``import engine`` is cheap: the
names in ``__all__`` are resolved on first access (module ``__getattr__``), so ``import engine``
loads no store, config or provider code. Importing the engine never configures ``logging``
(only the ``templar`` CLI and app attach handlers; see ``engine.logs``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.store import pg_driver as _pg_driver

_pg_driver.install()  # psycopg loads only for a PostgreSQL URL (engine.store.pg_driver)

__version__ = "0.1.0"

_ERRORS = (
    "TemplarError",
    "BadInput",
    "ConfigError",
    "NotFound",
    "BudgetRefused",
    "ConfirmationRequired",
    "PriceUnknown",
    "NoProviderAvailable",
    "DeadlineExceeded",
    "ValidationFailed",
    "StoreError",
    "ExitCode",
)
_EVENTS = (
    "Event",
    "Emit",
    "LookupResult",
    "Preparing",
    "ProviderSkipped",
    "AttemptStarted",
    "AttemptFailed",
    "Backoff",
    "AttemptSucceeded",
    "ProviderCooledDown",
    "TokensStreamed",
    "StreamRestarted",
    "BudgetLevelCrossed",
    "ChainReordered",
    "ValidationDone",
    "TemplateLearned",
    "ConfigWarning",
    "Finished",
    "UsageAnomaly",
)
# public name -> the module that defines it (imported on first access)
_EXPORTS: dict[str, str] = {
    "Engine": "engine.service",
    "GenerationResult": "engine.result",
    "TemplateAnswer": "engine.result",
    "NearMiss": "engine.result",
    "RequestContext": "engine.context",
    "Delivery": "engine.delivery",
    "Paths": "engine.paths",
    "ResolvedConfig": "engine.config.cascade",
    "BudgetStatus": "engine.budget.book",
    "TemplateView": "engine.learning.library",
    **{name: "engine.errors" for name in _ERRORS},
    **{name: "engine.events" for name in _EVENTS},
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see; never executed
    from engine.budget.book import BudgetStatus
    from engine.config.cascade import ResolvedConfig
    from engine.context import RequestContext
    from engine.delivery import Delivery
    from engine.errors import (
        BadInput,
        BudgetRefused,
        ConfigError,
        ConfirmationRequired,
        DeadlineExceeded,
        ExitCode,
        NoProviderAvailable,
        NotFound,
        PriceUnknown,
        StoreError,
        TemplarError,
        ValidationFailed,
    )
    from engine.events import (
        AttemptFailed,
        AttemptStarted,
        AttemptSucceeded,
        Backoff,
        BudgetLevelCrossed,
        ChainReordered,
        ConfigWarning,
        Emit,
        Event,
        Finished,
        LookupResult,
        Preparing,
        ProviderCooledDown,
        ProviderSkipped,
        StreamRestarted,
        TemplateLearned,
        TokensStreamed,
        UsageAnomaly,
        ValidationDone,
    )
    from engine.learning.library import TemplateView
    from engine.paths import Paths
    from engine.result import GenerationResult, NearMiss, TemplateAnswer
    from engine.service import Engine
