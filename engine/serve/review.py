"""The review queue over HTTP: suggestions and learned templates, one thin handler each.

    GET  /api/suggestions                 the pending suggestions, oldest first
    GET  /api/suggestions/{id}            {"suggestion": ..., "preview": ...}: the checks accepting
                                          would run (``?pattern=`` previews another pattern; only a
                                          pending suggestion has a preview, else it is null)
    POST /api/suggestions/{id}/edit       {"pattern", "rename": {old: new}, "retype": {name: type},
                                          "drop": [name]} -> the edited suggestion
    POST /api/suggestions/{id}/accept     {"unseen": false} -> the template it became
    POST /api/suggestions/{id}/reject     {"reason": "..."} -> the rejected suggestion
    GET  /api/templates/{id}              one learned template with its versions and aliases

Each handler calls one public ``Engine`` method (``engine.api.suggestions`` / ``templates``).
Errors keep the engine's kinds: an unknown id (or one that is not a number) is 404
``not_found``; a bad field, or a suggestion that is no longer pending, is 400 ``bad_input``;
``accept`` with ``"unseen": true`` (no person read the code: an automated policy) on code with
security findings is 409 ``held_for_review`` with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.errors import BadInput, NotFound
from engine.serve.common import error_body, read_json

if TYPE_CHECKING:
    from engine.service import Engine

MAX_PATTERN = 2_000  # characters: a pattern is one task's wording

__all__ = ["accept", "edit", "reject", "suggestion", "suggestions", "template"]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.templar.engine
    return engine


def _error(exc: BaseException) -> JSONResponse:
    status, data = error_body(exc)
    return JSONResponse(data, status_code=status)


def _id(request: Request, what: str) -> int:
    """The ``{id}`` of the path as a row id; anything else is "not found" (404), like the engine's."""
    text = str(request.path_params["id"])
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise NotFound(f"no {what} {text[:40]!r}")
    return int(text)


def _pattern(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadInput("pattern must be a non-empty string")
    if len(value) > MAX_PATTERN:
        raise BadInput(f"pattern is longer than {MAX_PATTERN} characters")
    return value


def _names(value: object, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadInput(f"{what} must be an object of parameter name -> text")
    return dict(value)


def _list(value: object, what: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{what} must be a list of parameter names")
    return list(value)


async def suggestions(request: Request) -> Response:
    try:
        views = await _engine(request).pending_suggestions()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error
        return _error(exc)
    return JSONResponse([v.to_dict() for v in views])


async def suggestion(request: Request) -> Response:
    engine = _engine(request)
    try:
        view = await engine.get_suggestion(_id(request, "suggestion"))
        pattern = _pattern(request.query_params.get("pattern"))
        preview = await engine.preview_suggestion(view, pattern) if view.status == "pending" else None
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse({"suggestion": view.to_dict(), "preview": preview.to_dict() if preview else None})


async def edit(request: Request) -> Response:
    try:
        suggestion_id = _id(request, "suggestion")
        body = await read_json(request)
        unknown = sorted(set(body) - {"pattern", "rename", "retype", "drop"})
        if unknown:
            raise BadInput(f"unknown edit field(s): {', '.join(unknown)} (pattern, rename, retype, drop)")
        if not body:
            raise BadInput("nothing to edit: send pattern, rename, retype or drop")
        view = await _engine(request).edit_suggestion(
            suggestion_id,
            pattern=_pattern(body.get("pattern")),
            rename=_names(body.get("rename"), "rename"),
            retype=_names(body.get("retype"), "retype"),
            drop=_list(body.get("drop"), "drop"),
        )
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(view.to_dict())


async def accept(request: Request) -> Response:
    try:
        suggestion_id = _id(request, "suggestion")
        body = await read_json(request)
        unseen: Any = body.get("unseen", False)
        if not isinstance(unseen, bool):
            raise BadInput("unseen must be true or false")
        view = await _engine(request).accept_suggestion(suggestion_id, unseen=unseen)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(view.to_dict())


async def reject(request: Request) -> Response:
    try:
        suggestion_id = _id(request, "suggestion")
        body = await read_json(request)
        reason: Any = body.get("reason", "rejected in review")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_PATTERN:
            raise BadInput(f"reason must be a non-empty string of at most {MAX_PATTERN} characters")
        view = await _engine(request).reject_suggestion(suggestion_id, reason.strip())
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(view.to_dict())


async def template(request: Request) -> Response:
    try:
        view = await _engine(request).get_template(_id(request, "template"))
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(view.to_dict())
