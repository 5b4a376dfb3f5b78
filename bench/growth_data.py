"""Realistic stores for bench/growth.py: learned templates, ledger rows, cache entries.

Templates use an English programming vocabulary (artifacts, verbs, objects, qualifiers) with
near-duplicate patterns (one word swapped: "ascending"/"descending", "csv"/"tsv" ...), typed
slots and a ~0.8 KB body. The bulk writers build exactly the rows the engine's own writers
write (``TemplateLibrary.add_template``, the budget book's settled ledger row,
``insert_free_answer``, ``cache.put``); ``check_templates_match_engine`` proves it on a sample.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

ARTIFACTS = [
    "function",
    "async function",
    "class",
    "helper",
    "method",
    "generator",
    "decorator",
    "context manager",
    "command line tool",
    "pytest test",
]
VERBS = [
    "parses",
    "validates",
    "merges",
    "sorts",
    "filters",
    "groups",
    "counts",
    "serializes",
    "loads",
    "saves",
    "converts",
    "normalizes",
    "deduplicates",
    "flattens",
    "splits",
    "joins",
    "compresses",
    "encrypts",
    "hashes",
    "formats",
    "renders",
    "fetches",
    "caches",
    "retries",
    "paginates",
    "streams",
    "batches",
    "schedules",
    "logs",
    "reads",
    "writes",
    "exports",
    "imports",
    "summarizes",
    "compares",
    "checks",
    "cleans",
    "maps",
    "reduces",
    "indexes",
    "searches",
    "ranks",
    "samples",
    "chunks",
    "tokenizes",
    "escapes",
    "masks",
    "redacts",
    "archives",
    "uploads",
]
OBJECTS = [
    "csv files",
    "json documents",
    "lists of integers",
    "dictionaries of strings",
    "yaml configs",
    "http responses",
    "sqlite tables",
    "log lines",
    "email addresses",
    "phone numbers",
    "dates",
    "timestamps",
    "urls",
    "file paths",
    "user records",
    "order rows",
    "invoice lines",
    "markdown notes",
    "xml feeds",
    "environment variables",
    "database rows",
    "api tokens",
    "image files",
    "zip archives",
    "sensor readings",
    "stock prices",
    "temperature samples",
    "git commits",
    "html pages",
    "query strings",
    "command arguments",
    "error messages",
    "audit events",
    "shopping carts",
    "bank transactions",
    "product catalogs",
    "customer names",
    "postal codes",
    "ip addresses",
    "uuid strings",
]
QUALIFIERS = [
    "in place",
    "with a timeout",
    "using a generator",
    "recursively",
    "iteratively",
    "in ascending order",
    "in descending order",
    "ignoring case",
    "skipping blank lines",
    "with type hints",
    "asynchronously",
    "lazily",
    "with retries",
    "by key",
    "by date",
    "without duplicates",
    "from a directory",
    "into a dataframe",
    "over http",
    "with logging",
    "in parallel",
    "with a progress bar",
    "into batches",
    "atomically",
    "with validation",
    "from standard input",
    "to standard output",
    "with a cache",
    "with a lock",
    "safely",
]
SWAPS = {
    "ascending": "descending",
    "descending": "ascending",
    "csv": "tsv",
    "json": "yaml",
    "recursively": "iteratively",
    "iteratively": "recursively",
    "lazily": "eagerly",
    "sorts": "shuffles",
    "merges": "splits",
    "encrypts": "decrypts",
    "uploads": "downloads",
    "reads": "writes",
    "writes": "reads",
    "loads": "saves",
    "saves": "loads",
    "compresses": "decompresses",
}
SLOT_KINDS = [("name", "identifier", "OrderHistory"), ("count", "integer(1..1000)", 25), ("label", "string", "report")]
BODY = '''"""{doc} ({n})."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def {{{{ name|snake }}}}(items: list[str], *, limit: int = {{{{ count|default(100) }}}}) -> list[str]:
    """Return at most ``limit`` cleaned items for {doc_short}.

    Blank items are dropped and whitespace is stripped; the order is kept.
    """
    cleaned: list[str] = []
    for item in items:
        text = item.strip()
        if not text:
            continue
        cleaned.append(text)
        if len(cleaned) >= limit:
            logger.debug("limit %d reached", limit)
            break
    return cleaned
