"""The exact-match response cache, stored in the database.

The key is a SHA-256 over everything that changes an answer: the system and task prompts, the
provider chain's models, generation parameters and the prompt version. Only validated answers
are put here; failures never are. Entries expire after the TTL (expired entries are never
served); past the size cap the least recently used go first — each process enforces the cap
when its own writes may have crossed it, in one batch down to ``low_water(cap)`` (90 %), so a
full cache pays one eviction per tenth of its cap, not one per insert. Functions here are synchronous and run on the
database thread; the hit path is plain SQL (two statements and a ledger row).
"""

from __future__ import annotations

import hashlib
import json
import time
import weakref
from dataclasses import dataclass
from typing import Any

from engine.store.models import CacheEntry
from engine.store.sql import execute, insert_free_answer


def cache_key(*, system: str, prompt: str, models: list[str], params: dict[str, Any], prompt_version: str) -> str:
    payload = json.dumps(
        {"system": system, "prompt": prompt, "models": models, "params": params, "v": prompt_version},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedAnswer:
    key: str
    provider: str
    model: str
    text: str
    code: str
    tokens_in: int
    tokens_out: int
    cost_micros: int
    hits: int


_COLUMNS = "key, provider, model, text, code, tokens_in, tokens_out, cost_micros, hits"


def peek(key: str, now: float | None = None) -> CachedAnswer | None:
    """The live entry for ``key`` without counting a hit, or None."""
    now = time.time() if now is None else now
    row = execute(f"SELECT {_COLUMNS} FROM cache_entry WHERE key = ? AND expires > ?", (key, now)).fetchone()
    return None if row is None else _answer(row)


def _answer(row: tuple[Any, ...]) -> CachedAnswer:
    key, provider, model, text, code, tokens_in, tokens_out, cost = row[:8]
    return CachedAnswer(
        key=key,
        provider=provider,
        model=model,
        text=text,
        code=code,
        tokens_in=int(tokens_in),
        tokens_out=int(tokens_out),
        cost_micros=int(cost),
        hits=int(row[8]),
    )


def record_hit(key: str, now: float, ledger: tuple[Any, ...]) -> None:
    """Count a hit and write its ledger row in one transaction.

    ``ledger`` is (request_id, project, agent, provider, model, saved_micros, latency_ms, owner).
    """
    with CacheEntry._meta.database.atomic():
        execute("UPDATE cache_entry SET hits = hits + 1, last_used = ? WHERE key = ?", (now, key))
        insert_free_answer(now, "cache", *ledger)


# entries this process believes the store holds, per open database (weak: a closed store's
# count must not be inherited by a new one that happens to reuse its address)
_written_since_count: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def put(
    key: str,
    *,
    provider: str,
    model: str,
    text: str,
    code: str,
    tokens_in: int,
    tokens_out: int,
    cost_micros: int,
    ttl_s: int,
    max_entries: int,
    now: float | None = None,
) -> None:
    """Store a validated answer; enforce the TTL and size cap when this process may have crossed it."""
    if max_entries <= 0 or ttl_s <= 0:
        return
    now = time.time() if now is None else now
    execute(
        "INSERT INTO cache_entry (key, created, expires, last_used, hits, provider, model, text, code, tokens_in, "
        "tokens_out, cost_micros) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
        "created = excluded.created, expires = excluded.expires, last_used = excluded.last_used, hits = 0, "
        "provider = excluded.provider, model = excluded.model, text = excluded.text, code = excluded.code, "
        "tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out, cost_micros = excluded.cost_micros",
        (key, now, now + ttl_s, now, provider, model, text, code, tokens_in, tokens_out, cost_micros),
    )
    db = CacheEntry._meta.database.obj if hasattr(CacheEntry._meta.database, "obj") else CacheEntry._meta.database
    if db not in _written_since_count:
        _written_since_count[db] = CacheEntry.select().count()
    else:
        _written_since_count[db] += 1
    if _written_since_count[db] > max_entries:
        _written_since_count[db] = evict(low_water(max_entries), now)


def low_water(max_entries: int) -> int:
    """How many entries an eviction keeps: 90 % of the cap (at least one fewer than the cap)."""
    return max(0, max_entries - max(1, max_entries // 10))


def evict(max_entries: int, now: float | None = None) -> int:
    """Drop expired entries, then the least recently used beyond ``max_entries``; returns the count left."""
    now = time.time() if now is None else now
    CacheEntry.delete().where(CacheEntry.expires <= now).execute()
    # one statement, so processes evicting at once never delete more than the excess
    beyond = (
        CacheEntry.select(CacheEntry.id).order_by(CacheEntry.last_used.desc(), CacheEntry.id.desc()).offset(max_entries)
    )
    CacheEntry.delete().where(CacheEntry.id.in_(beyond)).execute()
    return CacheEntry.select().count()


def stats() -> dict[str, int]:
    return {"entries": CacheEntry.select().count()}
