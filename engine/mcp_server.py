"""``templar mcp``: Templar as an MCP server over stdio, for coding agents (Claude Code and others).

Tools
    generate_code(task, project, agent, critical, max_usd)  the code and where it came from
    find_templates(task, limit)        templates that match or nearly match a task (no LLM call)
    budget_status(project, agent)      spend, reservations, limit and alert level per budget
    report_wrong_answer(request_id, reason)   a template answer was wrong (reverses its savings)
Resources
    templar://templates                learned templates (JSON)
    templar://templates/builtin        the built-in pack: names, descriptions, patterns (JSON)

stdout carries the protocol only: nothing here prints, and the engine never configures logging
(the ``templar`` entry point logs to the file in the data dir). An answer that is not deliverable
(``engine.delivery``) comes back with ``ok: false`` and the reason, never its code. Errors come
back as tool errors with the engine's one-line message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from engine.money import micros_to_usd

if TYPE_CHECKING:
    from engine.service import Engine

__all__ = ["build_server", "run_stdio"]

INSTRUCTIONS = (
    "Templar writes Python code from a one-line task, cheapest source first: learned and built-in templates "
    "and a response cache answer for $0; a budgeted LLM provider chain answers the rest. Prefer generate_code "
    "for self-contained functions, classes and dataclasses; call report_wrong_answer when a template answer "
    "was wrong."
)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """The engine's own one-line message as the tool error (the SDK hides any other exception's)."""
    from mcp.server.mcpserver.exceptions import ToolError

    from engine.errors import TemplarError
    from engine.scrub import scrub

    try:
        yield
    except TemplarError as exc:
        raise ToolError(scrub(f"{exc.kind}: {exc}")) from None


def _scope(value: str) -> str | None:
    from engine.config.cascade import validate_project_name

    return validate_project_name(value) if value else None


def similar_templates(engine: Engine, task: str, limit: int) -> list[dict[str, Any]]:
    """The template that would answer ``task`` (if any) and the nearest others, best first."""
    from engine.pipeline import builtin_index

    learned = engine.store.call(engine.library.index)
    rows: list[dict[str, Any]] = []
    for source, index in (("learned", learned), ("builtin", builtin_index())):
        match = index.match(task)
        if match is not None and match.template is not None:
            refused = engine.library.refusal(match.template.name, match.template.version, dict(match.bindings))
            rows.append(
                {
                    "source": source,
                    "template": match.template.name,
                    "pattern": match.pattern.text,
                    "score": 1.0,
                    "match": not refused,
                    **({"refused": refused} if refused else {}),
                }
            )
        for near in index.similar(task, limit=limit):
            rows.append(
                {
                    "source": source,
                    "template": near.template.name,
                    "pattern": near.pattern.text,
                    "score": round(near.score, 3),
                    "match": False,
                }
            )
    rows.sort(key=lambda r: -float(r["score"]))
    return rows[:limit]


def build_server(engine: Engine) -> Any:
    """The MCP server (``mcp.server.mcpserver.MCPServer``) for one open ``engine``."""
    from mcp.server.mcpserver import MCPServer

    from engine import __version__

    server = MCPServer("templar", version=__version__, instructions=INSTRUCTIONS)

    @server.tool(
        description="Generate Python code for a one-line task (templates and cache first, then a paid "
        "LLM call within budgets). Returns the code, its source (learned, builtin, cache, llm), cost and "
        "savings, and a request_id for report_wrong_answer. critical=true requires an approving review "
        "by a second provider. max_usd caps this request's total cost."
    )
    async def generate_code(
        task: str, project: str = "", agent: str = "", critical: bool = False, max_usd: float | None = None
    ) -> dict[str, Any]:
        with _clear_errors():
            result = await engine.generate(
                task,
                project=_scope(project),
                agent=_scope(agent),
                critical=True if critical else None,
                max_usd=max_usd,
                raise_on_invalid=False,
            )
        data = {
            "ok": result.ok,
            "source": result.source,
            "request_id": result.request_id,
            "provider": result.provider,
            "cost_usd": micros_to_usd(result.cost_micros),
            "saved_usd": micros_to_usd(result.saved_micros),
        }
        if result.ok:
            data["code"] = result.code
        else:
            data["problem"] = result.delivery.to_dict()
        return data

    @server.tool(description="Which templates match or nearly match a task, best first (no LLM call, $0).")
    async def find_templates(task: str, limit: int = 5) -> list[dict[str, Any]]:
        with _clear_errors():
            return await asyncio.to_thread(similar_templates, engine, task, max(1, min(limit, 50)))

    @server.tool(
        description="Each budget that applies to a project/agent: limit, spent, reserved, remaining "
        "(USD) and alert level 0-6."
    )
    async def budget_status(project: str = "", agent: str = "") -> list[dict[str, Any]]:
        with _clear_errors():
            statuses = await engine.budget_status(_scope(project), _scope(agent))
        return [
            {
                "scope": s.scope,
                "key": s.key,
                "period": s.period,
                "level": s.level,
                "limit_usd": micros_to_usd(s.limit_micros),
                "spent_usd": micros_to_usd(s.spent_micros),
                "reserved_usd": micros_to_usd(s.reserved_micros),
                "remaining_usd": micros_to_usd(s.remaining_micros),
                "percent": round(s.percent, 2),
            }
            for s in statuses
        ]

    @server.tool(
        description="Report that a template answer (by its request_id) was wrong: its savings are "
        "reversed and those values are never served from that template again."
    )
    async def report_wrong_answer(request_id: str, reason: str) -> dict[str, Any]:
        with _clear_errors():
            wrong = await asyncio.to_thread(engine.report_wrong, request_id, reason)
        data: dict[str, Any] = wrong.to_dict()
        return data

    @server.resource(
        "templar://templates",
        name="learned-templates",
        mime_type="application/json",
        description="Learned templates: id, name, patterns, parameters, uses, savings, quality.",
    )
    async def learned_templates() -> str:
        return json.dumps([v.to_dict() for v in await engine.templates()], default=str)

    @server.resource(
        "templar://templates/builtin",
        name="builtin-templates",
        mime_type="application/json",
        description="The built-in template pack: name, description and patterns of each.",
    )
    def builtin_templates() -> str:
        from engine.pipeline import builtin_index

        return json.dumps(
            [
                {"name": s.name, "description": s.description, "patterns": [p.text for p in s.patterns]}
                for s in builtin_index()
            ]
        )

    return server


def run_stdio() -> int:
    """Serve on stdin/stdout until the client closes them."""
    from engine.service import Engine

    engine = Engine.from_settings()
    try:
        asyncio.run(build_server(engine).run_stdio_async())
    finally:
        engine.close()
    return 0
