"""``templar serve`` and ``templar mcp``: start the servers (their packages load only here)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys

from engine.errors import BadInput


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost: treated as reachable from outside


def read_token(var: str | None, host: str) -> str | None:
    """The bearer token from ``$VAR``; mandatory off loopback. The value is never printed."""
    if var is None:
        if not is_loopback(host):
            raise BadInput(
                f"binding {host} exposes the server beyond this machine: give --token-env VAR "
                "(a bearer token in that environment variable)"
            )
        return None
    token = os.environ.get(var, "")
    if len(token) < 16:
        raise BadInput(f"--token-env {var}: the variable must hold a token of at least 16 characters")
    from engine.scrub import remember_value

    remember_value(token)  # masked on every error path, like a provider key
    return token


def require_extra(command: str, modules: tuple[str, ...]) -> None:
    """BadInput (exit 2) naming the install step when the ``serve`` extra is not installed: the
    base install (``make run``, ``pip install templar-code``) leaves it out."""
    import importlib

    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise BadInput(
            f"templar {command} needs the 'serve' extra ({', '.join(missing)} not installed): "
            "pip install 'templar-code[serve]' (in a checkout: .venv/bin/pip install -e '.[serve]')"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    require_extra("serve", ("starlette", "uvicorn"))
    if not 0 <= args.port <= 65535:
        raise BadInput("--port must be between 0 and 65535")
    if args.per_project < 1 or args.queue_timeout < 0 or args.grace < 0:
        raise BadInput("--per-project must be >= 1; --queue-timeout and --grace must be >= 0")
    if not 1 <= args.workers <= 64:
        raise BadInput("--workers must be between 1 and 64")
    if args.workers > 1 and not hasattr(os, "fork"):
        raise BadInput("--workers > 1 needs fork (not available on this platform)")
    token = read_token(args.token_env, args.host)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say so,
    # and with Nagle on every response (headers, then body) waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise BadInput(f"cannot bind {args.host}:{args.port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    workers = f", {args.workers} worker processes" if args.workers > 1 else ""
    print(
        f"templar serve: listening on http://{host}:{port} (OpenAI base_url http://{host}:{port}/v1{workers})",
        flush=True,
    )
    if args.workers > 1:
        return _supervise(sock, args, token)
    return _serve_one(sock, args, token)


def _serve_one(sock: socket.socket, args: argparse.Namespace, token: str | None) -> int:
    """One server process on the bound socket: its own engine, store connection and event loop."""
    import uvicorn

    from engine.cli.commands import open_engine
    from engine.serve.app import build_app
    from engine.serve.lifecycle import Limits, ServerState

    engine = open_engine()
    state = ServerState(engine, Limits(args.per_project, args.queue_timeout, args.grace), warm=not args.no_warm)
    config = uvicorn.Config(
        build_app(state, token),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=args.grace,
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _supervise(sock: socket.socket, args: argparse.Namespace, token: str | None) -> int:
    """``--workers N``: N forked processes accept on the one socket (the kernel spreads the
    connections); SIGTERM/SIGINT are passed on to each, and this process exits once all have
    shut down. A worker that dies on its own is named on stderr with its reason, and the others
    are stopped too, so a supervisor (systemd, a container runtime) sees exit 1 and restarts the
    whole set. Nothing is opened before the fork: each worker has its own engine."""
    import signal

    children: set[int] = set()
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            _worker(sock, args, token)
        children.add(pid)
    sock.close()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    worst = 0
    while children:
        child, raw = os.wait()
        children.discard(child)
        status = os.waitstatus_to_exitcode(raw)
        if status in (0, -signal.SIGTERM, -signal.SIGINT):
            continue
        how = f"signal {signal.Signals(-status).name}" if status < 0 else f"exit code {status}"
        print(f"templar serve: worker {child} ended with {how}; stopping the others", file=sys.stderr, flush=True)
        worst = 1
        forward(signal.SIGTERM, None)
    return worst


def _worker(sock: socket.socket, args: argparse.Namespace, token: str | None) -> None:
    """One forked worker. Its exit code is the server's; whatever stops it is said on stderr
    first, since ``os._exit`` (needed: the parent's atexit hooks must not run here) would
    otherwise swallow the exception unseen."""
    import signal

    from engine.errors import TemplarError

    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        code = _serve_one(sock, args, token)
    except TemplarError as exc:  # a known failure (bad store, bad config): one line
        print(f"templar serve: worker {os.getpid()}: {exc}", file=sys.stderr)
        code = int(exc.exit_code)
    except SystemExit as exc:  # uvicorn's own startup failure (it has logged why)
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - anything else: the traceback, then exit 1
        import traceback

        print(f"templar serve: worker {os.getpid()} failed:", file=sys.stderr)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def cmd_mcp(args: argparse.Namespace) -> int:
    require_extra("mcp", ("mcp",))
    from engine.mcp_server import run_stdio

    return run_stdio()
