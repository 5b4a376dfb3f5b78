"""Exporting and importing learned templates (a versioned JSON document).

    {"format": "templar-templates", "version": 1, "exported_at": "...",
     "templates": [{"name", "pattern", "body", "params": [{"name", "type", "value",
                    "description"}], "task", "code", "version", "quality",
                    "counterfactual_usd"}]}

``task`` is the pattern with the original values written back, ``code`` is what the body
renders with them. Import checks every template exactly as review does (pattern, parameters,
round trip, validation, generalisation) and writes nothing unless all pass.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import BadInput
from engine.learning.body import Param
from engine.learning.library import TemplateLibrary, params_from_json
from engine.learning.review import check, literal_in_pattern
from engine.money import micros_to_usd, usd_to_micros
from engine.safe_files import check_destination, read_regular
from engine.safe_text import name_problem
from engine.templates.render import render_body
from engine.validation import CodeValidator

FORMAT = "templar-templates"
VERSION = 1
MAX_BYTES = 20_000_000


def task_for(pattern: str, params: list[Param]) -> str:
    task = pattern
    for p in params:
        task = literal_in_pattern(task, p)
    return task


def export_templates(library: TemplateLibrary, path: Path, include_retired: bool = False) -> dict[str, Any]:
    items = []
    for view in library.templates(None if include_retired else "active"):
        params = list(view.params)
        items.append(
            {
                "name": view.name,
                "pattern": view.pattern,
                "body": view.body,
                "params": [
                    {"name": p.name, "type": p.type, "value": p.to_dict()["value"], "description": p.description}
                    for p in params
                ],
                "task": task_for(view.pattern, params),
                "code": render_body(view.body, {p.name: p.value for p in params}),
                "version": view.version,
                "quality": view.quality,
                "counterfactual_usd": micros_to_usd(view.counterfactual_micros),
                "status": view.status,
            }
        )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "templates": items,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    check_destination(path, what="templates export")  # a missing dir, a directory or a device: refused
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BadInput(f"{path}: cannot write the templates export: {exc.strerror or exc}") from None
    return {"file": str(path), "templates": len(items)}


def read_export(path: Path) -> list[dict[str, Any]]:
    """Parse and check an export file completely; raise BadInput naming the first problem."""
    raw = read_regular(path, MAX_BYTES, what="templates file")  # a FIFO or device is refused at once
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise BadInput(f"{path}: not valid JSON: nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise BadInput(f"{path}: not usable JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BadInput(f"{path}: not a Templar templates export (format must be {FORMAT!r})")
    if document.get("version") != VERSION:
        raise BadInput(f"{path}: unsupported export version {document.get('version')!r} (this Templar reads {VERSION})")
    templates = document.get("templates")
    if not isinstance(templates, list):
        raise BadInput(f"{path}: 'templates' must be a list")
    validator = CodeValidator()
    out = []
    for number, item in enumerate(templates, start=1):
        where = f"{path}: template {number}"
        if not isinstance(item, dict):
            raise BadInput(f"{where}: not an object")
        try:
            raw_params = item.get("params", [])
            if not isinstance(raw_params, list) or not all(isinstance(p, dict) for p in raw_params):
                raise TypeError("'params' must be a list of objects")
            params = params_from_json(json.dumps(raw_params))
            pattern, body, code = str(item["pattern"]), str(item["body"]), str(item["code"])
            task = str(item.get("task") or task_for(pattern, params))
            version = _bounded_int(item.get("version", 1), "version", 1, 1_000_000)
            saved = float(item.get("counterfactual_usd", 0.0))
            if not 0.0 <= saved <= 1_000_000.0:  # also refuses NaN and infinity
                raise ValueError(f"'counterfactual_usd' must be between 0 and 1000000, got {saved!r}")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise BadInput(f"{where}: malformed ({type(exc).__name__}: {exc})") from None
        name = item.get("name") or "imported"
        if (problem := name_problem(name)) is not None:  # never ../, bidi controls or terminal escapes
            raise BadInput(f"{where}: {problem}")
        preview = check(task, code, pattern, params, validator)
        if not preview.ok:
            raise BadInput(f"{where} ({item.get('name', '?')}): {preview.reason}")
        if preview.body != body:
            from engine.learning.body import round_trip

            ok, why = round_trip(body, params, code)
            if not ok:
                raise BadInput(f"{where} ({item.get('name', '?')}): round trip failed: {why}")
        out.append(
            {
                "name": name,
                "pattern": preview.pattern,
                "body": body,
                "params": list(preview.params) or params,
                "version": version,
                "quality": int(preview.score),
                "counterfactual_micros": usd_to_micros(saved),
            }
        )
    return out


def _bounded_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name!r} must be an integer from {low} to {high}, got {value!r}")
    return value


def import_templates(library: TemplateLibrary, entries: list[dict[str, Any]]) -> list[int]:
    """Insert checked entries in one transaction (all or nothing); returns the new ids."""
    from engine.store.models import Template

    now = time.time()
    ids = []
    with Template._meta.database.atomic():
        for entry in entries:
            ids.append(library.add_template(entry, now=now).id)
    return ids
