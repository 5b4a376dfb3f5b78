"""Template matching at scale: p50/p95 latency of TemplateIndex.match() and process RSS.

    .venv/bin/python bench/match_scale.py                 # 1k, 10k, 100k (one subprocess each)
    .venv/bin/python bench/match_scale.py --sizes 1000 --queries 500

Each size runs in a fresh process so RSS is not polluted by the previous size. Synthetic
templates look like learned ones: 1-2 patterns of 3-7 literal words drawn from a 20k-word
Zipf-distributed vocabulary (so common words such as "with"/"for" are shared by thousands of
patterns), 1-2 typed slots, and a ~0.7 KB Jinja body. Queries: 50% instantiated patterns
(positives), 30% near misses (one extra or swapped word), 20% word soup.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.templates import ParamSpec, TemplateIndex, TemplateSpec  # noqa: E402

COMMON = [
    "with",
    "for",
    "that",
    "from",
    "to",
    "function",
    "class",
    "returns",
    "using",
    "into",
    "of",
    "by",
    "in",
    "on",
    "and",
    "list",
    "file",
    "async",
    "json",
    "data",
]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "si",
    "po",
    "ve",
    "da",
    "zu",
    "fe",
    "gi",
    "ho",
    "ja",
    "be",
    "co",
    "xi",
    "wy",
    "qu",
    "tr",
    "pl",
    "st",
    "gr",
]
SLOTS = [
    ("name", "identifier", lambda r: f"Thing{r.randrange(10**6)}"),
    (
        "fields",
        "field_list",
        lambda r: ", ".join(f"f{i}: {r.choice(['int', 'str', 'float | None'])}" for i in range(r.randint(1, 4))),
    ),
    ("count", "integer(1..1000)", lambda r: str(r.randint(1, 1000))),
    ("mode", "choice(fast|safe|lazy)", lambda r: r.choice(["fast", "safe", "lazy"])),
    ("label", "string", lambda r: f"'label_{r.randrange(1000)}'"),
]
BODY = '''"""Generated helper {n}: {{{{ name }}}}."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def {{{{ name|snake }}}}_{n}(items: list[str], *, limit: int = {n_limit}) -> list[str]:
    """Return at most ``limit`` cleaned items (template {n}).

    Blank items are dropped and whitespace is stripped; the order is kept.
    """
    cleaned: list[str] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        cleaned.append(text)
        if len(cleaned) >= limit:
            logger.debug("limit %d reached in helper {n}", limit)
            break
    return cleaned
