"""Every error Templar raises on purpose, and the exit code each maps to.

    TemplarError                      exit 1  internal / unexpected
    ├── BadInput                      exit 2  the user's input is wrong; nothing was written
    │   ├── ConfigError               names file, key and line when it can
    │   └── NotFound                  a project, template, suggestion or file that is not there
    ├── BudgetRefused                 exit 3  a budget level refuses the paid call
    │   ├── ConfirmationRequired      L5 critical: a person must say yes (``--yes`` headless)
    │   └── PriceUnknown              no known price for the model: configure one (pricing.models)
    ├── NoProviderAvailable           exit 4  every provider in the chain failed or was skipped
    │   └── DeadlineExceeded          the chain's wall deadline (chain.deadline_s) passed
    ├── ValidationFailed              exit 5  the answer is not deliverable: a blocking finding
    │                                         or, for critical work, no approving review
    └── StoreError                    exit 1  the database cannot be opened or migrated

The CLI prints ``str(error)`` as one line and exits with ``error.exit_code``; the TUI shows
the same line as a notification. Messages never contain secrets.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    INTERNAL = 1
    BAD_INPUT = 2
    BUDGET_REFUSED = 3
    NO_PROVIDER = 4
    VALIDATION_FAILED = 5
    NO_KEY = 6  # doctor --ping: a provider in the chain has no API key (and none failed)
    INTERRUPTED = 130


class TemplarError(Exception):
    """Base of all deliberate Templar errors."""

    exit_code: ExitCode = ExitCode.INTERNAL
    kind: str = "internal"

    def to_dict(self) -> dict[str, object]:
        """JSON-safe description for ``--json`` output."""
        return {"error": self.kind, "message": str(self), "exit_code": int(self.exit_code)}


class BadInput(TemplarError):
    exit_code = ExitCode.BAD_INPUT
    kind = "bad_input"


class ConfigError(BadInput):
    """A configuration problem located as precisely as possible."""

    kind = "config_error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.key = key
        self.line = line
        self.message = message
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        keypart = f"{key}: " if key else ""
        super().__init__(f"{where}{keypart}{message}")

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data.update(file=self.file, key=self.key, line=self.line)
        return data


class NotFound(BadInput):
    kind = "not_found"


class BudgetRefused(TemplarError):
    exit_code = ExitCode.BUDGET_REFUSED
    kind = "budget_refused"


class ConfirmationRequired(BudgetRefused):
    kind = "confirmation_required"


class PriceUnknown(BudgetRefused):
    kind = "price_unknown"


class NoProviderAvailable(TemplarError):
    exit_code = ExitCode.NO_PROVIDER
    kind = "no_provider"


class DeadlineExceeded(NoProviderAvailable):
    kind = "deadline_exceeded"


class ValidationFailed(TemplarError):
    """The answer exists but must not be handed over as a success (``engine.delivery``).

    ``result`` is the whole ``GenerationResult`` (code, validation, review) for inspection;
    ``findings`` are ``{"rule_id", "line", "message"}`` dicts, blocking findings and review issues.
    """

    exit_code = ExitCode.VALIDATION_FAILED
    kind = "validation_failed"

    def __init__(self, message: str, *, result: object = None, findings: tuple[dict[str, object], ...] = ()) -> None:
        super().__init__(message)
        self.result = result
        self.findings = tuple(findings)

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["findings"] = list(self.findings)
        return data


class StoreError(TemplarError):
    kind = "store_error"
