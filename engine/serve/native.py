"""The native JSON API: the ``Engine``'s public methods over HTTP, one thin handler each.

    POST /api/generate   {"task", "project", "agent", "critical", "max_tokens", "max_usd",
                          "use_cache", "use_templates", "confirmed", "dry_run"}
                         -> the result (``GenerationResult.to_dict``); 422 when not deliverable.
                         With ``Accept: text/event-stream`` (or ``"events": true``): SSE, one
                         ``event: <name>`` per engine event, then ``event: result`` (or ``error``).
    POST /api/dry-run    the same body -> which tier would answer, worst-case cost; calls nothing
    GET  /api/stats      ?since=7d&by=provider
    GET  /api/budget     ?project=&agent=
    GET  /api/templates  ?all=true
    POST /api/feedback   {"request_id", "reason"}: a template answer was wrong

The review queue (``/api/suggestions...``, ``/api/templates/{id}``) is in ``engine.serve.review``.

Errors: ``{"error": kind, "message", "exit_code"}`` with the status of ``engine.serve.common``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from engine.errors import BadInput
from engine.events import Event
from engine.serve.common import GenerateArgs, error_body, read_json

if TYPE_CHECKING:
    from engine.serve.lifecycle import ServerState
    from engine.service import GenerationResult

__all__ = ["budget", "dry_run", "feedback", "generate", "stats", "templates"]


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.templar
    return state


def _error(exc: BaseException) -> JSONResponse:
    status, data = error_body(exc)
    return JSONResponse(data, status_code=status)


async def _args(request: Request) -> tuple[GenerateArgs, dict[str, Any]]:
    body = await read_json(request)
    return GenerateArgs.parse(body.get("task"), body, body.get("project"), body.get("agent")), body


def _result_response(result: GenerationResult) -> JSONResponse:
    return JSONResponse(
        result.to_dict(),
        status_code=200 if result.ok else 422,
        headers={"x-templar-source": result.source, "x-templar-request-id": result.request_id},
    )


async def generate(request: Request) -> Response:
    state = _state(request)
    try:
        args, body = await _args(request)
        if args.dry_run:
            return JSONResponse((await state.engine.dry_run(args.task, **args.dry_run_kwargs())).to_dict())
        if body.get("events") or "text/event-stream" in request.headers.get("accept", ""):
            return StreamingResponse(
                _events(state, args), media_type="text/event-stream", headers={"cache-control": "no-cache"}
            )
        async with state.admitted(args.project or "default"):
            with state.tracking():
                result = await state.engine.generate(args.task, raise_on_invalid=False, **args.engine_kwargs())
    except Exception as exc:  # noqa: BLE001 - every failure becomes a JSON error
        return _error(exc)
    return _result_response(result)


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


_DONE = object()


async def _events(state: ServerState, args: GenerateArgs) -> AsyncIterator[bytes]:
    """The engine's events as they happen, then the result. A client that goes away cancels the
    generation (its reservation is given back before this generator finishes)."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    try:
        async with state.admitted(args.project or "default"):
            job = asyncio.ensure_future(
                state.engine.generate(  # stream: tokens_streamed events as they come
                    args.task, raise_on_invalid=False, emit=queue.put_nowait, stream=True, **args.engine_kwargs()
                )
            )
            state.track(job)
            job.add_done_callback(lambda _: queue.put_nowait(_DONE))
            try:
                while (item := await queue.get()) is not _DONE:
                    if isinstance(item, Event):
                        data = item.to_dict()
                        yield _sse(str(data["event"]), data)
            finally:
                if not job.done():
                    job.cancel()
                    await asyncio.wait({job})
            result = job.result()
    except Exception as exc:  # noqa: BLE001 - the stream has begun: the error is its last event
        yield _sse("error", error_body(exc)[1])
        return
    yield _sse("result", result.to_dict())


async def dry_run(request: Request) -> Response:
    state = _state(request)
    try:
        args, _ = await _args(request)
        plan = await state.engine.dry_run(args.task, **args.dry_run_kwargs())
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(plan.to_dict())


async def stats(request: Request) -> Response:
    from engine.stats import parse_since

    state = _state(request)
    by = request.query_params.get("by") or None
    try:
        if by not in (None, "provider", "model", "project", "agent", "day", "source"):
            raise BadInput("by must be one of provider, model, project, agent, day, source")
        data = await state.engine.stats(parse_since(request.query_params.get("since")), by)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(data)


async def budget(request: Request) -> Response:
    from engine.serve.common import scope_name

    state = _state(request)
    try:
        project = scope_name(request.query_params.get("project"), "project")
        agent = scope_name(request.query_params.get("agent"), "agent")
        statuses = await state.engine.budget_status(project, agent)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(
        [{**asdict(s), "remaining_micros": s.remaining_micros, "percent": round(s.percent, 2)} for s in statuses]
    )


async def templates(request: Request) -> Response:
    state = _state(request)
    include_retired = request.query_params.get("all", "").lower() in ("1", "true", "yes")
    try:
        views = await state.engine.templates(include_retired=include_retired)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse([v.to_dict() for v in views])


async def feedback(request: Request) -> Response:
    state = _state(request)
    try:
        body = await read_json(request)
        request_id, reason = body.get("request_id"), body.get("reason", "")
        if not isinstance(request_id, str) or not request_id or not isinstance(reason, str):
            raise BadInput("feedback needs a request_id (from a result) and a reason (text)")
        wrong = await asyncio.to_thread(state.engine.report_wrong, request_id, reason)
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return JSONResponse(wrong.to_dict())
