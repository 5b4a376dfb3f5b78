"""Costs that grow with history (issue 14): figures at 0 / 10k / 100k learned templates,
1M ledger rows over 90 days, and full caches of 10k and 100k entries.

    .venv/bin/python bench/growth.py                       # all of it, < 10 min here
    .venv/bin/python bench/growth.py --sizes 0,10000 --ledger 100000 --caps 10000   # quick

Every figure is min / median / max of ``--repeat`` (3) runs:
- ``templar generate TASK --json`` answered from the cache, as a new process: CPU s (user+sys
  of the child, ``getrusage``), at each template count; and the modules that process imported.
- learned-template, built-in and cache hits in process (``engine.generate``): p50 / p95 ms of
  ``--hits`` sequential hits per run, at each template count.
- ``templar stats --json`` as a new process on an empty store and at ``--ledger`` rows: wall and CPU.
- ``cache.put`` of new entries into a cache already at its cap: amortised ms per insert.

Stores are built by the engine's own writers where they are fast enough (``cache.put``, schema
migrations) and otherwise by bulk writers that write exactly the engine's rows
(bench/growth_data.py; a sample is written both ways and compared before every run).
Everything runs in temporary TEMPLAR_HOMEs with fake keys; no network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.isolate_environment("templar-bench-growth-")

import growth_data as G  # noqa: E402

from engine import cache as response_cache  # noqa: E402
from engine.paths import Paths  # noqa: E402
from engine.service import Engine, build_messages  # noqa: E402

CACHED_TASK = "function that merges two sorted lists of integers into one sorted list for the growth bench"
BUILTIN_TASK = "dataclass named Point with fields x: int, y: int"
NOW = time.time()


def mmm(values: list[float], fmt: str = "{:.3f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def new_home(tag: str) -> Paths:
    home = Path(tempfile.mkdtemp(prefix=f"templar-growth-{tag}-", dir=os.environ["TEMPLAR_HOME"]))
    os.environ["TEMPLAR_HOME"] = str(home)
    return Paths.from_env().ensure()


BYTECODE = {"on": False}  # --bytecode: children may cache compiled modules, as an installed package has them


def env_for(paths: Paths) -> dict[str, str]:
    """The environment of a CLI child: the TEMPLAR_HOME ``paths`` was made in (new_home set it).
    Without ``--bytecode`` a child compiles every one of our modules from source when the outer
    environment sets PYTHONDONTWRITEBYTECODE (this machine does: ~85 modules, ~0.05-0.1 s CPU);
    ``pip install`` writes the bytecode, so ``--bytecode`` is what a user's process pays."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(C.ROOT)
    if BYTECODE["on"]:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, subprocess.CompletedProcess]:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, cwd=str(C.ROOT), capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), proc


def cache_key_for(engine: Engine, task: str) -> str:
    s = engine.config("default", "default").settings
    m = build_messages(s, task)
    return response_cache.cache_key(
        system=m[0]["content"],
        prompt=m[1]["content"],
        models=[s.providers[x].model for x in s.chain.order],
        params={"max_tokens": s.generation.max_tokens, "temperature": s.generation.temperature},
        prompt_version=s.prompts.version,
    )


def put_cached(engine: Engine, task: str) -> None:
    key = cache_key_for(engine, task)
    engine.store.call(response_cache.put, key, **G.cache_answer(0), ttl_s=86400, max_entries=1_000_000, now=time.time())


# -- templates ---------------------------------------------------------------------------------

_MODULES = r"""
import atexit, json, sys
sys.path.insert(0, sys.argv[1])
atexit.register(lambda: open(sys.argv[2], "w").write(json.dumps(sorted(sys.modules))))
from tui.launcher import main
raise SystemExit(main(sys.argv[3:]))
"""


def cli_generate(env: dict[str, str], task: str, expect: str) -> tuple[float, float]:
    wall, cpu, proc = run_child([sys.executable, "-m", "tui", "generate", task, "--json"], env)
    if proc.returncode != 0:
        raise RuntimeError(f"generate failed ({proc.returncode}): {proc.stderr[-600:]}")
    source = json.loads(proc.stdout).get("source")
    if source != expect:
        raise RuntimeError(f"expected a {expect} answer, got {source}")
    return wall, cpu


def modules_of(env: dict[str, str], task: str) -> list[str]:
    out = Path(os.environ["TEMPLAR_HOME"]) / "modules.json"
    _, _, proc = run_child([sys.executable, "-c", _MODULES, str(C.ROOT), str(out), "generate", task, "--json"], env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-600:])
    return json.loads(out.read_text())


