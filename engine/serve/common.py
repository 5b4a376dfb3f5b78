"""What both APIs share: reading a generation request, and turning errors into HTTP answers.

Every field is checked before the engine sees it (bad input -> 400 with the field named); a
JSON body may not exceed ``MAX_BODY`` bytes (413). Errors keep the engine's kinds
(``engine.errors``) and are scrubbed on the way out, like every CLI error line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from engine.config.cascade import validate_project_name
from engine.errors import BadInput, TemplarError

MAX_BODY = 1_000_000  # bytes of JSON per request
MAX_TASK = 20_000  # characters: the CLI's task limit is the pipeline's (clean_task); this guards memory

# engine error kind -> HTTP status
STATUS = {
    "bad_input": 400,
    "config_error": 400,
    "not_found": 404,
    "budget_refused": 402,
    "confirmation_required": 402,
    "price_unknown": 402,
    "max_usd_exceeded": 402,
    "no_provider": 503,
    "deadline_exceeded": 504,
    "validation_failed": 422,
    "busy": 429,
    "held_for_review": 409,
}

__all__ = ["MAX_BODY", "STATUS", "GenerateArgs", "error_body", "read_json", "scope_name"]


async def read_json(request: Request) -> dict[str, Any]:
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > MAX_BODY:
        raise _TooLarge()
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise _TooLarge()
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadInput("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadInput("the request body must be a JSON object")
    return data


class _TooLarge(BadInput):
    kind = "too_large"

    def __init__(self) -> None:
        super().__init__(f"the request body is larger than {MAX_BODY} bytes")


STATUS["too_large"] = 413


def scope_name(value: object, what: str) -> str | None:
    """A project or agent name from a request (the config's own name rule); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(f"{what} must be a string")
    return validate_project_name(value, what)


def _flag(data: dict[str, Any], key: str, default: bool | None) -> bool | None:
    value = data.get(key, default)
    if value is None or isinstance(value, bool):
        return value
    raise BadInput(f"{key} must be true or false")


@dataclass(frozen=True)
class GenerateArgs:
    """The engine's generation options, validated."""

    task: str
    project: str | None = None
    agent: str | None = None
    critical: bool | None = None
    max_tokens: int | None = None
    max_usd: float | None = None
    use_cache: bool = True
    use_templates: bool = True
    confirmed: bool = False
    dry_run: bool = False

    @classmethod
    def parse(cls, task: object, options: dict[str, Any], project: object = None, agent: object = None) -> GenerateArgs:
        if not isinstance(task, str) or not task.strip():
            raise BadInput('the task is empty: send it as the last user message (OpenAI API) or as "task"')
        if len(task) > MAX_TASK:
            raise BadInput(f"the task is longer than {MAX_TASK} characters")
        max_tokens = options.get("max_tokens")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= 200_000
        ):
            raise BadInput("max_tokens must be an integer between 1 and 200000")
        max_usd = options.get("max_usd")
        if max_usd is not None:
            if (
                isinstance(max_usd, bool)
                or not isinstance(max_usd, (int, float))
                or not math.isfinite(max_usd)
                or max_usd < 0
            ):
                raise BadInput("max_usd must be a non-negative number of dollars")
            max_usd = float(max_usd)
        return cls(
            task=task,
            project=scope_name(project, "project"),
            agent=scope_name(agent, "agent"),
            critical=_flag(options, "critical", None),
            max_tokens=max_tokens,
            max_usd=max_usd,
            use_cache=bool(_flag(options, "use_cache", True)),
            use_templates=bool(_flag(options, "use_templates", True)),
            confirmed=bool(_flag(options, "confirmed", False)),
            dry_run=bool(_flag(options, "dry_run", False)),
        )

    def engine_kwargs(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "agent": self.agent,
            "critical": self.critical,
            "max_tokens": self.max_tokens,
            "max_usd": self.max_usd,
            "use_cache": self.use_cache,
            "use_templates": self.use_templates,
            "confirmed": self.confirmed,
        }

    def dry_run_kwargs(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "agent": self.agent,
            "critical": self.critical,
            "max_tokens": self.max_tokens,
            "use_cache": self.use_cache,
            "use_templates": self.use_templates,
        }


def error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(HTTP status, ``{"error": kind, "message": ..., "exit_code": ...}``), scrubbed."""
    from engine.scrub import scrub_data

    if isinstance(exc, TemplarError):
        data = exc.to_dict()
    else:
        data = {"error": getattr(exc, "kind", "internal"), "message": str(exc) or type(exc).__name__}
    status = STATUS.get(str(data.get("error")), 500)
    if status == 500:
        data["message"] = f"internal error: {type(exc).__name__} (see the server log)"
    scrubbed: dict[str, Any] = scrub_data(data)  # type: ignore[assignment]
    return status, scrubbed
