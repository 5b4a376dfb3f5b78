"""Messages the app's workers post: what happened, never what to do.

Workers (threads or async) only build one of these and post it; ``@on`` handlers own every
widget and state change. Engine events arrive wrapped in ``GenerationEvent``; the streamed
text arrives as ``StreamText`` carrying the whole text so far, so a flood of tokens merges
(``can_replace``) without losing any.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from engine.events import Event

if TYPE_CHECKING:
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


class Loaded(Message):
    """A screen's data, read by a worker: ``kind`` names what, ``data`` is plain data."""

    def __init__(self, kind: str, data: Any) -> None:
        super().__init__()
        self.kind = kind
        self.data = data


class Failed(Message):
    """An engine call made for a screen failed; the handler shows it as a notification."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__()
        self.what = what
        self.error = error


class Done(Message):
    """An engine action for a screen finished (``kind`` says which), with its result."""

    def __init__(self, kind: str, data: Any = None) -> None:
        super().__init__()
        self.kind = kind
        self.data = data


class LlmClientWarmed(Message):
    """The background import of the LLM client finished (``error`` is None when it loaded)."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error