'''


def make_vocab(rng: random.Random, size: int = 20_000) -> tuple[list[str], list[float]]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    vocab = COMMON + sorted(words)
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(vocab))]
    return vocab, list(accumulate(weights))


def make_specs(n: int, rng: random.Random) -> tuple[list[TemplateSpec], list[str], list[float]]:
    vocab, cum = make_vocab(rng)
    specs: list[TemplateSpec] = []
    for i in range(n):
        slots = rng.sample(SLOTS, rng.randint(1, 2))
        if "name" not in [s[0] for s in slots]:
            slots[0] = SLOTS[0]
        params = tuple(ParamSpec(name, type_) for name, type_, _ in slots)
        patterns = []
        for _ in range(rng.randint(1, 2)):
            words = list(dict.fromkeys(rng.choices(vocab, cum_weights=cum, k=rng.randint(3, 7))))
            parts: list[str] = list(words)
            # slots go after a literal word and never next to each other
            positions = sorted(rng.sample(range(1, len(parts) + 1), min(len(slots), len(parts))))
            for offset, (pos, (name, _, _)) in enumerate(zip(positions, slots)):
                parts.insert(pos + offset, f"{{{name}}}")
            text = " ".join(parts)
            patterns.append(text)
        try:
            specs.append(
                TemplateSpec(
                    name=f"learned_{i}",
                    description=f"synthetic {i}",
                    patterns=tuple(patterns),
                    body=BODY.format(n=i, n_limit=rng.randint(1, 99)),
                    params=params,
                )
            )
        except Exception:  # an unlucky random pattern (e.g. adjacent multi-token slots)
            continue
    return specs, vocab, cum


def instantiate(spec: TemplateSpec, rng: random.Random) -> str:
    pattern = rng.choice(spec.patterns)
    fill = {name: gen for name, _, gen in SLOTS}
    out = pattern.text
    for slot in pattern.slots:
        out = out.replace(f"{{{slot.name}}}", fill[slot.name](rng))
    return out


def make_queries(
    specs: list[TemplateSpec], vocab: list[str], cum: list[float], count: int, rng: random.Random
) -> list[tuple[str, str | None]]:
    queries: list[tuple[str, str | None]] = []
    for _ in range(count):
        roll = rng.random()
        spec = rng.choice(specs)
        task = instantiate(spec, rng)
        if roll < 0.5:
            queries.append((task, spec.name))
        elif roll < 0.8:
            words = task.split()
            own = {w for p in spec.patterns for w in p.literal_words}
            other = rng.choices(vocab, cum_weights=cum)[0]
            while other in own:
                other = rng.choices(vocab, cum_weights=cum)[0]
            literal = [j for j, w in enumerate(words) if w in own]
            if rng.random() < 0.5 or not literal:
                words.insert(rng.randrange(len(words) + 1), other)  # an extra requirement
            else:
                words[rng.choice(literal)] = other  # a different word
            queries.append((" ".join(words), None))
        else:
            queries.append((" ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 12))), None))
    return queries


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_one(size: int, queries: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    base = rss_mb()
    t0 = time.perf_counter()
    specs, vocab, cum = make_specs(size, rng)
    t1 = time.perf_counter()
    index = TemplateIndex(specs)
    t2 = time.perf_counter()
    workload = make_queries(specs, vocab, cum, queries, rng)
    gc.collect()
    rss_built = rss_mb()
    for task, _ in workload[:50]:  # warm-up
        index.match(task)
    lat: list[float] = []
    hits = correct = positives = near_served = 0
    for task, expected in workload:
        start = time.perf_counter_ns()
        m = index.match(task)
        lat.append((time.perf_counter_ns() - start) / 1e6)
        hits += m is not None
        if expected is None:
            near_served += m is not None and m.template is not None
        else:
            positives += 1
            correct += m is not None and m.template is not None and m.template.name == expected
    sim: list[float] = []
    for task, _ in workload[:200]:
        start = time.perf_counter_ns()
        index.similar(task)
        sim.append((time.perf_counter_ns() - start) / 1e6)
    return {
        "size": len(index),
        "patterns": index.pattern_count,
        "generate_s": round(t1 - t0, 2),
        "index_s": round(t2 - t1, 2),
        "match_p50_ms": round(statistics.median(lat), 3),
        "match_p95_ms": round(pct(lat, 0.95), 3),
        "match_p99_ms": round(pct(lat, 0.99), 3),
        "match_max_ms": round(max(lat), 3),
        "similar_p50_ms": round(statistics.median(sim), 3),
        "similar_p95_ms": round(pct(sim, 0.95), 3),
        "positives_served_correctly": f"{correct}/{positives}",
        "queries_matched": f"{hits}/{len(workload)}",
        "negatives_matched_some_template": f"{near_served}/{len(workload) - positives}",
        "rss_mb": round(rss_mb(), 1),
        "rss_after_index_mb": round(rss_built, 1),
        "rss_before_mb": round(base, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.sizes[0], args.queries, args.seed)))
        return 0
    rows = []
    for size in args.sizes:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--sizes",
                str(size),
                "--queries",
                str(args.queries),
                "--seed",
                str(args.seed),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    print(
        f"{'templates':>10} {'patterns':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'sim p95':>8} {'RSS MB':>8} {'peak MB':>8}  correct positives"
    )
    for r in rows:
        print(
            f"{r['size']:>10} {r['patterns']:>9} {r['match_p50_ms']:>8} {r['match_p95_ms']:>8} "
            f"{r['match_p99_ms']:>8} {r['similar_p95_ms']:>8} {r['rss_mb']:>8} {r['peak_rss_mb']:>8}  "
            f"{r['positives_served_correctly']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
