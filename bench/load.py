"""Load and faults: 100 concurrent projects x 10 tasks through the engine, with ~10 % faults.

    .venv/bin/python bench/load.py                  # about 1.5-2 min here
    .venv/bin/python bench/load.py --projects 20    # quick

Everything is loopback. The fake provider (tests/fakes/provider_server.py) runs in a CHILD
process, so its CPU is not charged to the process measured; it is driven over a pipe (fault
rate, request log). Its accept backlog is raised to 256 and TCP_NODELAY set, so 100 concurrent
clients measure the engine, not the test server's listen queue (5 by default) or Nagle.

Phases, each on a fresh temporary TEMPLAR_HOME (the user's real dirs are never touched):

1. raw litellm: N calls to the same server, same prompts, max_tokens and concurrency, rotating
   over the three wire formats, ``num_retries=0``: the throughput baseline.
2. engine, no faults: the same N tasks through ``engine.batch.run_batch`` (``templar batch``'s
   code path: semaphore over ``Engine.generate``, fsynced results log).
3. engine, faults: ``FakeProviderServer.fault_rate(p)`` over 429 (Retry-After 1 s), 500, 503,
   hang, malformed body and dropped connection, plus connection REFUSED from a provider with
   nothing listening, first in the chain of a few projects. Chain of all three formats (rotated
   per project), attempts 3, backoff_base_s 0.05 (max 0.2 s, Retry-After capped at 0.1 s),
   timeout_s 1.0 per attempt (a hang costs 1 s), cooldown after 5 consecutive failures for 1 s.
   Every 10th project has a tight project budget ($0.0004, a few calls' worst case), so
   admission refuses calls under concurrency once the worst case no longer fits. Projects 7 and 57 have the dead provider first in their chain; projects 23
   and 73 have ONLY the dead provider, so their tasks fail (no provider reachable) and show the
   error a user gets.

Printed for phase 3: completed, refused by budget, failed with a clear error (one line, a known
kind, never "internal"), ledger rows vs requests the server saw (paid attempts; must be
equal), connection-refused attempts (ledger rows of the dead provider: the server cannot see
them), faults by kind, budget overshoot (goal 0), and throughput vs raw litellm (goal >= 0.5x).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OFFLINE = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
}
for _k, _v in OFFLINE.items():
    os.environ[_k] = _v
for _name in list(os.environ):
    if _name.startswith("TEMPLAR_") or _name in (
        "GEMINI_API_KEY",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GOOGLE_API_KEY",
    ):
        del os.environ[_name]
KEY = "fake-load-key"
for _fmt in ("OPENAI", "ANTHROPIC", "GEMINI", "DEAD"):
    os.environ[f"{_fmt}_API_KEY"] = KEY

MODELS = {
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "gemini": "gemini/gemini-2.5-flash",
}
FORMATS = ("openai", "anthropic", "gemini")
SUFFIX = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}
FAULT_KINDS = ["rate_limit", "server_error", "unavailable", "hang", "malformed", "disconnect"]
PAID = ("llm", "repair", "review", "suggest")
MAX_TOKENS = 256
TIGHT_LIMIT_USD = 0.0004

_CHILD = r"""
import json, sys
from collections import Counter
sys.path.insert(0, sys.argv[1])
from tests.fakes import FakeProviderServer, provider_server
provider_server._Handler.disable_nagle_algorithm = True
provider_server._HTTPServer.request_queue_size = 256
server = FakeProviderServer(hang_limit=3.0).start()
print(json.dumps({"root": server.root_url}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "reset":
        server.reset()
        reply = {}
    elif cmd["op"] == "fault_rate":
        server.fault_rate(cmd["p"], cmd["kinds"], seed=cmd["seed"])
        reply = {}
    else:
        reqs = server.requests
        reply = {"count": len(reqs), "by_format": Counter(r.format for r in reqs),
                 "by_outcome": Counter(getattr(r.outcome, "kind", "none") for r in reqs), "errors": len(server.errors)}
    print(json.dumps(reply), flush=True)
server.stop()
"""


class Server:
    """The fake provider in a child process, driven over its stdin/stdout."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
        )
        self.root = json.loads(self.proc.stdout.readline())["root"]  # type: ignore[union-attr]

    def api_base(self, fmt: str) -> str:
        return self.root + SUFFIX[fmt]

    def call(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=15)
            except Exception:  # noqa: BLE001 - our own child, by handle
                self.proc.kill()
                self.proc.wait(timeout=5)


def refused_base() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens here once the socket is closed


def task_text(project: int, n: int) -> str:
    return f"function number {n} for project {project:03d} that totals the prices in an order"


def user_settings(server: Server, dead: str) -> str:
    lines = []
    for fmt, model in MODELS.items():
        lines += [
            f"[providers.{fmt}]",
            f'model = "{model}"',
            f'api_base = "{server.api_base(fmt)}"',
            f'api_key_env = "{fmt.upper()}_API_KEY"',
            "timeout_s = 1.0",
            "",
        ]
    lines += [
        "[providers.dead]",
        'model = "openai/gpt-4o-mini"',
        f'api_base = "{dead}"',
        'api_key_env = "DEAD_API_KEY"',
        "timeout_s = 1.0",
        "",
    ]
    lines += [
        "[chain]",
        "attempts = 3",
        "backoff_base_s = 0.05",
        "backoff_max_s = 0.2",
        "jitter = 0.2",
        "retry_after_max_s = 0.1",
        "cooldown_failures = 5",
        "cooldown_s = 1.0",
        "",
        "[generation]",
        f"max_tokens = {MAX_TOKENS}",
        "",
        "[budget.system]",
        "limit_usd = 1000000.0",
        'period = "total"',
        "",
        "[learning]",
        "enabled = false",
        "",
    ]
    return "\n".join(lines)


def project_toml(index: int, *, faults: bool) -> str:
    order = [FORMATS[(index + k) % 3] for k in range(3)]
    if faults and index % 50 == 7:
        order = ["dead", *order]  # refused first, then the real chain
    if faults and index % 50 == 23:
        order = ["dead"]  # nothing can answer: every task fails, with a clear error
    text = "[chain]\norder = [" + ", ".join(f'"{n}"' for n in order) + "]\n"
    if faults and index % 10 == 0:
        text += f'\n[budget.project]\nlimit_usd = {TIGHT_LIMIT_USD}\nperiod = "total"\n'
    return text


# -- phase 1: raw litellm ---------------------------------------------------------------------


async def raw_litellm(server: Server, projects: int, tasks: int, concurrency: int) -> tuple[float, int, int]:
    from engine.config.schema import Settings
    from engine.llm import adapter
    from engine.pipeline import build_messages

    lib = adapter.litellm()
    settings = Settings()
    semaphore = asyncio.Semaphore(concurrency)
    ok = failed = 0

    async def one(p: int, t: int) -> None:
        nonlocal ok, failed
        fmt = FORMATS[p % 3]
        async with semaphore:
            try:
                await lib.acompletion(
                    model=MODELS[fmt],
                    messages=build_messages(settings, task_text(p, t)),
                    api_base=server.api_base(fmt),
                    api_key=KEY,
                    max_tokens=MAX_TOKENS,
                    temperature=0.2,
                    timeout=30,
                    num_retries=0,
                    max_retries=0,
                )
                ok += 1
            except Exception:  # noqa: BLE001 - counted
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(p, t) for t in range(tasks) for p in range(projects)))
    return time.perf_counter() - started, ok, failed


