"""The generalisation check for string slots: every degenerate value a slot still accepts must
render and validate (otherwise the suggestion stays pending with the reason)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.learning.body import Param
from engine.learning.stringuse import PROBES
from engine.templates.errors import SlotError
from engine.templates.slots import parse_slot_type
from engine.templates.stringslots import STRING_KINDS


def string_probe_problems(
    render: Callable[[dict[str, Any]], str], params: list[Param], validate: Callable[[str], bool]
) -> list[str]:
    """Render every degenerate probe value a string slot accepts; each must validate."""
    problems: list[str] = []
    base = {p.name: p.value for p in params}
    for param in params:
        if param.base_type not in STRING_KINDS:
            continue
        slot = parse_slot_type(param.type)
        for probe in PROBES:
            try:
                slot.coerce(probe)
            except SlotError:
                continue  # refused at match time: never rendered for a user
            try:
                code = render({**base, param.name: probe})
            except Exception as exc:  # noqa: BLE001 - any render failure is a failed probe
                problems.append(f"does not generalise: {param.name}={probe!r} fails to render: {exc}")
                break
            if not validate(code):
                problems.append(f"does not generalise: {param.name}={probe!r} gives code that does not validate")
                break
    return problems
