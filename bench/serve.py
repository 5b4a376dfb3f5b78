"""``templar serve`` under load: template hits and paid calls through the server vs raw litellm.

    .venv/bin/python bench/serve.py                    # ~2 min here
    .venv/bin/python bench/serve.py --hits 3000 --paid 300

Three processes: the fake provider (a child, tests/fakes, TCP_NODELAY, backlog 1024), the server
(`python -m engine serve --port 0`, a child, temporary TEMPLAR_HOME, providers pointed at the
fake, fake keys, a huge system budget, learning off) and this one, the client. The client is a
minimal keep-alive HTTP/1.1 client on asyncio streams (one connection per concurrent client),
so its own CPU per request stays far below httpx's; all three share the machine's cores.

- template hits: ``POST /api/generate`` with a task the built-in pack answers (validation is
  memoised per process after the first, a ledger row is written per answer);
- paid calls: ``POST /api/generate`` with a distinct task per request and
  ``use_templates/use_cache: false``, so each one is a real chain call (reserve, litellm,
  settle, validate);
- raw litellm: ``litellm.acompletion`` to the same fake, same messages and max_tokens, in this
  process: the ceiling the server is compared with (goal: paid >= 0.8x raw).

Each level runs at 1, 10 and 100 concurrent clients. The server's RSS (VmRSS and its peak
VmHWM from /proc) is read after the 100-client paid run (goal <= 400 MB). Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    FAKE_KEY,
    ROOT,
    ServerProcess,
    isolate_environment,
    load_average,
    machine_info,
    percentile,
    user_settings_text,
)

POINT = "dataclass named Point with fields x: int, y: int"
MAX_TOKENS = 64
LEVELS = (1, 10, 100)


class Conn:
    """One keep-alive HTTP/1.1 connection: POST JSON, read a Content-Length body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: bytes) -> int:
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def through_server(
    host: str, port: int, bodies: Callable[[int], bytes], n: int, clients: int
) -> tuple[float, list[float], int]:
    """(seconds, latencies, non-200 count) for ``n`` requests from ``clients`` connections."""
    conns = [await Conn.open(host, port) for _ in range(clients)]
    latencies: list[float] = []
    bad = 0
    counter = iter(range(n))

    async def worker(conn: Conn) -> None:
        nonlocal bad
        for i in counter:
            started = time.perf_counter()
            status = await conn.post("/api/generate", bodies(i))
            latencies.append(time.perf_counter() - started)
            bad += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return elapsed, latencies, bad


