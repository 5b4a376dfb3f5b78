"""Cache-hit path: in-process ``engine.generate`` latency and ``templar generate`` as a new process.

    .venv/bin/python bench/hit_path.py                 # ~1.5 min
    .venv/bin/python bench/hit_path.py --hits 500 --cli-runs 5 --no-profile   # quick

(a) In process: one paid call (loopback fake provider in a child process) puts the answer in
    the response cache; then ``--hits`` identical ``engine.generate(task)`` calls are timed
    (wall p50/p95, process CPU). Goal: p50 and p95 <= 1 ms. Then a per-stage breakdown
    (exclusive times: config load, template lookups, cache key, DB hops...), a cProfile of the
    event-loop and DB threads, DB micro-costs (an empty hop to the DB thread; the hit's two
    statements via peewee vs raw SQL), load_config with two variants of its provenance step,
    and what-ifs with bench-local monkeypatches (the engine
    files are not modified): template lookups skipped; and a prototype of the whole hit path
    (no template lookups, one DB hop, raw SQL, one transaction) to show what is reachable.
(b) New process: ``python -m tui generate TASK --json`` against the prepared TEMPLAR_HOME
    (``--cli-runs`` runs, p50/p95; goal <= 0.5 s), checked to answer from the cache and NOT to
    import litellm (a wrapper prints ``"litellm" in sys.modules`` at exit; ``-X importtime`` is
    grepped too). Also ``python -m tui --help`` and a bare ``python -c pass`` for the floor,
    the slowest imports of the generate process, and a cProfile of one generate process.

Everything runs with a temporary TEMPLAR_HOME and fake keys; only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

HOME = C.isolate_environment("templar-bench-hit-")

from engine.paths import Paths  # noqa: E402
from engine.service import Engine  # noqa: E402

TASK = "function that merges two sorted lists of integers into one sorted list ({tag})"


def line_ms(label: str, walls: list[float], cpus: list[float] | None = None, goal_ms: float | None = None) -> str:
    s = C.summary_ms(walls)
    text = (
        f"  {label:<44} p50 {C.fmt_ms(s['p50']):>7}  p95 {C.fmt_ms(s['p95']):>7}  mean {C.fmt_ms(s['mean']):>7}"
        f"  max {C.fmt_ms(s['max']):>7} ms"
    )
    if cpus is not None:
        text += f"  | CPU {C.fmt_ms(sum(cpus) / len(cpus) * 1000)} ms/call"
    if goal_ms is not None:
        ok = s["p50"] <= goal_ms and s["p95"] <= goal_ms
        text += f"  [{'meets' if ok else 'MISSES'} <= {goal_ms:g} ms]"
    return text


async def timed(call: Any, n: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        await call()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return walls, cpus


# -- (a) in process ---------------------------------------------------------------------------


class HitBench:
    def __init__(self, engine: Engine, task: str) -> None:
        self.engine = engine
        self.task = task

    async def hit(self) -> None:
        result = await self.engine.generate(self.task)
        if result.source != "cache":
            raise RuntimeError(f"expected a cache hit, got source={result.source}")


def raw_sql_hit(
    engine: Engine, key: str, now: float, request_id: str, project: str, agent: str, started: float
) -> tuple | None:
    """Prototype of a one-hop hit: lookup + hit count + ledger row in ONE transaction, raw SQL.
    Runs on the DB thread. Same rows and columns as engine.cache.get + the pipeline's ledger write."""
    from engine.budget.book import day_of

    db = engine.store.db
    with db.atomic():
        row = db.execute_sql(
            "SELECT id, provider, model, text, code, tokens_in, tokens_out, cost_micros, hits "
            "FROM cache_entry WHERE key = ? AND expires > ?",
            (key, now),
        ).fetchone()
        if row is None:
            return None
        db.execute_sql("UPDATE cache_entry SET hits = hits + 1, last_used = ? WHERE id = ?", (now, row[0]))
        latency = int((time.perf_counter() - started) * 1000)
        db.execute_sql(
            "INSERT INTO ledger_entry (ts, day, request_id, project, agent, source, provider, model, attempt, "
            "tokens_in, tokens_out, cost_micros, saved_micros, latency_ms, outcome, error_class, estimated, "
            "reservation_id, owner) VALUES (?, ?, ?, ?, ?, 'cache', ?, ?, 0, 0, 0, 0, ?, ?, 'ok', NULL, 0, NULL, ?)",
            (now, day_of(now), request_id, project, agent, row[1], row[2], row[7], latency, engine.book.owner),
        )
    return row


