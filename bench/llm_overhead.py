"""Templar's overhead on a paid call: ``engine.generate(use_cache=False)`` vs raw ``litellm.acompletion``.

    .venv/bin/python bench/llm_overhead.py                       # OpenAI format, ~1 min
    .venv/bin/python bench/llm_overhead.py --formats openai,anthropic,gemini
    .venv/bin/python bench/llm_overhead.py --calls 100 --rounds 2 --no-profile   # quick

Both sides call the same loopback fake provider (tests/fakes, default responder) with the same
model, api_base, key, max_tokens, temperature, timeout and ``num_retries=0, max_retries=0``;
the raw side uses the same litellm module object the engine configured (adapter.litellm()).
Every engine task is distinct and ``use_cache=False``, so every engine call is a paid call:
budget reservation + settlement, ledger rows, token counting, validation and a cache write.

The server runs in a child process (its CPU is not charged to us) with two socket settings
changed there (bench-local, tests/fakes is untouched): TCP_NODELAY, because http.server's
separate header/body writes otherwise meet the client's delayed ACK and every request takes
~45 ms more wall time; and a listen backlog of 1024 instead of socketserver's 5, because 100
simultaneous connects otherwise overflow it and dropped SYNs are retried after 1 s, 3 s.
``--nagle`` keeps the stock settings; ``--inproc`` runs the server in this process instead.

Printed per side: per-call wall latency mean/p50/p95, per-call CPU (time.process_time, all
threads of this process: event loop, DB thread, validation thread), throughput, and the ratio
engine/raw (goal <= 1.10x). Sequential calls run in alternating blocks (raw, engine, engine,
raw, ...) so drift hits both sides alike. Then, unless --no-profile: a per-stage CPU breakdown
of the engine path (sequential, so each stage's process-CPU delta is its own), a cProfile of
the event-loop thread and of the DB thread, a what-if with the paid path's DB work done as two
raw-SQL transactions (bench-local prototype; the engine is not modified) and the arithmetic
projection of the engine's overhead with it, and one measurement with learning enabled.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (sets nothing at import; isolate_environment() below does)

HOME = C.isolate_environment("templar-bench-overhead-")

from engine.llm import adapter  # noqa: E402
from engine.paths import Paths  # noqa: E402
from engine.service import Engine, build_messages  # noqa: E402

# The DB hops of a paid call that the raw-SQL what-if replaces.
PAID_DB = (
    "ProviderChain._preflight",
    "BudgetBook.status",
    "BudgetBook.reserve",
    "BudgetBook.settle",
    "settle_with",
    "BudgetBook.record_crossings",
    "cache.put",
    "put_cached",
)
TASK = "function number {i} that returns the sum of two integers, tag {tag}"


class Bench:
    def __init__(self, engine: Engine, server: Any, fmt: str) -> None:
        self.engine = engine
        self.server = server
        self.fmt = fmt
        self.settings = engine.config("default", "default").settings
        provider = self.settings.providers[fmt]
        self.lib = adapter.litellm()
        self.raw_kwargs = dict(
            model=provider.model,
            api_base=server.api_base(fmt),
            api_key=C.FAKE_KEY,
            max_tokens=self.settings.generation.max_tokens,
            temperature=self.settings.generation.temperature,
            timeout=provider.timeout_s,
            num_retries=0,
            max_retries=0,
        )
        self.counter = 0
        self.tag = uuid.uuid4().hex[:8]

    def next_task(self) -> str:
        self.counter += 1
        return TASK.format(i=self.counter, tag=self.tag)

    async def raw_call(self) -> None:
        messages = build_messages(self.settings, self.next_task())
        response = await self.lib.acompletion(messages=messages, **self.raw_kwargs)
        if not (response.choices[0].message.content or "").strip():
            raise RuntimeError("raw call returned no text")

    async def engine_call(self, project: str = "default") -> None:
        result = await self.engine.generate(self.next_task(), project=project, agent="default", use_cache=False)
        if result.source != "llm" or result.provider != self.fmt or not result.code.strip():
            raise RuntimeError(f"unexpected engine result: {result.source} {result.provider}")


async def timed_calls(call: Callable[[], Awaitable[None]], n: int) -> tuple[list[float], list[float]]:
    """n sequential calls: per-call wall seconds and per-call process-CPU seconds."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        await call()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return walls, cpus


