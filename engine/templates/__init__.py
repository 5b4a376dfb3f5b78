"""Templates: task patterns with typed slots, sandboxed rendering, an index, a built-in pack.

Usage::

    from engine.templates import TemplateIndex, load_builtin_pack
    index = TemplateIndex(load_builtin_pack())
    m = index.match("dataclass Invoice with fields number: int, total: float")
    code = m.render() if m else None
"""

from __future__ import annotations

from engine.templates.builtin import load_builtin_pack
from engine.templates.errors import (
    BindingError,
    PatternError,
    RenderError,
    SlotError,
    SpecError,
)
from engine.templates.matcher import Similar, TemplateIndex
from engine.templates.normalize import FILLER_WORDS, NormalizedTask
from engine.templates.pattern import Match, TaskPattern
from engine.templates.render import escape_literal, render_body
from engine.templates.slots import SlotType, parse_slot_type
from engine.templates.spec import NO_DEFAULT, ParamSpec, TemplateExample, TemplateSpec

__all__ = [
    "FILLER_WORDS",
    "NO_DEFAULT",
    "BindingError",
    "Match",
    "NormalizedTask",
    "ParamSpec",
    "PatternError",
    "RenderError",
    "Similar",
    "SlotError",
    "SlotType",
    "SpecError",
    "TaskPattern",
    "TemplateExample",
    "TemplateIndex",
    "TemplateSpec",
    "escape_literal",
    "load_builtin_pack",
    "parse_slot_type",
    "render_body",
]