async def hits_in_process(engine: Engine, task: str, expect: str, n: int) -> tuple[float, float]:
    walls = []
    for i in range(n + 10):
        t0 = time.perf_counter()
        result = await engine.generate(task)
        if i >= 10:
            walls.append(time.perf_counter() - t0)
        if result.source != expect:
            raise RuntimeError(f"expected {expect}, got {result.source} for {task!r}")
    walls.sort()
    return C.percentile([w * 1000 for w in walls], 50), C.percentile([w * 1000 for w in walls], 95)


def learned_pick(engine: Engine, specs: list[dict[str, Any]], size: int) -> str:
    """A learned task whose wording is not inferred critical (critical ones need a paid review)."""
    from engine.critical import decide_critical

    settings = engine.config("default", "default").settings
    return next(
        G.instantiate(s)
        for s in specs[size // 2 : size]
        if not decide_critical(settings, G.instantiate(s), None).critical
    )


def template_size(size: int, specs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    paths = new_home(f"t{size}")
    engine = Engine.from_settings(paths)
    out: dict[str, Any] = {"size": size}
    try:
        t0 = time.perf_counter()
        engine.store.call(G.bulk_templates, engine.store.db, specs[:size], NOW)
        out["build_s"] = time.perf_counter() - t0
        t0 = time.process_time()
        engine.store.call(engine.library.lookup, "warm up")  # files every template in the anchor index, once
        out["index_cpu"] = time.process_time() - t0
        put_cached(engine, CACHED_TASK)
        pick = learned_pick(engine, specs, size) if size else None
    finally:
        engine.close()
    env = env_for(paths)
    if BYTECODE["on"]:
        cli_generate(env, CACHED_TASK, "cache")  # writes the bytecode once (not timed)
    runs = [cli_generate(env, CACHED_TASK, "cache") for _ in range(args.repeat)]
    out["cli_cpu"] = [c for _, c in runs]
    out["cli_wall"] = [w for w, _ in runs]
    if pick is not None:
        runs = [cli_generate(env, pick, "learned") for _ in range(args.repeat)]
        out["cli_learned_cpu"] = [c for _, c in runs]
    out["modules"] = modules_of(env, CACHED_TASK)

    async def in_process() -> None:
        engine = Engine.from_settings(paths)
        try:
            t0 = time.process_time()
            await engine.generate(CACHED_TASK)  # first request: loads what it needs
            out["first_cpu"] = time.process_time() - t0
            tasks = [("cache", CACHED_TASK), ("builtin", BUILTIN_TASK)]
            if size:
                assert pick is not None
                tasks.insert(0, ("learned", pick))
                t0 = time.process_time()
                first = await engine.generate(tasks[0][1])  # reads its candidates from the anchor index
                out["learned_first_cpu"] = time.process_time() - t0
                if first.source != "learned":
                    raise RuntimeError(f"expected a learned hit, got {first.source}")
            for source, task in tasks:
                out[source] = [await hits_in_process(engine, task, source, args.hits) for _ in range(args.repeat)]
        finally:
            engine.close()

    asyncio.run(in_process())
    return out


def print_templates(results: list[dict[str, Any]]) -> None:
    print("\n## templar generate, cache hit, new process (CPU s; wall s) — goal CPU <= 0.35 s, 100k <= 1.15x of 0")
    base = statistics.median(results[0]["cli_cpu"])
    for r in results:
        ratio = statistics.median(r["cli_cpu"]) / base if base else 0
        print(
            f"  {r['size']:>7} templates: CPU {mmm(r['cli_cpu'])}  wall {mmm(r['cli_wall'])}  "
            f"({ratio:.2f}x of 0; store built in {r['build_s']:.1f} s, anchor index filed once in "
            f"{r['index_cpu']:.1f} s CPU)"
        )
        if "cli_learned_cpu" in r:
            print(f"  {r['size']:>7} templates, a learned hit instead: CPU {mmm(r['cli_learned_cpu'])}")
    print("\n## hits in process, p50 / p95 ms per run (min / median / max of runs) — goal p50 <= 1, p95 <= 2, flat")
    for r in results:
        learned = f", first learned request CPU {r['learned_first_cpu']:.2f} s" if "learned_first_cpu" in r else ""
        print(f"  {r['size']:>7} templates (first request, a cache hit: CPU {r['first_cpu']:.2f} s{learned}):")
        for source in ("learned", "builtin", "cache"):
            if source in r:
                p50s, p95s = [x[0] for x in r[source]], [x[1] for x in r[source]]
                print(f"      {source:<8} p50 {mmm(p50s)}   p95 {mmm(p95s)}")
    mods = results[0]["modules"]
    tops = sorted({m.split(".")[0] for m in mods} - set(sys.stdlib_module_names))
    third = [t for t in tops if not t.startswith("_") and t not in ("engine", "tui", "cython_runtime")]
    ours = [m for m in mods if m.split(".")[0] in ("engine", "tui")]
    print(f"\n## modules a cache hit imports (new process, 0 templates): {len(mods)} modules, {len(ours)} of ours")
    print("  third-party: " + " ".join(third))
    for name in (
        "engine.cli.batch_cmd",
        "psycopg",
        "psycopg2",
        "bandit",
        "litellm",
        "textual",
        "engine.learning.library",
        "engine.validation",
    ):
        print(f"    {name:<26} {'imported' if any(m == name or m.startswith(name + '.') for m in mods) else 'no'}")


# -- stats -------------------------------------------------------------------------------------


def stats_figures(rows: int, args: argparse.Namespace) -> dict[str, Any]:
    paths = new_home(f"l{rows}")
    engine = Engine.from_settings(paths)
    build = backfill = 0.0
    try:
        if rows:
            from engine import rollups, template_totals

            postgres = not engine.store.url.startswith("sqlite")
            t0 = time.perf_counter()
            for statement in rollups.drop_sql(postgres) + template_totals.drop_sql(postgres):  # as an older store
                engine.store.call(engine.store.db.execute_sql, statement)
            chunk = 200_000
            for start in range(0, rows, chunk):
                engine.store.call(G.bulk_ledger, engine.store.db, _ledger_slice(start, min(rows, start + chunk), rows))
            build = time.perf_counter() - t0
            t0 = time.perf_counter()
            engine.store.call(_backfill, engine.store.db, postgres)  # what migration 0009 does to them
            backfill = time.perf_counter() - t0
    finally:
        engine.close()
    env = env_for(paths)
    if BYTECODE["on"]:
        run_child([sys.executable, "-m", "tui", "stats", "--json"], env)  # writes the bytecode once (not timed)
    walls, cpus, summary = [], [], {}
    for _ in range(args.repeat):
        wall, cpu, proc = run_child([sys.executable, "-m", "tui", "stats", "--json"], env)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-600:])
        summary = json.loads(proc.stdout)["total"]
        walls.append(wall)
        cpus.append(cpu)
    return {
        "rows": rows,
        "wall": walls,
        "cpu": cpus,
        "build_s": build,
        "backfill_s": backfill,
        "requests": summary.get("requests"),
        **reads_in_process(paths, args.repeat),
    }


