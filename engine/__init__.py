"""Templar's engine: everything but the UI.

Invariants: this package never imports ``textual`` or ``tui``; ``litellm`` is imported in one
module only (``engine.llm.adapter``), lazily, on the paid path. ``import engine`` is cheap.
"""

from __future__ import annotations

from engine.store import pg_driver as _pg_driver

_pg_driver.install()  # psycopg loads only for a PostgreSQL URL (engine.store.pg_driver)

__version__ = "0.1.0"

__all__ = ["__version__"]
