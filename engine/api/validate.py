"""Checking code without running it, with the validation policy the config cascade sets
(``templar validate``): a mixin of ``Engine`` and ``ConfigDesk``, so it works without a database."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.paths import Paths
    from engine.validation import ValidationReport


class ValidateAPI:
    """``validate_code``: the validator every answer passes, on code a person brings."""

    paths: Paths
    environ: dict[str, str] | None

    def validate_code(
        self, code: str, *, filename: str = "code.py", project: str | None = None, agent: str | None = None
    ) -> ValidationReport:
        """Validate ``code`` (never executed) under the policy of ``project``/``agent``'s settings.
        CPU-bound and synchronous: call it from a thread in an event loop."""
        from engine.config import load_config
        from engine.pipeline import validation_policy
        from engine.validation import CodeValidator

        settings = load_config(self.paths, project, agent, environ=self.environ).settings
        return CodeValidator(validation_policy(settings)).validate(code, filename=filename)


__all__ = ["ValidateAPI"]