async def raw_litellm(api_base: str, n: int, clients: int) -> tuple[float, list[float], int]:
    from engine.config.schema import Settings
    from engine.llm import adapter
    from engine.pipeline import build_messages

    lib = adapter.litellm()
    settings = Settings()
    latencies: list[float] = []
    bad = 0
    counter = iter(range(n))

    async def worker() -> None:
        nonlocal bad
        for i in counter:
            started = time.perf_counter()
            try:
                await lib.acompletion(
                    model="openai/gpt-4o-mini",
                    api_base=api_base,
                    api_key=FAKE_KEY,
                    messages=build_messages(settings, f"function number {i} of the raw run"),
                    max_tokens=MAX_TOKENS,
                    temperature=0.2,
                    timeout=30,
                    num_retries=0,
                    max_retries=0,
                )
            except Exception:  # noqa: BLE001 - counted
                bad += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies, bad


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of the server; with workers, of the largest worker."""
    members = family(pid)
    best = (0.0, 0.0)
    for member in members[1:] or members:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{member}/status").read_text().splitlines() if ":" in line
        )
        best = max(best, (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024))
    return best


def family(pid: int) -> list[int]:
    """``pid`` and its children (the workers of ``serve --workers N``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(c) for c in children)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` and its children so far (the steadier figure on a
    shared machine)."""
    total = 0.0
    for member in family(pid) if pid != os.getpid() else [pid]:
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def row(label: str, clients: int, result: tuple[float, list[float], int], cpu_s: float) -> tuple[str, float, float]:
    """The table row, req/s and CPU ms per request (of the server, or of this process for raw litellm)."""
    elapsed, latencies, bad = result
    rate = len(latencies) / elapsed
    ms = [x * 1000 for x in latencies]
    cpu_ms = cpu_s * 1000 / len(latencies)
    return (
        (
            f"| {label} | {clients} | {len(latencies)} | {rate:,.0f} | {percentile(ms, 50):.2f} | "
            f"{percentile(ms, 95):.2f} | {cpu_ms:.2f} | {1000 / cpu_ms:,.0f} | {bad} |"
        ),
        rate,
        cpu_ms,
    )


async def measured(
    pid: int, work: Awaitable[tuple[float, list[float], int]]
) -> tuple[tuple[float, list[float], int], float]:
    before = cpu_seconds(pid)
    result = await work
    return result, cpu_seconds(pid) - before


async def run(args: argparse.Namespace, host: str, port: int, server_pid: int, api_base: str) -> None:
    hit = json.dumps({"task": POINT}).encode()

    def paid(prefix: str) -> Callable[[int], bytes]:
        return lambda i: json.dumps(
            {
                "task": f"function number {i} of the {prefix} run",
                "max_tokens": MAX_TOKENS,
                "use_templates": False,
                "use_cache": False,
            }
        ).encode()

    print("| path | clients | requests | req/s | p50 ms | p95 ms | CPU ms/req | req/s per CPU | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    await through_server(host, port, lambda i: hit, 50, 5)  # warm: validation memo, learned index, connections
    for clients in LEVELS:
        n = args.hits if clients > 1 else max(200, args.hits // 5)
        result, cpu = await measured(server_pid, through_server(host, port, lambda i: hit, n, clients))
        print(row("template hit via server", clients, result, cpu)[0])
    if args.hits_only:
        return
    await through_server(host, port, paid("warm"), 20, 5)
    await raw_litellm(api_base, 20, 5)  # litellm's import and first calls (HTTP client, caches): not in the figures
    rates: dict[tuple[str, int], tuple[float, float]] = {}
    for clients in LEVELS:
        n = args.paid if clients > 1 else max(40, args.paid // 5)
        result, cpu = await measured(server_pid, through_server(host, port, paid(f"c{clients}"), n, clients))
        text, *rates["server", clients] = row("paid via server", clients, result, cpu)
        print(text)
        if clients == 100:
            now, peak = rss_mb(server_pid)
        result, cpu = await measured(os.getpid(), raw_litellm(api_base, n, clients))
        text, *rates["raw", clients] = row("raw litellm (one process)", clients, result, cpu)
        print(text)
    print()
    for clients in LEVELS:
        (server_rate, server_cpu), (raw_rate, raw_cpu) = rates["server", clients], rates["raw", clients]
        print(
            f"paid through the server / raw litellm at {clients:>3} clients: {server_rate / raw_rate:.2f}x by "
            f"wall clock, {raw_cpu / server_cpu:.2f}x by CPU per call (goal >= 0.8x)"
        )
    per = " per worker" if args.workers > 1 else ""
    print(f"server RSS{per} after the 100-client paid run: {now:.0f} MB (peak {peak:.0f} MB; goal <= 400 MB)")
    print(load_average())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hits", type=int, default=3000, help="template-hit requests per level (1 client: a fifth)")
    parser.add_argument("--paid", type=int, default=300, help="paid requests per level (1 client: a fifth)")
    parser.add_argument("--hits-only", action="store_true", help="only the template-hit rows")
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N (RSS: per worker)")
    args = parser.parse_args()
    isolate_environment("templar-bench-serve-")
    fake = ServerProcess()
    settings = user_settings_text(fake.api_bases(), order=["openai"])
    from engine.paths import Paths

    Paths.from_env().ensure().user_settings.write_text(settings, encoding="utf-8")
    print(machine_info())
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "serve",
            "--port",
            "0",
            "--per-project",
            "1000",
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"http://([\d.]+):(\d+)", line)
        if found is None:
            raise SystemExit(f"serve did not start: {line!r}")
        host, port = found.group(1), int(found.group(2))
        import httpx

        ready = httpx.get(f"http://{host}:{port}/readyz", params={"wait": 120}, timeout=130)
        print(f"server ready: {ready.json()}; RSS at rest {rss_mb(server.pid)[0]:.0f} MB")
        asyncio.run(run(args, host, port, server.pid, fake.api_base("openai")))
    finally:
        server.terminate()
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
