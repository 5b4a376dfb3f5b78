"""The persisted anchor index at scale: candidates per task and agreement with a full scan.

    .venv/bin/python bench/growth_anchors.py [--size 100000] [--tasks 300]    # ~2 min at 100k here

Builds a learned library from bench/growth_data.py (realistic vocabulary, near-duplicate
patterns), files it in the anchor index once, then for real tasks of that library prints how
many templates ``TemplateLibrary.lookup`` loads, its latency (first read and repeated, in one
process) and whether ``lookup(task).match(task)`` equals the whole library's ``match`` (it must:
tests/engine/test_anchor_index.py proves it on a small library; this checks it at size).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

C.isolate_environment("templar-bench-anchors-")

import growth_data as G  # noqa: E402

from engine.learning.library import TemplateLibrary  # noqa: E402
from engine.paths import Paths  # noqa: E402
from engine.service import Engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=300)
    args = parser.parse_args()
    specs = G.template_specs(args.size)
    engine = Engine.from_settings(Paths.from_env().ensure())
    try:
        engine.store.call(G.bulk_templates, engine.store.db, specs, time.time())
        t0 = time.process_time()
        engine.store.call(engine.library.lookup, "warm up")
        print(f"{args.size} templates filed in the anchor index in {time.process_time() - t0:.1f} s CPU (once)")
        tasks = [G.instantiate(s) for s in random.Random(1).sample(specs, args.tasks)]

        def run() -> dict[str, Any]:
            lib = TemplateLibrary()  # a fresh process's cache
            sizes, first, again = [], [], []
            for task in tasks:
                t = time.perf_counter()
                index = lib.lookup(task)
                index.match(task)
                first.append(time.perf_counter() - t)
                sizes.append(len(index))
            for task in tasks:
                t = time.perf_counter()
                lib.lookup(task).match(task)
                again.append(time.perf_counter() - t)
            near_lib, near_times, near_sizes = TemplateLibrary(), [], []
            for task in tasks:  # what a paid call reads for its "similar templates" list
                t = time.perf_counter()
                index = near_lib.near_index(task + " quickly")
                index.similar(task + " quickly", limit=3)
                near_times.append(time.perf_counter() - t)
                near_sizes.append(len(index))
            t = time.process_time()
            full = lib.index()
            full_cpu = time.process_time() - t

            def key(m: Any) -> Any:
                return None if m is None else (m.template.name, m.bindings)

            agree = sum(key(full.match(t)) == key(lib.lookup(t).match(t)) for t in tasks)
            matched = sum(full.match(t) is not None for t in tasks)
            return {
                "sizes": sizes,
                "first": first,
                "again": again,
                "agree": agree,
                "matched": matched,
                "near": near_times,
                "near_sizes": near_sizes,
                "full_cpu": full_cpu,
            }

        r = engine.store.call(run)
    finally:
        engine.close()

    def q(values: list[float], p: float) -> float:
        return sorted(values)[int(p * (len(values) - 1))]

    print(
        f"candidates loaded per task: median {statistics.median(r['sizes'])}, p95 {q(r['sizes'], 0.95)}, "
        f"max {max(r['sizes'])}"
    )
    print(
        f"lookup + match, first read: p50 {q(r['first'], 0.5) * 1000:.2f} ms, p95 {q(r['first'], 0.95) * 1000:.2f} ms;"
        f" repeated: p50 {q(r['again'], 0.5) * 1000:.3f} ms, p95 {q(r['again'], 0.95) * 1000:.3f} ms"
    )
    print(
        f"same match as the whole library: {r['agree']} of {len(tasks)} (the whole library matches "
        f"{r['matched']} of them; the others are refused by both, e.g. ties or meaning guards)"
    )
    print(
        f"near misses for a paid call (task + one extra word), first read: p50 {q(r['near'], 0.5) * 1000:.2f} ms, "
        f"p95 {q(r['near'], 0.95) * 1000:.2f} ms, templates loaded median {statistics.median(r['near_sizes'])}, "
        f"max {max(r['near_sizes'])}; loading the whole library instead: {r['full_cpu']:.1f} s CPU"
    )
    print(f"load average: {C.load_average()}")


if __name__ == "__main__":
    main()
