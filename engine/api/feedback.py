"""Wrong-answer feedback through the one door (see ``engine.feedback`` for what a report does).

Invariants: a report is checked before anything is written (``clean_reason`` refuses an empty
reason and strips terminal escapes); the retirement threshold is the answer's own project and
agent setting (``learning.retire_after_wrong``); the result is a frozen ``WrongAnswer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.feedback import WrongAnswer, clean_reason

if TYPE_CHECKING:
    from engine.budget.book import BudgetBook
    from engine.learning import TemplateLibrary
    from engine.paths import Paths
    from engine.store.db import Store

DEFAULT_SCOPE = "default"


class FeedbackAPI:
    """Reporting a template answer as wrong (mixed into ``Engine``)."""

    store: Store
    library: TemplateLibrary
    book: BudgetBook
    paths: Paths
    environ: dict[str, str] | None
    clock: Callable[[], float]

    async def report_wrong_answer(self, request_id: str, reason: str) -> WrongAnswer:
        """Record that the template answer of ``request_id`` was wrong: its savings are reversed
        (a ledger row; spend and budgets untouched), the same bindings never match that template
        version again, and the template retires at ``learning.retire_after_wrong`` reports.
        Raises ``BadInput`` for an empty reason, a request that was not a template answer or was
        already reported; ``NotFound`` for an unknown request id."""
        from engine.config import load_config
        from engine.feedback import answer_scope, report_wrong

        text = clean_reason(reason)
        scope: tuple[str, str] | None = await self.store.run(answer_scope, request_id)
        project, agent = scope or (DEFAULT_SCOPE, DEFAULT_SCOPE)
        settings = load_config(self.paths, project or DEFAULT_SCOPE, agent or None, environ=self.environ).settings
        return await self.store.run(
            report_wrong,
            request_id,
            text,
            retire_after=settings.learning.retire_after_wrong,
            library=self.library,
            now=self.clock(),
            owner=self.book.owner,
        )


__all__ = ["FeedbackAPI", "WrongAnswer", "clean_reason"]