async def concurrent_round(call: Callable[[], Awaitable[None]], n: int) -> tuple[list[float], float, float]:
    """n calls at once: per-call wall seconds, round wall seconds, round process-CPU seconds."""
    lat: list[float] = []

    async def one() -> None:
        t0 = time.perf_counter()
        await call()
        lat.append(time.perf_counter() - t0)

    w0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(n)))
    return lat, time.perf_counter() - w0, time.process_time() - c0


def row(label: str, walls: list[float], cpu_per_call_ms: list[float] | float, throughput: float) -> str:
    s = C.summary_ms(walls)
    if isinstance(cpu_per_call_ms, list):
        cs = C.summary_ms(cpu_per_call_ms)
        cpu = f"{C.fmt_ms(cs['mean']):>7} {C.fmt_ms(cs['p50']):>7} {C.fmt_ms(cs['p95']):>7}"
    else:
        cpu = f"{C.fmt_ms(cpu_per_call_ms):>7} {'':>7} {'':>7}"
    return (
        f"  {label:<16}{C.fmt_ms(s['mean']):>8}{C.fmt_ms(s['p50']):>8}{C.fmt_ms(s['p95']):>8}{C.fmt_ms(s['max']):>8}"
        f"   {cpu}   {throughput:>8.1f}"
    )


HEADER = (
    f"  {'':<16}{'wall ms':>8}{'':>8}{'':>8}{'':>8}   {'CPU ms/call':>7}\n"
    f"  {'':<16}{'mean':>8}{'p50':>8}{'p95':>8}{'max':>8}   {'mean':>7} {'p50':>7} {'p95':>7}   {'calls/s':>8}"
)


def ratio_line(what: str, engine: float, raw: float) -> str:
    r = engine / raw if raw else float("inf")
    verdict = "meets" if r <= 1.10 else "MISSES"
    return f"  ratio engine/raw {what:<22} {r:6.2f}x  ({verdict} the <= 1.10x goal)"