def _backfill(db: Any, postgres: bool) -> None:
    from engine import rollups, template_totals

    with db.atomic():
        rollups.install(db, postgres)
        template_totals.install(db, postgres)  # what migration 0014 does to them


def reads_in_process(paths: Paths, repeat: int) -> dict[str, list[float]]:
    """CPU of the reads themselves, in one process (no interpreter start): ``stats --json``'s
    ``compute_stats`` and what the app's budget screen reads (tui/screens/budget.py load_budget)."""
    from engine.stats import compute_stats

    engine = Engine.from_settings(paths)
    out: dict[str, list[float]] = {"stats_cpu": [], "screen_cpu": []}
    try:
        for _ in range(repeat):
            t0 = time.process_time()
            engine.store.call(compute_stats, None, None)
            out["stats_cpu"].append(time.process_time() - t0)

            async def screen() -> None:
                await engine.budget_status("default", "default")
                since = NOW - 30 * 86400
                for by in ("day", "provider", "model"):  # as tui/screens/budget.py asks
                    await engine.stats(since, by, false_hits=False, fold_templates=by == "model")
                await engine.budget_alerts(observe=False)

            t0 = time.process_time()
            asyncio.run(screen())
            out["screen_cpu"].append(time.process_time() - t0)
    finally:
        engine.close()
    return out


_ALL_LEDGER: list[tuple[Any, ...]] = []


def _ledger_slice(start: int, stop: int, total: int) -> list[tuple[Any, ...]]:
    if len(_ALL_LEDGER) != total:
        _ALL_LEDGER[:] = G.ledger_rows(total, 90, NOW)
    return _ALL_LEDGER[start:stop]


