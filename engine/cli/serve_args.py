"""Arguments of ``templar serve`` and ``templar mcp`` (argparse only: no server code imported here)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    p = sub.add_parser(
        "serve",
        help="run the HTTP server: OpenAI-compatible /v1/chat/completions and the native /api",
        formatter_class=formatter,
        description="Serve Templar to other programs over HTTP. litellm loads once, in the background; "
        "/healthz and /readyz report it. SIGTERM finishes or cancels requests in progress and releases "
        "every budget reservation before exiting.",
        epilog="examples:\n  templar serve                                  http://127.0.0.1:8765\n"
        "  TEMPLAR_TOKEN=... templar serve --host 0.0.0.0 --token-env TEMPLAR_TOKEN\n"
        'then: OpenAI(base_url="http://127.0.0.1:8765/v1", api_key="unused")'
        '.chat.completions.create(model="templar/acme", ...)',
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other needs --token-env)"
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument(
        "--token-env",
        metavar="VAR",
        help="require Authorization: Bearer $VAR on every request (mandatory off loopback)",
    )
    p.add_argument("--per-project", type=int, default=16, metavar="N", help="requests in progress per project (16)")
    p.add_argument(
        "--queue-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="how long a request over the per-project limit waits before 429 (30 s)",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=10.0,
        metavar="S",
        help="on shutdown, how long requests in progress may finish before they are cancelled (10 s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="N server processes on the one socket, one engine each (1; limits are per process)",
    )
    p.add_argument(
        "--no-warm",
        action="store_true",
        help="do not load litellm at start (a template-and-cache server; the first paid call loads it)",
    )
    p.set_defaults(handler="engine.cli.serve_cmd:cmd_serve")

    p = sub.add_parser(
        "mcp",
        help="run the MCP server on stdio (tools for coding agents: generate_code, find_templates ...)",
        formatter_class=formatter,
        epilog="register with Claude Code: claude mcp add templar -- templar mcp\n"
        'or in an MCP client\'s JSON config: {"mcpServers": {"templar": {"command": "templar", "args": ["mcp"]}}}',
    )
    p.set_defaults(handler="engine.cli.serve_cmd:cmd_mcp")
