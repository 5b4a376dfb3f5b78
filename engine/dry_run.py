"""``--dry-run``: which tier would answer a request, and what a paid answer could cost at most.

Walks the pipeline's tiers in its order (``engine.pipeline``) without side effects: the cache is
peeked (no hit recorded), a matching template is rendered and validated in process (validation
never runs code and calls nothing), and for a paid answer the provider the chain would try first
and the worst case of every paid step (``engine.cost_cap``) are reported (the repairs', review's
and suggestion's prompts hold an answer not yet written: it is taken at its longest). No provider is called,
no reservation is made, nothing is written, and litellm is not imported.

A critical request is served by a template or the cache only with an approving review; a dry
run cannot know the verdict, so it reports the tier it would try and the review's worst case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import cache as response_cache
from engine.cost_cap import (
    payable_providers,
    review_worst_micros,
    step_worst_micros,
    usd,
)
from engine.critical import decide_critical
from engine.learning.suggest import build_messages as suggestion_messages
from engine.learning.zeroslot import has_no_values
from engine.money import micros_to_usd
from engine.pipeline import (
    answer_cache_key,
    build_messages,
    builtin_index,
    validation_policy,
)
from engine.templates import TemplateIndex
from engine.text import clean_task
from engine.validation import CodeValidator

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["DryRun", "plan"]

_SUGGEST_MAX_TOKENS = 800
# The later steps' prompts hold the answer, not known before it exists: it is taken at its longest,
# max_tokens tokens of 6 bytes each (code averages under 4), and a repair prompt of 10 findings.
_BYTES_PER_ANSWER_TOKEN = 6
_REPAIR_PROMPT = "x" * 4000


@dataclass(frozen=True)
class DryRun:
    """The answer to "what would happen?". ``tier``: learned | builtin | cache | llm | none."""

    tier: str
    reason: str
    critical: bool
    provider: str = ""
    model: str = ""
    worst_case_micros: int = 0  # every paid step together: answer + repairs + review + suggestion
    steps: dict[str, int] = field(default_factory=dict)  # step -> worst case, micro-dollars
    template: str = ""

    @property
    def paid(self) -> bool:
        return self.worst_case_micros > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "tier": self.tier,
            "reason": self.reason,
            "critical": self.critical,
            "provider": self.provider,
            "model": self.model,
            "template": self.template,
            "worst_case_usd": micros_to_usd(self.worst_case_micros),
            "steps_usd": {k: micros_to_usd(v) for k, v in self.steps.items()},
        }

    def summary(self) -> str:
        """One line for people: ``llm via openai (openai/gpt-4o-mini): worst case $0.000123``."""
        where = f" via {self.provider} ({self.model})" if self.provider else ""
        cost = f": worst case {usd(self.worst_case_micros)}" if self.worst_case_micros else ": $0"
        return f"{self.tier}{where}{cost} — {self.reason}"


async def plan(
    engine: Engine,
    task: str,
    *,
    project: str,
    agent: str,
    max_tokens: int | None = None,
    use_cache: bool = True,
    use_templates: bool = True,
    critical: bool | None = None,
) -> DryRun:
    task = clean_task(task)
    settings = engine.config(project, agent).settings
    decision = decide_critical(settings, task, critical)
    messages = build_messages(settings, task)
    max_tokens = max_tokens or settings.generation.max_tokens
    policy = validation_policy(settings)
    caching = settings.cache.enabled and use_cache
    key = answer_cache_key(settings, messages, max_tokens)
    library = engine.library

    def probe() -> tuple[tuple[int, ...], response_cache.CachedAnswer | None]:
        return library.stamp(), response_cache.peek(key, engine.clock()) if caching else None

    stamp, cached = await engine.store.run(probe)
    review = 0

    async def free(code: str) -> bool:
        return (await CodeValidator(policy).validate_async(code)).ok

    if cached is not None and not decision.critical and await free(cached.code):
        return DryRun("cache", f"an exact repeat: cached answer from {cached.provider or 'an earlier call'}", False)
    if use_templates:
        current = library.cached_index(stamp)
        learned: TemplateIndex = current if current is not None else await engine.store.run(library.index)
        for source, index in (("learned", learned), ("builtin", builtin_index())):
            match = index.match(task)
            if match is None or match.template is None:
                continue
            spec = match.template
            if library.refusal(spec.name, spec.version, dict(match.bindings)):
                continue
            try:
                code = spec.render(match.bindings)
            except Exception:  # noqa: BLE001, S112 - a broken template is a miss, as in the pipeline
                continue
            if not await free(code):
                continue
            if not decision.critical:
                return DryRun(source, f"{spec.name} v{spec.version}: {match.explanation}", False, template=spec.name)
            review = review_worst_micros(settings, task, code, engine.environ)
            return DryRun(
                source,
                f"{spec.name} v{spec.version}, if a second provider approves it (critical)",
                True,
                worst_case_micros=review,
                steps={"review": review},
                template=spec.name,
            )
    if cached is not None and decision.critical and await free(cached.code):
        review = review_worst_micros(settings, task, cached.code, engine.environ)
        return DryRun(
            "cache",
            "cached answer, if a second provider approves it (critical)",
            True,
            worst_case_micros=review,
            steps={"review": review},
        )
    payable = payable_providers(settings, engine.environ)
    if not payable:
        return DryRun(
            "none", "no template or cached answer, and no provider has its key and a known price", decision.critical
        )
    name, model, _ = payable[0]
    steps = {"answer": step_worst_micros(settings, messages, max_tokens, engine.environ)}
    placeholder = "x" * (max_tokens * _BYTES_PER_ANSWER_TOKEN)
    repairs = settings.validation.max_repairs
    if repairs:
        grown = messages + [{"role": "assistant", "content": placeholder}, {"role": "user", "content": _REPAIR_PROMPT}]
        steps["repairs"] = repairs * step_worst_micros(settings, grown, max_tokens, engine.environ)
    if decision.critical:
        steps["review"] = review_worst_micros(settings, task, placeholder, engine.environ)
    if settings.learning.enabled and not has_no_values(task):
        steps["suggestion"] = step_worst_micros(
            settings, suggestion_messages(task, placeholder), _SUGGEST_MAX_TOKENS, engine.environ
        )
    reason = "no template or cached answer: a paid call" + (" (critical: reviewed)" if decision.critical else "")
    return DryRun("llm", reason, decision.critical, name, model, sum(steps.values()), steps)