async def run_format(b: Bench, args: argparse.Namespace) -> dict[str, float]:
    fmt = b.fmt
    print(f"\n=== format {fmt}: model {b.raw_kwargs['model']} at {b.raw_kwargs['api_base']} ===")
    t0 = time.perf_counter()
    await timed_calls(b.raw_call, args.warmup)
    await timed_calls(b.engine_call, args.warmup)
    print(f"  warm-up: {args.warmup} raw + {args.warmup} engine calls in {time.perf_counter() - t0:.1f} s")

    # Sequential, alternating blocks.
    block = max(1, args.calls // 4)
    seq: dict[str, tuple[list[float], list[float]]] = {"raw": ([], []), "engine": ([], [])}
    wall_total = {"raw": 0.0, "engine": 0.0}
    done = {"raw": 0, "engine": 0}
    order = ["raw", "engine", "engine", "raw"]
    i = 0
    while done["raw"] < args.calls or done["engine"] < args.calls:
        side = order[i % 4]
        i += 1
        n = min(block, args.calls - done[side])
        if n <= 0:
            continue
        call = b.raw_call if side == "raw" else b.engine_call
        w0 = time.perf_counter()
        walls, cpus = await timed_calls(call, n)
        wall_total[side] += time.perf_counter() - w0
        seq[side][0].extend(walls)
        seq[side][1].extend(cpus)
        done[side] += n
    print(f"\n  sequential: {args.calls} calls per side (alternating blocks of {block})")
    print(HEADER)
    for side, label in (("raw", "raw litellm"), ("engine", "templar engine")):
        walls, cpus = seq[side]
        print(row(label, walls, [c for c in cpus], args.calls / wall_total[side]))
    seq_raw_cpu = sum(seq["raw"][1]) / args.calls * 1000
    seq_eng_cpu = sum(seq["engine"][1]) / args.calls * 1000
    seq_raw_wall = C.summary_ms(seq["raw"][0])
    seq_eng_wall = C.summary_ms(seq["engine"][0])
    print(ratio_line("CPU/call (mean)", seq_eng_cpu, seq_raw_cpu))
    print(ratio_line("latency p50", seq_eng_wall["p50"], seq_raw_wall["p50"]))
    print(ratio_line("latency p95", seq_eng_wall["p95"], seq_raw_wall["p95"]))
    print(
        f"  engine overhead per call: {seq_eng_cpu - seq_raw_cpu:.2f} ms CPU, "
        f"{seq_eng_wall['p50'] - seq_raw_wall['p50']:.2f} ms wall (p50)"
    )

    # Concurrent rounds.
    conc: dict[str, dict[str, Any]] = {s: {"lat": [], "wall": 0.0, "cpu": 0.0} for s in ("raw", "engine")}
    for r in range(args.rounds):
        sides = ("raw", "engine") if r % 2 == 0 else ("engine", "raw")
        for side in sides:
            call = b.raw_call if side == "raw" else b.engine_call
            lat, wall, cpu = await concurrent_round(call, args.concurrency)
            conc[side]["lat"].extend(lat)
            conc[side]["wall"] += wall
            conc[side]["cpu"] += cpu
    n_conc = args.rounds * args.concurrency
    print(f"\n  concurrent: {args.rounds} rounds x {args.concurrency} calls at once (asyncio.gather), per side")
    print(HEADER)
    for side, label in (("raw", "raw litellm"), ("engine", "templar engine")):
        c = conc[side]
        print(row(label, c["lat"], c["cpu"] / n_conc * 1000, n_conc / c["wall"]))
    conc_raw_cpu = conc["raw"]["cpu"] / n_conc * 1000
    conc_eng_cpu = conc["engine"]["cpu"] / n_conc * 1000
    print(ratio_line("CPU/call", conc_eng_cpu, conc_raw_cpu))
    print(ratio_line("throughput (raw/engine)", n_conc / conc["raw"]["wall"], n_conc / conc["engine"]["wall"]))
    print(
        ratio_line("latency p50", C.summary_ms(conc["engine"]["lat"])["p50"], C.summary_ms(conc["raw"]["lat"])["p50"])
    )
    return {"seq_raw_cpu": seq_raw_cpu, "seq_eng_cpu": seq_eng_cpu}


# -- where the engine's time goes -----------------------------------------------------------


async def stage_breakdown(b: Bench, n: int, raw_cpu_ms: float) -> tuple[float, float, float]:
    meter = C.StageMeter(b.engine).install()
    try:
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            await b.engine_call()
        total_cpu, total_wall = time.process_time() - c0, time.perf_counter() - w0
    finally:
        meter.uninstall()
    meter.report(
        n,
        total_cpu,
        total_wall,
        f"engine.generate per-stage cost, {n} sequential paid calls (process CPU: all threads)",
    )
    per = lambda v: v / n * 1000  # noqa: E731
    db_ms = sum(per(v) for k, v in meter.cpu.items() if k.startswith("db hop: ") and k[8:] in PAID_DB)
    litellm_ms = per(meter.cpu.get("litellm acompletion (adapter.complete)", 0.0))
    print(
        f"  (raw litellm alone: {raw_cpu_ms:.2f} ms CPU/call; the 1.10x goal leaves "
        f"{raw_cpu_ms * 0.10:.2f} ms of engine work per call)"
    )
    return per(total_cpu), litellm_ms, db_ms


async def profile_engine(b: Bench, n: int, top: int) -> None:
    await C.profile_calls(b.engine, b.engine_call, n, top, what="sequential paid engine calls")


def _raw_reserve(engine: Engine, counter_ids: list[int], amount: int, request_id: str) -> tuple[str, int]:
    """Prototype of BudgetBook.reserve in raw SQL (same rows; counter ids cached in process)."""
    from engine.budget.book import day_of

    db, book, now = engine.store.db, engine.book, time.time()
    with db.atomic("IMMEDIATE"):
        for cid in counter_ids:
            cur = db.execute_sql(
                "UPDATE budget_counter SET reserved_micros = reserved_micros + ? WHERE id = ? AND "
                "(limit_micros IS NULL OR spent_micros + reserved_micros + ? <= limit_micros)",
                (amount, cid, amount),
            )
            if cur.rowcount != 1:
                raise RuntimeError("refused")
        rid = str(uuid.uuid4())
        cur = db.execute_sql(
            "INSERT INTO ledger_entry (ts, day, request_id, project, agent, source, provider, model, attempt, tokens_in, "
            "tokens_out, cost_micros, saved_micros, latency_ms, outcome, error_class, estimated, reservation_id, owner) "
            "VALUES (?, ?, ?, 'default', 'default', 'llm', 'openai', 'openai/gpt-4o-mini', 1, 60, 0, 0, 0, 0, "
            "'pending', NULL, 0, ?, ?)",
            (now, day_of(now), request_id, rid, book.owner),
        )
        ledger_id = cur.lastrowid
        db.execute_sql(
            "INSERT INTO reservation (id, owner, host, pid, created, amount_micros, counter_ids, ledger_id, state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held')",
            (rid, book.owner, book.host, book.pid, now, amount, ",".join(map(str, counter_ids)), ledger_id),
        )
    return rid, ledger_id


def _raw_settle(
    engine: Engine, counter_ids: list[int], held: tuple[str, int], amount: int, cost: int, key: str
) -> None:
    """Prototype of BudgetBook.settle + record_crossings' reads + cache.put in ONE transaction."""
    db, now = engine.store.db, time.time()
    rid, ledger_id = held
    marks = ",".join("?" * len(counter_ids))
    with db.atomic("IMMEDIATE"):
        db.execute_sql(
            f"UPDATE budget_counter SET reserved_micros = reserved_micros - ?, spent_micros = spent_micros + ? "
            f"WHERE id IN ({marks})",
            (amount, cost, *counter_ids),
        )
        db.execute_sql("UPDATE reservation SET state = 'settled' WHERE id = ? AND state = 'held'", (rid,))
        db.execute_sql(
            "UPDATE ledger_entry SET outcome = 'ok', cost_micros = ?, tokens_out = 20, latency_ms = 3 WHERE id = ?",
            (cost, ledger_id),
        )
        db.execute_sql(
            f"SELECT spent_micros, limit_micros FROM budget_counter WHERE id IN ({marks})", tuple(counter_ids)
        ).fetchall()  # the levels for alert crossings
        db.execute_sql(
            "INSERT INTO cache_entry (key, created, expires, last_used, hits, provider, model, text, code, tokens_in, "
            "tokens_out, cost_micros) VALUES (?, ?, ?, ?, 0, 'openai', 'openai/gpt-4o-mini', ?, ?, 60, 20, ?) "
            "ON CONFLICT (key) DO UPDATE SET expires = excluded.expires, text = excluded.text, code = excluded.code",
            (key, now, now + 86400, now, "```python\ndef f():\n    return 1\n```", "def f():\n    return 1\n", cost),
        )


async def what_if_raw_db(b: Bench, n: int, peewee_db_ms: float) -> float:
    """The paid path's DB work as 2 hops of raw SQL instead of 5 hops of peewee; returns CPU ms/call."""
    engine = b.engine
    ids = engine.store.call(
        lambda: [r[0] for r in engine.store.db.execute_sql("SELECT id FROM budget_counter ORDER BY id").fetchall()][:3]
    )
    if len(ids) < 3:
        print("  (raw-SQL what-if skipped: fewer than 3 budget counters)")
        return float("nan")

    async def one() -> None:
        held = await engine.store.run(_raw_reserve, engine, ids, 1000, str(uuid.uuid4()))
        await engine.store.run(_raw_settle, engine, ids, held, 1000, 40, uuid.uuid4().hex + uuid.uuid4().hex)

    await timed_calls(one, 10)
    walls, cpus = await timed_calls(one, n)
    cpu = sum(cpus) / n * 1000
    print(
        f"\n  what-if: the paid path's DB work as 2 hops of raw SQL (reserve | settle + level read + cache put), "
        f"{n} runs:"
    )
    print(
        f"    {cpu:.2f} ms CPU/call, wall p50 {C.summary_ms(walls)['p50']:.2f} ms; today's 5 peewee hops "
        f"(status, reserve, settle, record_crossings, cache.put) measured {peewee_db_ms:.2f} ms CPU/call above"
    )
    return cpu


async def learning_on(b: Bench, paths: Paths, n: int, raw_cpu_ms: float) -> None:
    """The default settings have learning on: a validated paid answer triggers a second paid call
    (the parameterization suggestion). Measured through a project file that turns it on."""
    paths.project_file("learning").parent.mkdir(parents=True, exist_ok=True)
    paths.project_file("learning").write_text("[learning]\nenabled = true\n", encoding="utf-8")
    calls = 0
    orig = adapter.complete

    async def counting(*a: Any, **k: Any) -> Any:
        nonlocal calls
        calls += 1
        return await orig(*a, **k)

    adapter.complete = counting  # type: ignore[assignment]
    try:
        await timed_calls(lambda: b.engine_call("learning"), 3)
        calls = 0
        walls, cpus = await timed_calls(lambda: b.engine_call("learning"), n)
    finally:
        adapter.complete = orig  # type: ignore[assignment]
    cpu = sum(cpus) / n * 1000
    print(f"\n  with learning enabled (the default; project file [learning] enabled = true), {n} sequential calls:")
    print(
        f"    {calls / n:.1f} provider requests per generate(); engine {cpu:.2f} ms CPU/call, wall p50 "
        f"{C.summary_ms(walls)['p50']:.2f} ms; vs one raw call {raw_cpu_ms:.2f} ms CPU = {cpu / raw_cpu_ms:.2f}x"
    )


async def main_async(args: argparse.Namespace) -> None:
    server = C.InProcessServer(nodelay=not args.nagle) if args.inproc else C.ServerProcess(nodelay=not args.nagle)
    paths = Paths.from_env().ensure()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    print("Templar LLM overhead benchmark")
    print(f"  machine: {C.machine_info()}")
    print(f"  TEMPLAR_HOME={HOME} (temporary, removed at exit)")
    print(f"  load average at start: {C.load_average()} (other processes inflate wall times, not CPU/call)")
    print(
        f"  fake provider: {server.root_url} ({'in this process' if args.inproc else 'child process'}, "
        f"{'stock socket settings' if args.nagle else 'TCP_NODELAY on, listen backlog 1024'})"
    )
    t0 = time.perf_counter()
    results = {}
    for fmt in formats:
        paths.user_settings.write_text(C.user_settings_text(server.api_bases(), order=[fmt]), encoding="utf-8")
        engine = Engine.from_settings(paths)
        try:
            b = Bench(engine, server, fmt)
            results[fmt] = await run_format(b, args)
            if not args.no_profile:
                raw_cpu = results[fmt]["seq_raw_cpu"]
                total, litellm_ms, db_ms = await stage_breakdown(b, args.profile_calls, raw_cpu)
                if fmt == formats[0]:
                    await profile_engine(b, args.profile_calls, args.top)
                raw_db = await what_if_raw_db(b, args.profile_calls * 2, db_ms)
                overhead = total - litellm_ms - db_ms + raw_db
                print(
                    f"\n  projection (arithmetic on the breakdown above, not a measurement): engine CPU on top of "
                    f"the litellm call with the DB work as 2 raw-SQL hops = {total:.2f} total - {litellm_ms:.2f} "
                    f"litellm - {db_ms:.2f} peewee DB + {raw_db:.2f} raw-SQL DB = {overhead:.2f} ms/call "
                    f"-> {(raw_cpu + overhead) / raw_cpu:.2f}x a {raw_cpu:.2f} ms raw call "
                    f"(1.10x allows {raw_cpu * 0.1:.2f} ms)"
                )
                if fmt == formats[0]:
                    await learning_on(b, paths, args.learning_calls, results[fmt]["seq_raw_cpu"])
        finally:
            engine.close()
    print("\n  summary (sequential CPU/call):")
    for fmt, r in results.items():
        print(
            f"    {fmt:<10} raw {r['seq_raw_cpu']:6.2f} ms  engine {r['seq_eng_cpu']:6.2f} ms  "
            f"ratio {r['seq_eng_cpu'] / r['seq_raw_cpu']:5.2f}x (goal <= 1.10x)"
        )
    print(f"  load average at end: {C.load_average()}; total bench time {time.perf_counter() - t0:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--formats", default="openai", help="comma-separated: openai,anthropic,gemini")
    p.add_argument("--calls", type=int, default=200, help="sequential calls per side")
    p.add_argument("--concurrency", type=int, default=100, help="calls at once per concurrent round")
    p.add_argument("--rounds", type=int, default=5, help="concurrent rounds per side")
    p.add_argument("--warmup", type=int, default=20, help="warm-up calls per side (not measured)")
    p.add_argument("--profile-calls", type=int, default=100, help="calls for the breakdown/profile passes")
    p.add_argument("--learning-calls", type=int, default=30, help="calls for the learning-on measurement")
    p.add_argument("--top", type=int, default=18, help="rows per cProfile table")
    p.add_argument("--no-profile", action="store_true", help="skip breakdown, cProfile and what-if")
    p.add_argument("--inproc", action="store_true", help="run the fake server in this process")
    p.add_argument(
        "--nagle", action="store_true", help="stock fake-server sockets: Nagle on (+~45 ms/request), listen backlog 5"
    )
    args = p.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
