"""``POST /v1/chat/completions`` and ``GET /v1/models``: Templar behind any OpenAI client.

Request: the **last user message is the task** (a string, or text parts). ``model`` names the
route: ``templar/PROJECT/AGENT``, ``templar/PROJECT`` or ``templar`` (any other name is the
default route); the ``x-templar-project`` / ``x-templar-agent`` headers win over it. Honoured
OpenAI fields: ``max_tokens`` / ``max_completion_tokens``, ``stream``, ``n`` (1 only). Templar's
own options go in a ``templar`` object of the body (the SDK's ``extra_body``): ``critical``,
``max_usd``, ``dry_run``, ``use_cache``, ``use_templates``, ``confirmed``; or in headers
``x-templar-critical``, ``x-templar-max-usd``. ``temperature``, ``top_p``, ``tools`` and the
like are accepted and ignored: the route's settings decide them (they are part of the cache key).

Response: the code in one fenced block as the assistant message; the ``templar`` field and the
``x-templar-source``, ``-cost-usd``, ``-saved-usd``, ``-request-id`` and ``-provider`` headers
say where it came from and what it cost or saved. An answer that failed validation (or, for
critical work, review) is never handed over: 422 with the reason. Errors use OpenAI's shape
(``{"error": {"message", "type", "code"}}``) with the engine's kind as ``type``.

``stream: true`` answers in OpenAI's SSE chunk format. The code is sent once it has been
validated, because Templar never hands over unvalidated code; so the headers (with the
``x-templar-*`` figures) and the chunks arrive together when the answer is ready.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from engine.errors import BadInput
from engine.money import micros_to_usd
from engine.serve.common import GenerateArgs, error_body, read_json

if TYPE_CHECKING:
    from engine.serve.lifecycle import ServerState
    from engine.service import GenerationResult

__all__ = ["chat_completions", "list_models", "openai_error", "route_of"]


def route_of(model: object) -> tuple[str | None, str | None]:
    """``templar/acme/backend`` -> ("acme", "backend"); ``templar/acme`` -> ("acme", None)."""
    if not isinstance(model, str) or not model.startswith("templar/"):
        return None, None
    parts = model.split("/")[1:]
    if len(parts) > 2 or not all(parts):
        raise BadInput("model must be templar, templar/PROJECT or templar/PROJECT/AGENT")
    return parts[0], parts[1] if len(parts) > 1 else None


def last_user_text(messages: object) -> str:
    if not isinstance(messages, list) or not messages:
        raise BadInput("messages must be a non-empty list")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
                return "\n".join(
                    p["text"]
                    for p in content
                    if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                )
            raise BadInput("the last user message has no text content")
    raise BadInput("there is no user message: the last user message is the task")


def parse(body: dict[str, Any], headers: Any) -> GenerateArgs:
    project, agent = route_of(body.get("model"))
    project = headers.get("x-templar-project") or project
    agent = headers.get("x-templar-agent") or agent
    options = body.get("templar") or {}
    if not isinstance(options, dict):
        raise BadInput("templar must be an object of Templar options")
    options = dict(options)
    if body.get("n", 1) != 1:
        raise BadInput("n must be 1: Templar gives one answer per request")
    tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if tokens is not None:
        options.setdefault("max_tokens", tokens)
    if "x-templar-critical" in headers:
        options["critical"] = headers["x-templar-critical"].strip().lower() in ("1", "true", "yes")
    if "x-templar-max-usd" in headers:
        try:
            options["max_usd"] = float(headers["x-templar-max-usd"])
        except ValueError:
            raise BadInput("x-templar-max-usd must be a number of dollars") from None
    return GenerateArgs.parse(last_user_text(body.get("messages")), options, project, agent)


def openai_error(exc: BaseException) -> JSONResponse:
    status, data = error_body(exc)
    error = {"message": data.get("message", ""), "type": data.get("error", "internal"), "code": status, "templar": data}
    return JSONResponse({"error": error}, status_code=status)


def templar_headers(result: GenerationResult) -> dict[str, str]:
    return {
        "x-templar-source": result.source,
        "x-templar-cost-usd": f"{micros_to_usd(result.cost_micros):.6f}",
        "x-templar-saved-usd": f"{micros_to_usd(result.saved_micros):.6f}",
        "x-templar-request-id": result.request_id,
        "x-templar-provider": result.provider or "-",
    }


def templar_field(result: GenerationResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "request_id": result.request_id,
        "provider": result.provider,
        "model": result.model,
        "cost_usd": micros_to_usd(result.cost_micros),
        "saved_usd": micros_to_usd(result.saved_micros),
        "latency_ms": result.latency_ms,
        "ok": result.ok,
    }


def _content(result: GenerationResult, language: str = "python") -> str:
    return f"```{language}\n{result.code.rstrip()}\n```\n"


def _usage(result: GenerationResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.tokens_in,
        "completion_tokens": result.tokens_out,
        "total_tokens": result.tokens_in + result.tokens_out,
    }


async def chat_completions(request: Request) -> Response:
    state: ServerState = request.app.state.templar
    try:
        body = await read_json(request)
        args = parse(body, request.headers)
        model = str(body.get("model") or "templar")
        if args.dry_run:
            plan = await state.engine.dry_run(args.task, **args.dry_run_kwargs())
            return JSONResponse({"object": "templar.dry_run", "model": model, "templar": plan.to_dict()})
        async with state.admitted(args.project or "default"):
            with state.tracking():
                result = await state.engine.generate(args.task, raise_on_invalid=False, **args.engine_kwargs())
    except Exception as exc:  # noqa: BLE001 - every failure becomes an OpenAI-shaped error
        return openai_error(exc)
    headers = templar_headers(result)
    if not result.ok:
        problem = result.delivery
        status, data = (
            422,
            {
                "error": {
                    "message": problem.reason,
                    "type": "validation_failed",
                    "code": 422,
                    "templar": {**templar_field(result), "findings": list(problem.findings)},
                }
            },
        )
        return JSONResponse(data, status_code=status, headers=headers)
    created = int(time.time())
    completion_id = f"chatcmpl-{result.request_id}"
    if body.get("stream"):
        include_usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage")
        return StreamingResponse(
            _chunks(result, completion_id, created, model, bool(include_usage)),
            media_type="text/event-stream",
            headers={**headers, "cache-control": "no-cache"},
        )
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": _content(result)},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": _usage(result),
            "templar": templar_field(result),
        },
        headers=headers,
    )


async def _chunks(
    result: GenerationResult, completion_id: str, created: int, model: str, include_usage: bool
) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None, **more: Any) -> bytes:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **more,
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""}, None)
    yield chunk({"content": _content(result)}, None)
    yield chunk({}, "stop", templar=templar_field(result))
    if include_usage:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(result),
        }
        yield f"data: {json.dumps(data)}\n\n".encode()
    yield b"data: [DONE]\n\n"


async def list_models(request: Request) -> Response:
    """The routes a client may name: ``templar``, and ``templar/PROJECT[/AGENT]`` for each project."""
    from engine.config.cascade import list_agents, list_projects

    state: ServerState = request.app.state.templar
    paths = state.engine.paths
    names = ["templar"]
    for project in list_projects(paths):
        names += [f"templar/{project}", *(f"templar/{project}/{agent}" for agent in list_agents(paths, project))]
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": int(state.started), "owned_by": "templar"} for name in names
            ],
        }
    )
