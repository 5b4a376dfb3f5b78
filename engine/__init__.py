"""Templar's engine: everything but the UI.

Invariants: this package never imports ``textual`` or ``tui``; ``litellm`` is imported in one
module only (``engine.llm.adapter``), lazily, on the paid path. ``import engine`` is cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