'''


def _pattern(rng: random.Random) -> tuple[str, list[tuple[str, str, Any]]]:
    words = [rng.choice(ARTIFACTS), "that", rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(QUALIFIERS)]
    slots = [SLOT_KINDS[0]] + ([rng.choice(SLOT_KINDS[1:])] if rng.random() < 0.4 else [])
    text = " ".join(words) + " named {name}"
    if len(slots) > 1:
        text += " with " + ("limit {count}" if slots[1][0] == "count" else "label {label}")
    return text, slots


def _near_duplicate(pattern: str, rng: random.Random) -> str | None:
    words = pattern.split()
    swappable = [i for i, w in enumerate(words) if w in SWAPS]
    if swappable:
        i = rng.choice(swappable)
        words[i] = SWAPS[words[i]]
    else:  # add one requirement word, as a user refining a task would
        words.insert(rng.randrange(2, len(words) - 2), rng.choice(["quickly", "strictly", "simply"]))
    return " ".join(words)


def template_specs(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` distinct learned-template specs (the dict ``add_template`` takes); ~30 % near duplicates."""
    from engine.learning.body import Param

    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    previous: list[tuple[str, list[tuple[str, str, Any]]]] = []
    while len(out) < n:
        if previous and rng.random() < 0.3:
            base, slots = rng.choice(previous[-200:])
            text = _near_duplicate(base, rng)
        else:
            text, slots = _pattern(rng)
        if text is None or text in seen:
            continue
        seen.add(text)
        previous.append((text, slots))
        i = len(out)
        doc = text.split(" named ")[0]
        out.append(
            {
                "name": "_".join(doc.split()[:4])[:60],
                "pattern": text,
                "body": BODY.format(doc=doc.capitalize(), n=i, doc_short=doc),
                "params": [Param(name, type_, value, f"the {name}", 0.9) for name, type_, value in slots],
                "version": 1,
                "quality": 90,
                "counterfactual_micros": 330 + i % 50,
            }
        )
    return out


def instantiate(spec: dict[str, Any]) -> str:
    text = spec["pattern"].replace("{name}", "CustomerLedger").replace("{count}", "40")
    return text.replace("{label}", "weekly")


def template_rows(spec: dict[str, Any], now: float) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(template row, version row without template id): what ``TemplateLibrary.add_template`` writes."""
    from engine.learning.library import params_to_json

    params = params_to_json(spec["params"])
    template = (
        spec["name"],
        "python",
        spec["pattern"],
        spec["body"],
        params,
        "active",
        int(spec.get("version", 1)),
        0,
        0,
        0,
        int(spec.get("quality", 0)),
        int(spec.get("counterfactual_micros", 0)),
        now,
        now,
        None,
    )
    version = (
        int(spec.get("version", 1)),
        spec["pattern"],
        spec["body"],
        params,
        int(spec.get("quality", 0)),
        now,
        "imported",
    )
    return template, version


TEMPLATE_COLUMNS = (
    "name, language, pattern, body, params, status, version, uses, failures, saved_micros, quality, "
    "counterfactual_micros, created, updated, retired_reason"
)
VERSION_COLUMNS = "template_id, version, pattern, body, params, quality, created, reason"


def bulk_templates(db: Any, specs: list[dict[str, Any]], now: float) -> None:
    """Insert templates + their version rows in one transaction (runs on the database thread)."""
    with db.atomic():
        cursor = db.cursor()
        row = db.execute_sql("SELECT COALESCE(MAX(id), 0) FROM template").fetchone()
        first = int(row[0]) + 1
        templates, versions = [], []
        for offset, spec in enumerate(specs):
            t, v = template_rows(spec, now)
            templates.append((first + offset, *t))
            versions.append((first + offset, *v))
        cursor.executemany(f"INSERT INTO template (id, {TEMPLATE_COLUMNS}) VALUES ({', '.join('?' * 16)})", templates)
        cursor.executemany(f"INSERT INTO template_version ({VERSION_COLUMNS}) VALUES ({', '.join('?' * 8)})", versions)


def check_templates_match_engine(db: Any, library: Any, specs: list[dict[str, Any]]) -> None:
    """Write ``specs`` through ``add_template`` and assert the bulk rows would be identical."""
    for spec in specs:
        view = library.add_template(dict(spec), now=1.0)
        got = db.execute_sql(f"SELECT {TEMPLATE_COLUMNS} FROM template WHERE id = ?", (view.id,)).fetchone()
        want, _ = template_rows(spec, 1.0)
        if tuple(got) != want:
            raise AssertionError(f"bulk template row differs from the engine's:\n{got}\n{want}")


# -- ledger ------------------------------------------------------------------------------------

LEDGER_COLUMNS = (
    "ts, day, request_id, project, agent, source, provider, model, attempt, tokens_in, tokens_out, "
    "cost_micros, saved_micros, latency_ms, outcome, error_class, estimated, reservation_id, owner"
)
_MODELS = [
    ("gemini", "gemini/gemini-2.0-flash"),
    ("openai", "openai/gpt-4o-mini"),
    ("anthropic", "anthropic/claude-3-5-haiku-latest"),
]


def ledger_rows(n: int, days: int, now: float, seed: int = 5) -> list[tuple[Any, ...]]:
    """``n`` rows over ``days`` days, in the shape the engine writes: settled paid attempts (llm,
    repair, suggest, review; ok / error / interrupted) and free answers (learned, builtin, cache)."""
    rng = random.Random(seed)
    projects = [f"project{i:02d}" for i in range(30)]
    agents = ["coder", "reviewer", "ci", "alice", "bob"]
    out = []
    start = now - days * 86400
    day_names: dict[int, str] = {}
    for i in range(n):
        ts = start + (i / n) * days * 86400
        day = day_names.get(int(ts // 86400)) or day_names.setdefault(
            int(ts // 86400), time.strftime("%Y-%m-%d", time.gmtime(ts))
        )
        rid = f"{i:08x}-0000-4000-8000-{seed:012x}"  # unique per row, uuid-shaped
        project, agent = rng.choice(projects), rng.choice(agents)
        roll = rng.random()
        if roll < 0.55:
            source = rng.choice(("learned", "learned", "builtin", "cache"))
            provider, model = {
                "learned": ("", f"learned-{rng.randrange(1, 5000)}"),
                "builtin": ("", rng.choice(("dataclass", "enum", "typed_dict", "argparse_cli"))),
            }.get(source) or rng.choice(_MODELS)
            out.append(
                (
                    ts,
                    day,
                    rid,
                    project,
                    agent,
                    source,
                    provider,
                    model,
                    0,
                    0,
                    0,
                    0,
                    rng.randrange(200, 900),
                    rng.randrange(0, 3),
                    "ok",
                    None,
                    False,
                    None,
                    "bench@host",
                )
            )
            continue
        source = "llm" if roll < 0.85 else rng.choice(("suggest", "repair", "review"))
        provider, model = rng.choice(_MODELS)
        outcome = "ok" if rng.random() < 0.95 else rng.choice(("error", "interrupted"))
        error = None if outcome == "ok" else rng.choice(("RateLimit", "Timeout", "ServerError"))
        tin, tout = rng.randrange(200, 1500), (rng.randrange(100, 900) if outcome == "ok" else 0)
        cost = tin * 15 // 100 + tout * 60 // 100
        out.append(
            (
                ts,
                day,
                rid,
                project,
                agent,
                source,
                provider,
                model,
                1,
                tin,
                tout,
                cost,
                0,
                rng.randrange(300, 9000),
                outcome,
                error,
                rng.random() < 0.02,
                rid,
                "bench@host",
            )
        )
    return out


def edge_ledger_rows(
    now: float,
    count: int,
    *,
    request_id: Callable[[int], str],
    day: Callable[[float], str],
    latency: Callable[[random.Random], int],
) -> list[tuple[Any, ...]]:
    """Edge cases for the aggregates' tests (seeded, hourly from ``now`` backwards): empty group
    values, reconcile and reversal rows, negative and estimated costs, failures without a class;
    ``request_id``, ``day`` and ``latency`` say how each test wants those columns."""
    rng = random.Random(3)
    rows = []
    for i in range(count):
        source = rng.choice(("llm", "llm", "repair", "reconcile", "cache", "learned", "builtin", "suggest", "reversal"))
        outcome = rng.choice(("ok", "ok", "error", "interrupted", "refused"))
        ts = now - i * 3600
        rows.append(
            (
                ts,
                day(ts),
                request_id(i),
                rng.choice(("", "acme")),
                rng.choice(("", "bob")),
                source,
                rng.choice(("", "openai")),
                rng.choice(("", "m1")),
                1,
                rng.randrange(50),
                rng.randrange(50),
                rng.randrange(-5, 500),
                rng.randrange(100),
                latency(rng),
                outcome,
                rng.choice((None, "", "Timeout")),
                rng.random() < 0.3,
                None,
                "o",
            )
        )
    return rows


def bulk_ledger(db: Any, rows: list[tuple[Any, ...]]) -> None:
    with db.atomic():
        db.cursor().executemany(f"INSERT INTO ledger_entry ({LEDGER_COLUMNS}) VALUES ({', '.join('?' * 19)})", rows)


def cache_answer(i: int) -> dict[str, Any]:
    code = (
        BODY.format(doc=f"Cached answer {i}", n=i, doc_short="a cached task")
        .replace("{{ name|snake }}", f"clean_items_{i}")
        .replace("{{ count|default(100) }}", "100")
    )
    return {
        "provider": "openai",
        "model": "openai/gpt-4o-mini",
        "text": f"```python\n{code}```",
        "code": code,
        "tokens_in": 420,
        "tokens_out": 380,
        "cost_micros": 291,
    }


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True)