# -- phases 2 and 3: the engine ---------------------------------------------------------------


async def engine_run(
    server: Server, home: Path, projects: int, tasks: int, concurrency: int, *, faults: bool
) -> dict[str, Any]:
    from engine.batch import BatchTask, ResultLog, run_batch
    from engine.paths import Paths
    from engine.service import Engine

    paths = Paths(home / "config", home / "data").ensure()
    paths.projects_dir.mkdir(parents=True, exist_ok=True)
    paths.user_settings.write_text(user_settings(server, refused_base()), encoding="utf-8")
    for p in range(projects):
        paths.project_file(f"p{p:03d}").write_text(project_toml(p, faults=faults), encoding="utf-8")
    batch = [
        BatchTask(f"p{p:03d}-{t}", t * projects + p + 1, task_text(p, t), f"p{p:03d}", "agent")
        for t in range(tasks)
        for p in range(projects)
    ]  # round robin: ~all projects at once
    task_file = home / "tasks.jsonl"
    task_file.write_text("".join(json.dumps({"id": b.id, "task": b.task, "project": b.project}) + "\n" for b in batch))
    engine = Engine.from_settings(paths)
    log = ResultLog.open(paths.data_dir, task_file)
    try:
        started = time.perf_counter()
        run = await run_batch(engine, batch, log, concurrency=concurrency)
        wall = time.perf_counter() - started
    finally:
        log.close()
        engine.close()
    return {"run": run, "wall": wall, "db": paths.default_db}


