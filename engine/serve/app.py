"""The ASGI app: routes, the bearer-token guard, and the lifespan that warms up and shuts down.

    build_app(state, token=None) -> Starlette

With a ``token`` every route but ``/healthz`` and ``/readyz`` needs ``Authorization: Bearer
<token>`` (401 otherwise, compared in constant time). The CLI (``templar serve``) makes a token
mandatory for any address that is not loopback.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from engine import __version__
from engine.serve import native, openai_compat, review
from engine.serve.lifecycle import ServerState

OPEN_PATHS = frozenset({"/healthz", "/readyz"})  # probes: they report no data

__all__ = ["BearerGuard", "build_app"]


class BearerGuard:
    """Pure ASGI middleware (no buffering, so SSE streams pass straight through)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            response = JSONResponse(
                {"error": "unauthorized", "message": "missing or wrong bearer token"},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def healthz(request: Request) -> Response:
    state: ServerState = request.app.state.templar
    return JSONResponse(
        {
            "status": "closing" if state.closing else "ok",
            "version": __version__,
            "pid": os.getpid(),
            "llm": state.llm_state,
            "in_progress": state.in_progress(),
        }
    )


async def readyz(request: Request) -> Response:
    """200 once litellm is loaded (503 before); ``?wait=S`` holds the answer up to S seconds (max 120)
    until it is, so an orchestrator or a test need not poll."""
    state: ServerState = request.app.state.templar
    try:
        wait = min(120.0, max(0.0, float(request.query_params.get("wait", "0"))))
    except ValueError:
        return JSONResponse({"error": "bad_input", "message": "wait must be a number of seconds"}, status_code=400)
    ready = await state.wait_ready(wait)
    return JSONResponse({"ready": ready, "llm": state.llm_state}, status_code=200 if ready else 503)


def build_app(state: ServerState, token: str | None = None) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            await state.close()

    app = Starlette(
        routes=[
            # the hot routes first: Starlette tries each route's pattern in order, per request
            Route("/api/generate", native.generate, methods=["POST"]),
            Route("/v1/chat/completions", openai_compat.chat_completions, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/v1/models", openai_compat.list_models),
            Route("/api/dry-run", native.dry_run, methods=["POST"]),
            Route("/api/stats", native.stats),
            Route("/api/budget", native.budget),
            Route("/api/templates", native.templates),
            Route("/api/templates/{id}", review.template),
            Route("/api/suggestions", review.suggestions),
            Route("/api/suggestions/{id}", review.suggestion),
            Route("/api/suggestions/{id}/edit", review.edit, methods=["POST"]),
            Route("/api/suggestions/{id}/accept", review.accept, methods=["POST"]),
            Route("/api/suggestions/{id}/reject", review.reject, methods=["POST"]),
            Route("/api/feedback", native.feedback, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.templar = state
    return BearerGuard(app, token) if token else app
