"""Printing for the CLI: JSON on stdout, human tables, progress lines on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from engine.events import (
    AttemptFailed,
    AttemptStarted,
    AttemptSucceeded,
    Backoff,
    BudgetLevelCrossed,
    ChainReordered,
    ConfigWarning,
    Event,
    LookupResult,
    Preparing,
    ProviderCooledDown,
    ProviderSkipped,
    StreamRestarted,
    TemplateLearned,
    TokensStreamed,
)
from engine.scrub import scrub


def print_json(data: Any) -> None:
    from engine.cli.json_text import dumps  # json.dumps(indent=2, default=str, ensure_ascii=False), faster

    print(dumps(data))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table (no colour, safe for pipes)."""
    body = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in body)
    return "\n".join(lines)


def gauge(percent: float, width: int = 20) -> str:
    filled = max(0, min(width, round(width * percent / 100)))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def describe(event: Event) -> str | None:
    """One progress line for an event (None for events shown another way)."""
    if isinstance(event, LookupResult):
        return f"· {event.source}: {'hit' if event.hit else 'miss'}" + (f" ({event.detail})" if event.detail else "")
    if isinstance(event, Preparing):
        return f"· {event.detail}"
    if isinstance(event, ProviderSkipped):
        return f"· skip {event.provider}: {scrub(event.reason)}"
    if isinstance(event, AttemptStarted):
        purpose = "" if event.purpose == "llm" else f" [{event.purpose}]"
        return (
            f"→ {event.provider} ({event.model}) attempt {event.attempt}{purpose}, reserved ${event.reserved_usd:.6f}"
        )
    if isinstance(event, AttemptFailed):
        then = "will retry" if event.retryable else "next provider"
        return f"✗ {event.provider} attempt {event.attempt}: {event.error_class}: {scrub(event.message)[:100]} ({then})"
    if isinstance(event, Backoff):
        return f"… waiting {event.delay_s:.1f}s before retrying {event.provider} ({event.reason})"
    if isinstance(event, AttemptSucceeded):
        return (
            f"✓ {event.provider}: {event.tokens_in} in / {event.tokens_out} out tokens, "
            f"${event.cost_usd:.6f}, {event.latency_ms} ms"
        )
    if isinstance(event, ProviderCooledDown):
        return f"! {event.provider} cools down for {event.seconds:.0f}s after {event.failures} failures"
    if isinstance(event, BudgetLevelCrossed):
        return f"! budget {event.scope} {event.key} reached L{event.level} {event.level_name} ({event.percent:.1f}%)"
    if isinstance(event, ChainReordered):
        return f"! {event.reason}: {' -> '.join(event.order)}"
    if isinstance(event, StreamRestarted):
        return f"\n! stream from {event.provider} failed; retrying"
    if isinstance(event, ConfigWarning):
        return f"! {event.message}"
    if isinstance(event, TemplateLearned):
        if event.suggestion_id and event.status == "pending":
            return (
                f"✎ suggestion #{event.suggestion_id} is pending: review it with "
                f"`templar templates review {event.suggestion_id}`"
            )
        if event.suggestion_id:
            return f"✎ suggestion #{event.suggestion_id} {event.status}"
        return f"✎ {event.status}"
    if isinstance(event, TokensStreamed):
        return None
    return None


def json_line(data: dict[str, Any]) -> None:
    """One JSON object on one stderr line (its strings scrubbed: a provider's error text may echo a key)."""
    clean = {key: scrub(value) if isinstance(value, str) else value for key, value in data.items()}
    sys.stderr.write(json.dumps(clean, default=str, ensure_ascii=False) + "\n")
    sys.stderr.flush()


class Progress:
    """Writes progress lines (and streamed tokens) to stderr; with ``as_json`` every event is
    one JSON line instead (streamed tokens included, as ``tokens_streamed`` objects)."""

    def __init__(self, enabled: bool, stream_tokens: bool, as_json: bool = False) -> None:
        self.enabled = enabled
        self.stream_tokens = stream_tokens
        self.as_json = as_json
        self._mid_stream = False

    def __call__(self, event: Event) -> None:
        if self.as_json:
            if self.enabled or isinstance(event, ConfigWarning):
                json_line(event.to_dict())
            return
        if isinstance(event, TokensStreamed):
            if self.stream_tokens:
                sys.stderr.write(event.text)
                sys.stderr.flush()
                self._mid_stream = True
            return
        if not self.enabled and not isinstance(event, ConfigWarning):  # warnings are shown even in pipes
            return
        line = describe(event)
        if line:
            if self._mid_stream:
                sys.stderr.write("\n")
                self._mid_stream = False
            print(line, file=sys.stderr, flush=True)