# -- cache at the cap --------------------------------------------------------------------------


def fill_cache(cap: int) -> None:
    from engine.store.models import CacheEntry

    with CacheEntry._meta.database.atomic():
        for i in range(cap):
            response_cache.put(f"{i:064x}", **G.cache_answer(i), ttl_s=86400 * 30, max_entries=cap, now=NOW + i * 1e-3)


def timed_puts(cap: int, start: int, n: int) -> tuple[float, float]:
    """Wall and CPU ms per insert of ``n`` new entries (CPU: this thread's; the machine is shared)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    for i in range(start, start + n):
        response_cache.put(f"{i:064x}", **G.cache_answer(i), ttl_s=86400 * 30, max_entries=cap, now=NOW + i * 1e-3)
    return (time.perf_counter() - t0) * 1000 / n, (time.thread_time() - c0) * 1000 / n


def cache_figures(cap: int, args: argparse.Namespace) -> dict[str, Any]:
    """Each run inserts one whole eviction cycle (``cap - low_water(cap)`` entries, at least
    ``--puts``), so the batch eviction is amortised over the inserts it serves."""
    paths = new_home(f"c{cap}")
    engine = Engine.from_settings(paths)
    n = max(args.puts, cap - response_cache.low_water(cap))
    try:
        t0 = time.perf_counter()
        engine.store.call(fill_cache, cap)
        build = time.perf_counter() - t0
        per = [engine.store.call(timed_puts, cap, cap + 1 + r * n, n) for r in range(args.repeat)]
        left = engine.store.call(lambda: response_cache.stats()["entries"])
    finally:
        engine.close()
    return {
        "cap": cap,
        "ms": [w for w, _ in per],
        "cpu_ms": [c for _, c in per],
        "build_s": build,
        "left": left,
        "n": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--ledger", type=int, default=1_000_000)
    parser.add_argument("--caps", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hits", type=int, default=200)
    parser.add_argument("--puts", type=int, default=300)
    parser.add_argument("--skip", default="", help="comma list of: templates, stats, cache")
    parser.add_argument(
        "--bytecode",
        action="store_true",
        help="let CLI children cache compiled modules (as an installed package has them)",
    )
    args = parser.parse_args()
    BYTECODE["on"] = args.bytecode
    skip = set(filter(None, args.skip.split(",")))
    started = time.perf_counter()
    print(C.machine_info())
    print(f"load average at start: {C.load_average()}")

    if "templates" not in skip:
        sizes = [int(s) for s in args.sizes.split(",")]
        specs = G.template_specs(max(sizes) + 50)
        paths = new_home("check")
        engine = Engine.from_settings(paths)
        try:
            engine.store.call(G.check_templates_match_engine, engine.store.db, engine.library, specs[-50:])
        finally:
            engine.close()
        words = {w for s in specs for w in s["pattern"].split()}
        print(
            f"templates: {len(specs) - 50} specs, {len(words)} distinct pattern words; bulk rows == add_template rows "
            f"(50 checked)"
        )
        results = [template_size(size, specs, args) for size in sizes]
        print_templates(results)

    if "stats" not in skip:
        print("\n## templar stats --json, new process (wall s; CPU s) — goal <= 0.3 s, within 1.5x of empty")
        for rows in (0, args.ledger):
            r = stats_figures(rows, args)
            print(
                f"  {rows:>8} ledger rows over 90 days: wall {mmm(r['wall'])}  CPU {mmm(r['cpu'])}  "
                f"(requests {r['requests']}; built in {r['build_s']:.1f} s, aggregates backfilled as migrations "
                f"0009 and 0014 do in {r['backfill_s']:.1f} s)"
            )
            print(
                f"  {rows:>8} rows, in process: compute_stats CPU {mmm(r['stats_cpu'])} s; budget screen reads "
                f"CPU {mmm(r['screen_cpu'])} s"
            )

    if "cache" not in skip:
        print("\n## cache.put at the cap, amortised ms per insert over one eviction cycle — goal <= 0.1 ms")
        for cap in (int(c) for c in args.caps.split(",")):
            r = cache_figures(cap, args)
            print(
                f"  cap {cap:>7}: wall {mmm(r['ms'])} ms, CPU {mmm(r['cpu_ms'])} ms over {r['n']} inserts "
                f"(entries after: {r['left']}; filled by cache.put in {r['build_s']:.1f} s)"
            )

    print(f"\nload average at end: {C.load_average()}; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when redirected to a file
    main()
