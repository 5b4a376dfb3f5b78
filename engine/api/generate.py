"""Generation helpers through the one door (``Engine.generate`` and ``generate_events`` are the
generation itself): checking scope names, warming the LLM client.

Invariants: ``litellm`` is imported only by ``warm_up_llm`` (through ``engine.llm.adapter``, the
one module that imports it), in a worker thread, and only when a surface asks for it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from engine.config.cascade import validate_project_name

if TYPE_CHECKING:
    from engine.store.db import Store


def check_scope_name(name: str, what: str = "project") -> str:
    """``name`` if it can name a project or agent (``what``), else ``ConfigError`` saying why
    (letters, digits, '_', '-', '.'; at most 64; never a path)."""
    return validate_project_name(name, what)


class GenerateAPI:
    """What surfaces need around a generation (mixed into ``Engine``)."""

    store: Store

    async def warm_up_llm(self) -> None:
        """Import the LLM client now, in a worker thread (seconds of CPU), so the first paid call
        of a session does not wait for it. Raises what the import raised."""
        from engine.llm import adapter

        await asyncio.to_thread(adapter.litellm)


__all__ = ["GenerateAPI", "check_scope_name"]
