"""Messages the app's workers post: what happened, never what to do.

Workers (threads or async) only build one of these and post it; ``@on`` handlers own every
widget and state change. Engine events arrive wrapped in ``GenerationEvent``; the streamed
text arrives as ``StreamText`` carrying the whole text so far, so a flood of tokens merges
(``can_replace``) without losing any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from textual.message import Message

from engine.events import Event

if TYPE_CHECKING:
    from engine.api import Preview, SuggestionView, TemplateSpec, TemplateView
    from engine.api.budget import BudgetStatus
    from engine.service import Engine, GenerationResult


@dataclass(frozen=True)
class GenerationRequest:
    """One press of Generate: what to ask and how."""

    task: str
    project: str
    agent: str
    confirmed: bool = False
    fresh: bool = False  # regenerate: skip templates and the cache, ask a provider again


class EngineReady(Message):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine


class ConfigChecked(Message):
    """The cascade was re-read after a config file changed (``error`` is None when it is valid)."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


class EngineFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class PendingCounted(Message):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count


class ScopesLoaded(Message):
    """Projects and, for each, its agents (from the config directory)."""

    def __init__(self, scopes: dict[str, list[str]]) -> None:
        super().__init__()
        self.scopes = scopes


class ProvidersChecked(Message):
    def __init__(self, rows: list[dict[str, Any]], hint: str) -> None:
        super().__init__()
        self.rows = rows
        self.hint = hint


class GenerationEvent(Message):
    def __init__(self, request: GenerationRequest, event: Event) -> None:
        super().__init__()
        self.request = request
        self.event = event


class StreamText(Message):
    """The streamed text so far, and the seconds since its first piece arrived (for the rate)."""

    def __init__(self, request: GenerationRequest, text: str, elapsed_s: float = 0.0) -> None:
        super().__init__()
        self.request = request
        self.text = text
        self.elapsed_s = elapsed_s

    @property
    def tokens(self) -> int:
        """About how many tokens arrived: ~4 characters a token (providers chunk differently, so
        counting chunks would not be comparable; exact counting needs the LLM client)."""
        return (len(self.text) + 3) // 4

    @property
    def rate(self) -> float | None:
        """Tokens per second since the first piece; None until there is a span to divide by."""
        return self.tokens / self.elapsed_s if self.elapsed_s > 0.05 else None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StreamText) and message.request == self.request


class GenerationDone(Message):
    def __init__(self, request: GenerationRequest, result: GenerationResult) -> None:
        super().__init__()
        self.request = request
        self.result = result


class GenerationFailed(Message):
    def __init__(self, request: GenerationRequest, error: BaseException) -> None:
        super().__init__()
        self.request = request
        self.error = error


class ConfirmationNeeded(Message):
    """Budget level L5: a person must confirm the paid call before it is made."""

    def __init__(self, request: GenerationRequest, reason: str) -> None:
        super().__init__()
        self.request = request
        self.reason = reason


class GenerationCancelled(Message):
    def __init__(self, request: GenerationRequest) -> None:
        super().__init__()
        self.request = request


# -- what screens' workers read or did (one message per fact, typed) -----------------------


class TemplatesLoaded(Message):
    """The library's rows: learned templates (retired included) and the built-in pack."""

    def __init__(self, learned: list[TemplateView], builtins: list[TemplateSpec]) -> None:
        super().__init__()
        self.learned = learned
        self.builtins = builtins


class TemplateDetailLoaded(Message):
    """One learned template with its versions, for the library's detail pane."""

    def __init__(self, view: TemplateView) -> None:
        super().__init__()
        self.view = view


class SuggestionsLoaded(Message):
    """The review queue: every pending suggestion."""

    def __init__(self, pending: list[SuggestionView]) -> None:
        super().__init__()
        self.pending = pending


class PreviewLoaded(Message):
    """What accepting ``suggestion`` would do (render, round trip, findings)."""

    def __init__(self, suggestion: SuggestionView, preview: Preview) -> None:
        super().__init__()
        self.suggestion = suggestion
        self.preview = preview


class SuggestionEdited(Message):
    """A suggestion after an edit (pattern, a parameter, or a parameter dropped)."""

    def __init__(self, view: SuggestionView) -> None:
        super().__init__()
        self.view = view


class SuggestionDecided(Message):
    """A review decision finished: ``accepted`` (``result`` is the template), ``rejected`` (the
    suggestion), or ``failed`` (``result`` is None; the error went out as ``Failed``)."""

    def __init__(
        self, outcome: Literal["accepted", "rejected", "failed"], result: TemplateView | SuggestionView | None = None
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.result = result


class PromptSubmitted(Message):
    """A prompt dialog's submit call returned ``result``."""

    def __init__(self, result: object) -> None:
        super().__init__()
        self.result = result


class PatternChecked(Message):
    """The live check of a pattern being edited: ``text`` as typed, its ``preview``."""

    def __init__(self, text: str, preview: Preview) -> None:
        super().__init__()
        self.text = text
        self.preview = preview


class BudgetLoaded(Message):
    """Everything the budget screen shows except the allocation."""

    def __init__(
        self,
        statuses: list[BudgetStatus],
        now: float,
        days: dict[str, Any],
        providers: dict[str, Any],
        models: dict[str, Any],
        alerts: list[Any],
        anomalies: list[Any],
    ) -> None:
        super().__init__()
        self.statuses = statuses
        self.now = now
        self.days = days
        self.providers = providers
        self.models = models
        self.alerts = alerts
        self.anomalies = anomalies


class AllocationLoaded(Message):
    """The allocator's proposal (JSON-ready), or why there is none (``error``)."""

    def __init__(self, proposal: dict[str, Any] | None, error: str = "") -> None:
        super().__init__()
        self.proposal = proposal
        self.error = error


class ConfigRowsLoaded(Message):
    """Every resolved key of a scope with its provenance (the config screen's table)."""

    def __init__(self, rows: list[Any]) -> None:
        super().__init__()
        self.rows = rows


class ConfigBroken(Message):
    """The cascade could not be resolved: a file is malformed or invalid."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class ConfigFilesListed(Message):
    """Without an engine: the files the cascade reads, as (level, path, exists)."""

    def __init__(self, files: list[tuple[str, str, bool]]) -> None:
        super().__init__()
        self.files = files


class Failed(Message):
    """An engine call made for a screen failed; the handler shows it as a notification."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__()
        self.what = what
        self.error = error


class LlmClientWarmed(Message):
    """The background import of the LLM client finished (``error`` is None when it loaded)."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error