async def prototype_hit(engine: Engine, task: str, settings_memo: dict) -> None:
    """What a hit could cost: no template lookups, one DB hop, raw SQL, one transaction."""
    from engine import cache as response_cache
    from engine.service import build_messages
    from engine.text import clean_task

    started = time.perf_counter()
    task = clean_task(task)
    settings = settings_memo.get("s")
    if settings is None:
        settings = settings_memo["s"] = engine.config("default", "default").settings
    messages = build_messages(settings, task)
    key = response_cache.cache_key(
        system=messages[0]["content"],
        prompt=messages[1]["content"],
        models=[settings.providers[n].model for n in settings.chain.order],
        params={"max_tokens": settings.generation.max_tokens, "temperature": settings.generation.temperature},
        prompt_version=settings.prompts.version,
    )
    row = await engine.store.run(
        raw_sql_hit, engine, key, engine.clock(), str(uuid.uuid4()), "default", "default", started
    )
    if row is None:
        raise RuntimeError("prototype: expected a cache hit")


async def db_micro(engine: Engine, key: str, n: int) -> None:
    """Cost of one empty hop to the DB thread, and of the hit's statements via peewee vs raw SQL."""
    from engine.budget.book import day_of
    from engine.store.models import LedgerEntry

    store = engine.store

    def noop() -> None:
        return None

    walls, cpus = await timed(lambda: store.run(noop), n)
    print(line_ms("empty store.run() hop (loop->DB thread->loop)", walls, cpus))

    def peewee_pair() -> None:
        from engine.store.models import CacheEntry

        now = time.time()
        CacheEntry.get_or_none((CacheEntry.key == key) & (CacheEntry.expires > now))
        CacheEntry.update(hits=CacheEntry.hits + 1, last_used=now).where(CacheEntry.key == key).execute()
        LedgerEntry.create(
            ts=now,
            day=day_of(now),
            request_id=str(uuid.uuid4()),
            project="default",
            agent="default",
            source="cache",
            provider="p",
            model="m",
            saved_micros=1,
            latency_ms=0,
            outcome="ok",
            owner=engine.book.owner,
        )

    def raw_pair() -> None:
        raw_sql_hit(engine, key, time.time(), str(uuid.uuid4()), "default", "default", time.perf_counter())

    for label, fn in (
        ("peewee: cache lookup + hit count + LedgerEntry.create (on DB thread)", peewee_pair),
        ("raw SQL, one transaction, same 3 statements", raw_pair),
    ):

        def work(fn: Any = fn) -> tuple[list[float], list[float]]:
            ws, cs = [], []
            for _ in range(n):
                w0, c0 = time.perf_counter(), time.thread_time()
                fn()
                cs.append(time.thread_time() - c0)
                ws.append(time.perf_counter() - w0)
            return ws, cs

        ws, cs = store.call(work)
        print(line_ms(label, ws, cs))


def config_micro(engine: Engine, n: int) -> None:
    """Engine.config as called per request vs the uncached cascade (a changed file, a new process)."""
    from engine.config import cascade

    def run(fn: Any) -> tuple[list[float], list[float]]:
        walls, cpus = [], []
        for _ in range(n):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpus.append(time.process_time() - c0)
            walls.append(time.perf_counter() - w0)
        return walls, cpus

    print(f"\n  configuration ({n} each; project 'default', agent 'default')")
    print(line_ms("Engine.config() as a request calls it", *run(lambda: engine.config("default", "default"))))
    print(
        line_ms(
            "uncached: resolve(load_layers(...))",
            *run(
                lambda: cascade.resolve(cascade.load_layers(engine.paths, "default", "default"), "default", "default")
            ),
        )
    )


