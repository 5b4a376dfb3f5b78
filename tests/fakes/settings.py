"""User-settings text that points Templar's three default providers at a fake server.

Shared by the tests and the benchmarks, so there is one place that knows how a provider table
for the fake server looks; callers add their own [chain], [budget], [learning] tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Templar's default chain; every model is in litellm's bundled price map.
MODELS: dict[str, str] = {
    "gemini": "gemini/gemini-2.5-flash",
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
}


def api_bases(server: Any) -> dict[str, str]:
    """{provider: api_base} of a running FakeProviderServer."""
    return {name: server.api_base(name) for name in MODELS}


def provider_tables(bases: Mapping[str, str], *, timeout_s: float = 30.0) -> list[str]:
    """Lines of one [providers.NAME] table per default provider, at ``bases``, keys from
    NAME_API_KEY environment variables."""
    lines: list[str] = []
    for name, model in MODELS.items():
        lines += [
            f"[providers.{name}]",
            f'model = "{model}"',
            f'api_base = "{bases[name]}"',
            f'api_key_env = "{name.upper()}_API_KEY"',
            f"timeout_s = {timeout_s}",
            "",
        ]
    return lines
