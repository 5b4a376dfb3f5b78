"""Running the engine's async methods from synchronous command handlers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``; when the caller already runs an event loop (``main()`` called from a
    notebook or an async test), on a fresh loop in a helper thread instead of failing."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="templar-cli") as pool:
        return pool.submit(asyncio.run, coro).result()
