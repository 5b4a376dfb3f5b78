"""Errors raised by the template core.

All of them derive from :mod:`engine.errors`, so the CLI maps them to exit codes:

    PatternError   (BadInput)     a task pattern's text is malformed
    SlotError      (BadInput)     a slot value does not parse or type-check
    BindingError   (BadInput)     bindings given to a template are missing, unknown or ill-typed
    SpecError      (BadInput)     a template spec is inconsistent (patterns vs params, file format)
    RenderError    (TemplarError) Jinja2 failed: undefined name, sandbox violation, output too big
"""

from __future__ import annotations

from engine.errors import BadInput, TemplarError


class PatternError(BadInput):
    """A task pattern's text cannot be parsed."""

    kind = "pattern_error"


class SlotError(BadInput):
    """A slot value does not parse, or plain data does not have the slot's type."""

    kind = "slot_error"


class BindingError(BadInput):
    """Bindings for a template are missing, unknown, or of the wrong type."""

    kind = "binding_error"


class SpecError(BadInput):
    """A template spec (or its data file) is inconsistent."""

    kind = "spec_error"


class RenderError(TemplarError):
    """Rendering a template body failed; ``__cause__`` holds the Jinja2 error."""

    kind = "render_error"
