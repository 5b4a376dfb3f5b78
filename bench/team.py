"""Team mode: N engine processes x concurrency sharing one store, PostgreSQL and SQLite.

    .venv/bin/python bench/team.py                        # N = 1, 2, 4, 8; concurrency 8; 200 ms provider
    .venv/bin/python bench/team.py --procs 1,4 --concurrency 16 --pg-url postgresql://root@127.0.0.1:5432/test

For each backend (a fresh PostgreSQL database created on --pg-url and dropped at the end; a
shared SQLite file in a temporary directory) and each N, N worker processes run at once:

    hit      every worker asks the same, already cached task --hits times   -> generations/s
    paid     every worker asks --paid distinct tasks (fake provider answering after
             --latency-ms, 200 ms by default, like a real one)              -> generations/s
             and the speed-up over N = 1 (goal: N = 4 gives >= 3.5x)
    budget   one project budget that fits exactly --fit x N worst-case calls; every worker asks
             twice its share; overshoot = spent - limit in micro-dollars (goal 0, never > 0),
             and paid - fit (goal 0)

The fake provider runs in this process and reports usage equal to the worst case, so each paid
call costs exactly its reservation. Workers (this file with --worker) import litellm once and
are reused across N and backends. Prints numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from _common import KEY_VARS, OFFLINE_ENV, ROOT  # noqa: E402  (also puts the repo on sys.path)

FAKE_KEY = "fake-bench-team-key"
from tests.fakes.settings import api_bases, provider_tables  # noqa: E402

MAX_TOKENS = 64
BUDGET_TASK = "bench budget probe: xor checksum of a byte string"
HIT_TASK = "bench hit probe: xor checksum of a byte string"
ANSWER = (
    "```python\n"
    "def checksum(data: bytes) -> int:\n"
    '    """Return the xor of every byte of data."""\n'
    "    value = 0\n"
    "    for byte in data:\n"
    "        value ^= byte\n"
    "    return value\n"
    "```\n"
)


# -- worker (a child process) ---------------------------------------------------------------------


def worker() -> None:
    from engine.errors import BudgetRefused
    from engine.llm import adapter
    from engine.llm.pricing import price_for
    from engine.pipeline import build_messages
    from engine.service import Engine
    from engine.text import clean_task

    adapter.litellm()  # once, before any timing
    engine: Engine | None = None

    def reply(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    async def run(cmd: dict[str, Any]) -> dict[str, Any]:
        assert engine is not None
        gate = asyncio.Semaphore(cmd["concurrency"])
        counts = {"paid": 0, "hits": 0, "refused": 0, "errors": 0, "other": 0}
        first_error = ""

        async def one(i: int) -> None:
            nonlocal first_error
            task = cmd["task"] if cmd["same_task"] else f"{cmd['task']} #{i}"
            async with gate:
                try:
                    r = await engine.generate(
                        task, project=cmd["project"], max_tokens=MAX_TOKENS, use_cache=cmd["use_cache"], confirmed=True
                    )
                except BudgetRefused:
                    counts["refused"] += 1
                    return
                except Exception as exc:  # noqa: BLE001 - counted, first one reported
                    counts["errors"] += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]
                    return
            key = {"llm": "paid", "cache": "hits"}.get(r.source, "other")
            counts[key] += 1

        t0 = time.time()
        await asyncio.gather(*[one(i) for i in range(cmd["calls"])])
        return {"t0": t0, "t1": time.time(), **counts, "first_error": first_error}

    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "open":
            if engine is not None:
                engine.close()
            engine = Engine.from_settings(url=cmd["url"])
            reply({"ok": True})
        elif op == "worst":
            assert engine is not None
            settings = engine.config(cmd["project"], "default").settings
            model = settings.providers["openai"].model
            tokens = adapter.count_tokens(model, build_messages(settings, clean_task(cmd["task"])))
            price = price_for(model, settings)
            assert price is not None
            reply({"prompt_tokens": tokens, "worst": price.cost(tokens, MAX_TOKENS)})
        elif op == "run":
            reply(asyncio.run(run(cmd)))
        elif op == "budget":
            assert engine is not None
            status = asyncio.run(engine.budget_status(cmd["project"]))
            project = [s for s in status if s.scope == "project"][0]
            reply({"spent": project.spent_micros, "reserved": project.reserved_micros, "limit": project.limit_micros})
        elif op == "quit":
            break
    if engine is not None:
        engine.close()


# -- driver ---------------------------------------------------------------------------------------


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._err = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=env,
            cwd=ROOT,
        )
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        self._buf = b""

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()

    def recv(self, timeout: float = 180.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"worker {self.proc.pid}: no answer in {timeout}s\n{self.tail()}")
            if self._sel.select(timeout=min(left, 0.5)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
                if not chunk:
                    raise RuntimeError(f"worker {self.proc.pid} exited\n{self.tail()}")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, **cmd: Any) -> dict[str, Any]:
        self.send(**cmd)
        return self.recv()

    def tail(self) -> str:
        self._err.flush()
        return self.log.read_text("utf-8", "replace")[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(op="quit")
                self.proc.wait(timeout=20)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait(timeout=20)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._sel.close()
        self._err.close()


def settings_text(fake: Any) -> str:
    lines = provider_tables(api_bases(fake), timeout_s=30)
    lines += [
        "[chain]",
        'order = ["openai"]',
        "attempts = 1",
        "jitter = 0.0",
        "cooldown_failures = 100",
        "",
        "[learning]",
        "enabled = false",
        "",
        "[validation]",
        "max_repairs = 0",
        "",
        "[budget.system]",
        "limit_usd = 1000.0",
        "",
        # the task names say "postgresql": not critical work, no second-provider review
        "[critical]",
        "infer = false",
        "",
    ]
    return "\n".join(lines)


def together(workers: list[Worker], **cmd: Any) -> tuple[float, dict[str, int], str]:
    """Send ``cmd`` to every worker at once; (wall seconds from first start to last end, summed counts, an error)."""
    for w in workers:
        w.send(**cmd)
    results = [w.recv() for w in workers]
    wall = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    keys = ("paid", "hits", "refused", "errors", "other")
    sums = {k: sum(r[k] for r in results) for k in keys}
    return wall, sums, next((r["first_error"] for r in results if r["first_error"]), "")


def bench_backend(
    name: str, url: str, workers: list[Worker], paths: Any, args: argparse.Namespace, prompt_tokens: dict[str, int]
) -> None:
    from engine.config import set_value

    for w in workers:
        w.call(op="open", url=url)
    lead = workers[0]
    facts = lead.call(op="worst", task=BUDGET_TASK, project="cap")
    worst, prompt_tokens[BUDGET_TASK] = facts["worst"], facts["prompt_tokens"]
    # prime the cache for the hit path (one paid call)
    lead.call(op="run", task=HIT_TASK, calls=1, same_task=True, use_cache=True, project="bench", concurrency=1)
    # warm every worker the same way (tokenizer, LLM client, connections): a cold worker's first
    # paid call costs ~1 s, which would count against N > 1 only (the lead is already warm)
    for i, w in enumerate(workers):
        w.call(op="worst", task=BUDGET_TASK, project="cap")
        w.call(
            op="run",
            task=f"bench warm-up {name} {i} {uuid.uuid4().hex[:6]}",
            calls=2,
            same_task=False,
            use_cache=True,
            project="bench",
            concurrency=2,
        )
    base = 0.0
    for n in args.procs:
        group = workers[:n]
        c = args.concurrency
        wall, hit, err1 = together(
            group,
            op="run",
            task=HIT_TASK,
            calls=args.hits,
            same_task=True,
            use_cache=True,
            project="bench",
            concurrency=c,
        )
        hit_rate = hit["hits"] / wall
        wall, paid, err2 = together(
            group,
            op="run",
            task=f"bench paid probe {name} N{n} {uuid.uuid4().hex[:6]}",
            calls=args.paid,
            same_task=False,
            use_cache=True,
            project="bench",
            concurrency=c,
        )
        paid_rate = paid["paid"] / wall
        base = base or paid_rate
        fit = args.fit * n
        project = f"cap{n}"
        set_value(paths, "budget.project.limit_usd", repr(fit * worst / 1e6), project)
        _, capped, err3 = together(
            group,
            op="run",
            task=BUDGET_TASK,
            calls=2 * args.fit,
            same_task=True,
            use_cache=False,
            project=project,
            concurrency=c,
        )
        budget = lead.call(op="budget", project=project)
        overshoot = budget["spent"] + budget["reserved"] - budget["limit"]
        errors = hit["errors"] + paid["errors"] + capped["errors"]
        print(
            f"{name:<11} {n:>5} {c:>4} {hit_rate:>10.1f} {paid_rate:>10.1f} {paid_rate / base if base else 0.0:>6.2f} {max(0, overshoot):>10d} "
            f"{capped['paid'] - fit:>+8d} {capped['refused']:>8d} {errors:>6d}",
            flush=True,
        )
        if errors:
            print(f"  first error: {err1 or err2 or err3}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--procs", default="1,2,4,8", help="process counts, comma-separated")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="the fake provider's answer delay")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent generate() calls per process")
    parser.add_argument("--hits", type=int, default=100, help="cache-hit generations per process")
    parser.add_argument("--paid", type=int, default=64, help="paid generations per process")
    parser.add_argument("--fit", type=int, default=10, help="worst-case calls the budget fits, per process")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEMPLAR_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test"),
        help="admin URL; a fresh database is created there and dropped",
    )
    parser.add_argument(
        "--pg-params",
        default="",
        help="query string added to the benchmark database URL, e.g. "
        "'options=-c%%20synchronous_commit%%3Doff' (libpq parameters)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    args.procs = [int(x) for x in args.procs.split(",")]

    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    for var in list(os.environ):
        if var.startswith("TEMPLAR_") or var in KEY_VARS:
            del os.environ[var]
    home = Path(tempfile.mkdtemp(prefix="templar-bench-team-"))
    os.environ["TEMPLAR_HOME"] = str(home)
    for var in KEY_VARS:
        os.environ[var] = FAKE_KEY
    os.environ["PYTHONPATH"] = str(ROOT)

    from engine.paths import Paths
    from tests.fakes import FakeProviderServer, Reply

    paths = Paths.from_env().ensure()
    backends: list[tuple[str, str]] = []
    pg_name = None
    if not args.no_postgres:
        try:
            import psycopg

            pg_name = f"templar_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.pg_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{pg_name}"')
            db_url = urlparse(args.pg_url)._replace(path=f"/{pg_name}", query=args.pg_params).geturl()
            backends.append(("postgresql", db_url))
        except Exception as exc:  # noqa: BLE001
            pg_name = None
            print(f"postgresql: unavailable ({str(exc).strip()[:200]})", file=sys.stderr)
    if not args.no_sqlite:
        backends.append(("sqlite", f"sqlite:///{home / 'data' / 'shared.db'}"))

    workers: list[Worker] = []
    started = time.monotonic()
    prompt_tokens: dict[str, int] = {}

    def responder(request: Any) -> Any:
        # usage == the worst case: prompt tokens as the engine counted them, max_tokens out
        last = request.last_user_text
        tokens = next((t for task, t in prompt_tokens.items() if task in last), 100)
        return Reply(text=ANSWER, tokens_in=tokens, tokens_out=MAX_TOKENS, delay=args.latency_ms / 1000)

    try:
        with FakeProviderServer(hang_limit=5, responder=responder) as fake:
            paths.user_settings.write_text(settings_text(fake), encoding="utf-8")
            workers = [Worker(dict(os.environ), home / f"worker{i}.log") for i in range(max(args.procs))]
            print(
                f"{'backend':<11} {'procs':>5} {'conc':>4} {'hit gen/s':>10} {'paid gen/s':>10} {'x N=1':>6} "
                f"{'overshoot':>10} {'paid-fit':>8} {'refused':>8} {'errors':>6}",
                flush=True,
            )
            for name, url in backends:
                bench_backend(name, url, workers, paths, args, prompt_tokens)
    finally:
        for w in workers:
            w.close()
        if pg_name is not None:
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
    print(f"total {time.monotonic() - started:.0f} s (overshoot in micro-dollars; paid-fit in calls)", file=sys.stderr)


if __name__ == "__main__":
    main()