def db_figures(db: Path) -> dict[str, Any]:
    con = sqlite3.connect(db)
    try:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        paid = q(
            f"select provider, outcome, count(*) from ledger_entry where source in {PAID} group by provider, outcome"
        )
        counters = q("select scope, key, limit_micros, spent_micros, reserved_micros from budget_counter")
        return {
            "paid": paid,
            "held": q("select count(*) from reservation where state = 'held'")[0][0],
            "pending": q("select count(*) from ledger_entry where outcome = 'pending'")[0][0],
            "counters": counters,
            "ledger_cost": q("select coalesce(sum(cost_micros), 0) from ledger_entry")[0][0],
            "error_classes": q(
                f"select error_class, count(*) from ledger_entry where source in {PAID} "
                "and outcome = 'error' group by error_class"
            ),
            "integrity": q("PRAGMA integrity_check")[0][0],
        }
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=10, help="tasks per project")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--fault-rate", type=float, default=0.09, help="server-side faults per request (plus refused)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    total = args.projects * args.tasks
    home = Path(tempfile.mkdtemp(prefix="templar-bench-load-"))
    server = Server()
    t0 = time.perf_counter()
    try:
        print(
            f"load: {args.projects} projects x {args.tasks} tasks = {total}, concurrency {args.concurrency}, "
            f"fake provider in a child process at {server.root}"
        )
        from engine.llm import adapter

        for model in MODELS.values():  # warm up: import litellm, load the tokenizers, open connections
            adapter.count_tokens(model, [{"role": "user", "content": "warm up"}])
        asyncio.run(raw_litellm(server, 30, 1, 30))
        server.call(op="reset")
        cpu = time.process_time()
        raw_wall, raw_ok, raw_failed = asyncio.run(raw_litellm(server, args.projects, args.tasks, args.concurrency))
        raw_cpu = (time.process_time() - cpu) / max(raw_ok, 1)
        raw_tps = raw_ok / raw_wall
        print(
            f"1. raw litellm, no faults:   {raw_ok} ok / {raw_failed} failed in {raw_wall:.2f} s = {raw_tps:.1f} calls/s; "
            f"CPU {raw_cpu * 1000:.2f} ms/call"
        )

        server.call(op="reset")
        cpu = time.process_time()
        clean = asyncio.run(
            engine_run(server, home / "clean", args.projects, args.tasks, args.concurrency, faults=False)
        )
        clean_run = clean["run"]
        clean_cpu = (time.process_time() - cpu) / max(clean_run.count("ok"), 1)
        clean_tps = clean_run.count("ok") / clean["wall"]
        clean_seen = server.call(op="stats")["count"]
        print(
            f"2. engine, no faults:        {clean_run.count('ok')} ok / {total} in {clean['wall']:.2f} s = "
            f"{clean_tps:.1f} tasks/s = {clean_tps / raw_tps:.2f}x raw litellm [goal >= 0.5x: "
            f"{'meets' if clean_tps / raw_tps >= 0.5 else 'MISSES'}]; server saw {clean_seen} requests"
        )
        print(
            f"   CPU {clean_cpu * 1000:.2f} ms/task (this process, DB thread included) = "
            f"{raw_cpu / clean_cpu:.2f}x raw litellm by CPU (steadier than wall time on a shared machine)"
        )

        server.call(op="reset")
        server.call(op="fault_rate", p=args.fault_rate, kinds=FAULT_KINDS, seed=args.seed)
        faulty = asyncio.run(
            engine_run(server, home / "faults", args.projects, args.tasks, args.concurrency, faults=True)
        )
        stats = server.call(op="stats")
        run = faulty["run"]
        db = db_figures(faulty["db"])
    finally:
        server.stop()
    fault_tps = run.count("ok") / faulty["wall"]
    failed = [o for o in run.outcomes if o.status == "failed"]
    clear = [o for o in failed if o.error and "\n" not in o.error and o.error_kind not in ("", "internal")]
    paid_seen = sum(n for provider, outcome, n in db["paid"] if provider != "dead")
    refused_conn = sum(n for provider, outcome, n in db["paid"] if provider == "dead")
    attempts = paid_seen + refused_conn
    injected = {k: v for k, v in stats["by_outcome"].items() if k != "reply"}
    overshoot = [
        (scope, key, spent - limit)
        for scope, key, limit, spent, _ in db["counters"]
        if limit is not None and spent > limit
    ]
    reserved = sum(r for *_, r in db["counters"])
    system_spent = next(spent for scope, _, _, spent, _ in db["counters"] if scope == "system")
    tight = [(key, spent, limit) for scope, key, limit, spent, _ in db["counters"] if scope == "project" and limit]
    kinds = Counter(o.error_kind for o in run.outcomes if o.status in ("failed", "refused"))
    print(f"3. engine, {100 * (sum(injected.values()) + refused_conn) / max(attempts, 1):.1f} % of attempts faulted:")
    print(
        f"   completed               {run.count('ok')} / {total}  ({dict(Counter(o.source for o in run.outcomes if o.status == 'ok'))})"
    )
    print(
        f"   refused by budget       {run.count('refused')}  ({dict((k, v) for k, v in kinds.items() if k in ('budget_refused', 'confirmation_required', 'price_unknown'))})"
    )
    print(
        f"   failed, clear error     {len(clear)} / {len(failed)} failed  ({dict((k, v) for k, v in kinds.items() if k not in ('budget_refused', 'confirmation_required', 'price_unknown'))})"
    )
    for o in failed[:3]:
        print(f"      e.g. {o.id}: {o.error[:150]}")
    print(
        f"   ledger rows (paid)      {paid_seen}  vs requests seen by the server {stats['count']}  "
        f"[{'equal' if paid_seen == stats['count'] else 'DIFFERENT'}]"
    )
    print(
        f"   connection refused      {refused_conn} attempts (ledger rows of the dead provider; the server cannot see them)"
    )
    print(
        f"   faults injected         {dict(sorted(injected.items()))} + refused {refused_conn}, of {attempts} attempts"
    )
    print(f"   attempt errors (ledger) {dict(sorted(db['error_classes'], key=lambda kv: -kv[1]))}")
    print(
        f"   budget overshoot        {sum(o for *_, o in overshoot)} micro-USD over {len(overshoot)} budgets "
        f"[goal 0: {'meets' if not overshoot else 'MISSES'}]; tight projects spent "
        f"{min(s for _, s, _ in tight)}-{max(s for _, s, _ in tight)} of {int(TIGHT_LIMIT_USD * 1e6)} micro-USD"
    )
    print(
        f"   after the run           reserved {reserved}, held reservations {db['held']}, pending rows {db['pending']}, "
        f"system spent {system_spent} = ledger {db['ledger_cost']} [{'equal' if system_spent == db['ledger_cost'] else 'DIFFERENT'}], "
        f"integrity {db['integrity']}"
    )
    print(
        f"   throughput              {fault_tps:.1f} completed tasks/s in {faulty['wall']:.2f} s = "
        f"{fault_tps / raw_tps:.2f}x raw litellm without faults"
    )
    print(f"total wall {time.perf_counter() - t0:.1f} s")
    if args.json:
        print(
            json.dumps(
                {
                    "tasks": total,
                    "raw_tps": round(raw_tps, 2),
                    "clean_tps": round(clean_tps, 2),
                    "clean_ratio": round(clean_tps / raw_tps, 3),
                    "raw_cpu_ms": round(raw_cpu * 1000, 2),
                    "clean_cpu_ms": round(clean_cpu * 1000, 2),
                    "cpu_ratio": round(raw_cpu / clean_cpu, 3),
                    "completed": run.count("ok"),
                    "refused": run.count("refused"),
                    "failed": len(failed),
                    "failed_clear": len(clear),
                    "ledger_paid": paid_seen,
                    "server_requests": stats["count"],
                    "refused_connections": refused_conn,
                    "injected": injected,
                    "overshoot_micros": sum(o for *_, o in overshoot),
                    "fault_tps": round(fault_tps, 2),
                    "fault_ratio": round(fault_tps / raw_tps, 3),
                }
            )
        )
    shutil.rmtree(home, ignore_errors=True)
    ok = paid_seen == stats["count"] and not overshoot and len(clear) == len(failed) and db["held"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
