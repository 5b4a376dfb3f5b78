"""What the pipeline sends a model: the task prompt, the repair prompt, the validation policy.

Invariants: the task is substituted literally (braces in it stay inert); a repair prompt names
at most ten blocking findings. Pure functions of the settings.
"""

from __future__ import annotations

from engine.config.schema import Settings
from engine.validation import ValidationPolicy, ValidationReport

__all__ = ["build_messages", "repair_message", "validation_policy"]


def validation_policy(settings: Settings) -> ValidationPolicy:
    v = settings.validation
    return ValidationPolicy(
        block_severity=v.block_severity,
        min_type_hint_coverage=v.min_type_hint_coverage,
        min_docstring_coverage=v.min_docstring_coverage,
        coverage_blocks=v.coverage_blocks,
    )


def build_messages(settings: Settings, task: str) -> list[dict[str, str]]:
    """System and user messages. The task is substituted literally: braces in it stay inert."""
    prompt = settings.prompts.task.replace("{language}", settings.generation.language).replace("{task}", task)
    return [{"role": "system", "content": settings.prompts.system}, {"role": "user", "content": prompt}]


def repair_message(report: ValidationReport) -> dict[str, str]:
    lines = [f"- line {f.line}: {f.rule_id} {f.message}" for f in report.blocking[:10]]
    return {
        "role": "user",
        "content": "The code failed validation with these blocking findings:\n"
        + "\n".join(lines)
        + "\nReturn the corrected, complete code in one fenced block.",
    }