async def in_process(args: argparse.Namespace, paths: Paths, server: Any) -> str:
    paths.user_settings.write_text(C.user_settings_text(server.api_bases(), order=["openai"]), encoding="utf-8")
    task = TASK.format(tag=uuid.uuid4().hex[:8])
    engine = Engine.from_settings(paths)
    try:
        t0 = time.perf_counter()
        first = await engine.generate(task)
        print(
            f"  first call: source={first.source} provider={first.provider} cost=${first.cost_micros / 1e6:.6f} "
            f"in {time.perf_counter() - t0:.2f} s (includes importing litellm)"
        )
        if first.source != "llm":
            raise RuntimeError(f"the first call should be paid, got {first.source}")
        b = HitBench(engine, task)
        await timed(b.hit, 50)  # warm-up
        walls, cpus = await timed(b.hit, args.hits)
        print(f"\n  (a) in-process cache hits: {args.hits} x engine.generate(same task), sequential")
        print(line_ms("engine.generate cache hit", walls, cpus, goal_ms=1.0))

        if not args.no_profile:
            meter = C.StageMeter(engine).install()
            n = args.profile_hits
            try:
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(n):
                    await b.hit()
                total_cpu, total_wall = time.process_time() - c0, time.perf_counter() - w0
            finally:
                meter.uninstall()
            meter.report(n, total_cpu, total_wall, f"where a hit's time goes ({n} sequential hits, exclusive)")
            await C.profile_calls(engine, b.hit, n, args.top, what="cache hits")

            print(f"\n  DB micro-costs ({args.micro} each)")
            from engine import cache as response_cache
            from engine.service import build_messages

            s = engine.config("default", "default").settings
            m = build_messages(s, task)
            key = response_cache.cache_key(
                system=m[0]["content"],
                prompt=m[1]["content"],
                models=[s.providers[x].model for x in s.chain.order],
                params={"max_tokens": s.generation.max_tokens, "temperature": s.generation.temperature},
                prompt_version=s.prompts.version,
            )
            await db_micro(engine, key, args.micro)
            config_micro(engine, max(20, args.micro // 10))

            print(f"\n  what-ifs ({args.what_if} sequential hits each; bench-local patches, engine files untouched)")
            await timed(b.hit, 20)
            walls, cpus = await timed(b.hit, args.what_if)
            print(line_ms("engine as it is (same conditions, for reference)", walls, cpus, goal_ms=1.0))
            with C.no_template_lookup(engine):
                await timed(b.hit, 20)
                walls, cpus = await timed(b.hit, args.what_if)
                print(line_ms("template lookups skipped", walls, cpus, goal_ms=1.0))
            memo: dict = {}
            await timed(lambda: prototype_hit(engine, task, memo), 20)
            walls, cpus = await timed(lambda: prototype_hit(engine, task, memo), args.what_if)
            print(line_ms("prototype: no templates, 1 hop, raw SQL, 1 txn", walls, cpus, goal_ms=1.0))
    finally:
        engine.close()
    return task


# -- (b) new processes ------------------------------------------------------------------------

_WRAPPER = r"""
import atexit, sys
sys.path.insert(0, sys.argv[1])
def _report():
    loaded = sorted(m for m in ("litellm", "openai", "textual", "bandit", "tiktoken") if m in sys.modules)
    print("BENCH_MODULES=" + ",".join(loaded), file=sys.stderr)
    print("BENCH_NMODULES=%d" % len(sys.modules), file=sys.stderr)
atexit.register(_report)
from tui.launcher import main
sys.exit(main(sys.argv[2:]))
"""


# Phases of a hit process, mimicking engine.cli.commands.cmd_generate with timers around the
# pieces (bench-local wrappers in the child; Templar's files are untouched).
_PHASES = r"""
import sys, time
T = time.perf_counter
t0 = T()
sys.path.insert(0, sys.argv[1])
task = sys.argv[2]
import asyncio, json
t_asyncio = T()
import engine.service as svc
t_import = T()
from engine.budget.book import BudgetBook
from engine.store import db as dbmod
acc = {}
phase = ["from_settings"]
def wrap(owner, name, label):
    orig = getattr(owner, name, None)
    if orig is None:
        return
    def w(*a, **k):
        s = T()
        try:
            return orig(*a, **k)
        finally:
            key = label.format(phase=phase[0])
            acc[key] = acc.get(key, 0.0) + (T() - s)
    setattr(owner, name, w)
wrap(svc, "load_config", "{phase}: load_config")
wrap(dbmod, "connect", "from_settings: connect")
wrap(dbmod.Store, "migrate", "from_settings: migrate check")
wrap(BudgetBook, "reconcile", "from_settings: reconcile")
try:
    import engine.tiers.templates as pl  # where the template tier calls it
    wrap(pl, "builtin_index", "generate: builtin_index() (built once per process)")
except ImportError:
    pass
t1 = T()
engine = svc.Engine.from_settings()
t2 = T()
phase[0] = "generate"
result = asyncio.run(engine.generate(task))
t3 = T()
engine.close()
t4 = T()
text = json.dumps(result.to_dict())
t5 = T()
assert result.source == "cache", result.source
out = {"import asyncio+json": t_asyncio - t0, "import engine.service (and everything it imports)": t_import - t_asyncio,
       "Engine.from_settings total": t2 - t1, "engine.generate total (asyncio.run)": t3 - t2,
       "engine.close": t4 - t3, "to_dict + json": t5 - t4}
out.update(acc)
print("BENCH_PHASES=" + json.dumps(out), file=sys.stderr)
"""


CHILD_CPU: list[float] = []  # CPU seconds (user+sys) of each run_proc child, in order


def run_proc(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=str(C.ROOT), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CHILD_CPU.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return wall, proc


def cpu_note(n: int) -> str:
    """p50 CPU of the last n child processes: unlike wall time, not inflated by other load."""
    return f"  | CPU p50 {C.percentile([c * 1000 for c in CHILD_CPU[-n:]], 50):.0f} ms"


NOTABLE_IMPORTS = (
    "engine.service",
    "engine.config.schema",
    "engine.templates",
    "engine.learning",
    "peewee",
    "psycopg",
    "pydantic",
    "jinja2",
    "asyncio",
    "platformdirs",
    "tomli_w",
    "playhouse.migrations",
)


def generate_runs(env: dict[str, str], task: str, n: int) -> tuple[list[float], dict[str, Any]]:
    py = sys.executable
    walls, out = [], {}
    for _ in range(n):
        wall, proc = run_proc([py, "-m", "tui", "generate", task, "--json"], env)
        if proc.returncode != 0:
            raise RuntimeError(f"generate failed: {proc.returncode} {proc.stderr[-800:]}")
        out = json.loads(proc.stdout)
        if out.get("source") != "cache":
            raise RuntimeError(f"expected a cache hit from the CLI, got {out.get('source')}")
        walls.append(wall)
    return walls, out


def help_runs(env: dict[str, str], n: int) -> list[float]:
    walls = []
    for _ in range(n):
        wall, proc = run_proc([sys.executable, "-m", "tui", "--help"], env)
        if proc.returncode != 0 or "usage" not in proc.stdout:
            raise RuntimeError(f"--help failed: {proc.returncode} {proc.stderr[-500:]}")
        walls.append(wall)
    return walls


def new_process(args: argparse.Namespace, task: str) -> None:
    py = sys.executable
    base = dict(os.environ)  # TEMPLAR_HOME = the prepared temporary home; fake keys; offline litellm
    variants: list[tuple[str, dict[str, str]]] = []
    pycache = Path(HOME) / "pycache"
    cached = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(pycache)  # bytecode goes to the temp home, not the source tree
    if base.get("PYTHONDONTWRITEBYTECODE"):
        variants.append(
            (
                "this environment (PYTHONDONTWRITEBYTECODE=1: Templar's own .py files are "
                "compiled again at every start)",
                base,
            )
        )
    variants.append(
        ("with a bytecode cache (PYTHONPYCACHEPREFIX in the temp home; what an installed user gets)", cached)
    )
    print(f"\n  (b) new processes ({args.cli_runs} runs each, sequential; TEMPLAR_HOME={HOME})")
    floor = [run_proc([py, "-c", "pass"], base)[0] for _ in range(args.cli_runs)]
    print(line_ms("python -c pass (interpreter floor)", floor) + cpu_note(args.cli_runs))
    for title, env in variants:
        help_runs(env, 1)  # warm-up (fills the bytecode cache in the cached variant)
        generate_runs(env, task, 1)
        print(f"  {title}:")
        print(line_ms("python -m tui --help", help_runs(env, args.cli_runs), goal_ms=500) + cpu_note(args.cli_runs))
        walls, out = generate_runs(env, task, args.cli_runs)
        print(line_ms("python -m tui generate TASK --json (hit)", walls, goal_ms=500) + cpu_note(args.cli_runs))
    print(f"  (source=cache in every run; engine-reported latency_ms of the last run: {out.get('latency_ms')})")

    env = variants[-1][1]
    wall, proc = run_proc([py, "-c", _WRAPPER, str(C.ROOT), "generate", task, "--json"], env)
    mods = [line for line in proc.stderr.splitlines() if line.startswith("BENCH_")]
    loaded = mods[0].split("=", 1)[1] if mods else "?"
    nmods = mods[1].split("=", 1)[1] if len(mods) > 1 else "?"
    print(
        f"  sys.modules at exit of a generate hit (wrapper around tui.launcher.main): litellm "
        f"{'NOT ' if 'litellm' not in loaded.split(',') else ''}imported; heavy modules present: [{loaded}]; "
        f"{nmods} modules"
    )

    phases: dict[str, list[float]] = {}
    walls = []
    for _ in range(args.cli_runs):
        wall, proc = run_proc([py, "-c", _PHASES, str(C.ROOT), task], env)
        line = next((text for text in proc.stderr.splitlines() if text.startswith("BENCH_PHASES=")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"phase run failed: {proc.stderr[-800:]}")
        for k, v in json.loads(line.split("=", 1)[1]).items():
            phases.setdefault(k, []).append(v)
        walls.append(wall)
    print(
        f"  phases of a hit process (median of {args.cli_runs}; process wall p50 "
        f"{C.percentile([w * 1000 for w in walls], 50):.0f} ms, interpreter floor "
        f"{C.percentile([f * 1000 for f in floor], 50):.0f} ms):"
    )
    for k, v in phases.items():
        indent = "      " if ":" in k else "    "
        print(f"{indent}{k:<58}{C.percentile([x * 1000 for x in v], 50):8.1f} ms")

    wall, proc = run_proc([py, "-X", "importtime", "-m", "tui", "generate", task, "--json"], env)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = [p for p in line[len("import time:") :].split("|")]
            if parts[0].strip().isdigit():
                rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    litellm_lines = [r for r in rows if r[2].strip().split(".")[0] == "litellm"]
    print(
        f"  -X importtime of a generate hit: {len(rows)} modules imported, {len(litellm_lines)} of them litellm; "
        f"sum of self times {sum(r[1] for r in rows) / 1000:.0f} ms (inflated by -X importtime)"
    )
    top = sorted((r for r in rows if not r[2].startswith("  ")), key=lambda r: -r[0])[: args.top_imports]
    print("  slowest top-level imports, cumulative ms: " + ", ".join(f"{r[2].strip()} {r[0] / 1000:.0f}" for r in top))
    notable = {}
    for cum, _self, name in rows:
        bare = name.strip()
        if bare in NOTABLE_IMPORTS and bare not in notable:
            notable[bare] = cum
    print("  selected imports, cumulative ms: " + ", ".join(f"{k} {v / 1000:.0f}" for k, v in notable.items()))

    if not args.no_profile:
        with tempfile.TemporaryDirectory() as tmp:
            out_file = Path(tmp) / "generate.prof"
            run_proc([py, "-m", "cProfile", "-o", str(out_file), "-m", "tui", "generate", task, "--json"], env)
            stats = pstats.Stats(str(out_file))
            print(
                f"\n  cProfile of one `generate --json` hit process ({stats.total_tt * 1000:.0f} ms under the "
                f"profiler), engine/ functions by cumulative time:"
            )
            C.print_stats_obj(stats, "cumulative", args.top, r"/(engine|tui)/")


async def main_async(args: argparse.Namespace) -> None:
    print("Templar hit-path benchmark")
    print(f"  machine: {C.machine_info()}")
    print(f"  TEMPLAR_HOME={HOME} (temporary, removed at exit)")
    print(f"  load average at start: {C.load_average()} (other processes inflate wall times)")
    server = C.ServerProcess()
    paths = Paths.from_env().ensure()
    t0 = time.perf_counter()
    task = await in_process(args, paths, server)
    server.stop()  # the hit path must not need a provider
    if not args.skip_cli:
        new_process(args, task)
    print(f"\n  load average at end: {C.load_average()}; total bench time {time.perf_counter() - t0:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hits", type=int, default=2000, help="measured in-process hits")
    p.add_argument("--profile-hits", type=int, default=100, help="hits for the breakdown and cProfile")
    p.add_argument("--what-if", type=int, default=300, help="hits per what-if variant")
    p.add_argument("--micro", type=int, default=500, help="repetitions per DB micro-cost")
    p.add_argument("--cli-runs", type=int, default=10, help="runs per new-process measurement")
    p.add_argument("--top", type=int, default=15, help="rows per cProfile table")
    p.add_argument("--top-imports", type=int, default=8, help="slowest imports listed")
    p.add_argument("--no-profile", action="store_true", help="skip breakdown, cProfile, micro-costs, what-ifs")
    p.add_argument("--skip-cli", action="store_true", help="skip the new-process measurements")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
