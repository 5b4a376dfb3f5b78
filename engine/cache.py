"""The exact-match response cache, stored in the database.

The key is a SHA-256 over everything that changes an answer: the system and task prompts, the
provider chain's models, generation parameters and the prompt version. Only validated answers
are put here; failures never are. Entries expire after the TTL; past the size cap the least
recently used go first. Functions here are synchronous and run on the database thread.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from engine.store.models import CacheEntry


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


def get(key: str, now: float | None = None) -> CachedAnswer | None:
    """The live entry for ``key`` (and count the hit), or None."""
    now = time.time() if now is None else now
    row = CacheEntry.get_or_none((CacheEntry.key == key) & (CacheEntry.expires > now))
    if row is None:
        return None
    CacheEntry.update(hits=CacheEntry.hits + 1, last_used=now).where(CacheEntry.id == row.id).execute()
    return CachedAnswer(
        row.key, row.provider, row.model, row.text, row.code, row.tokens_in, row.tokens_out, row.cost_micros, row.hits + 1
    )


def put(
    key: str, *, provider: str, model: str, text: str, code: str, tokens_in: int, tokens_out: int,
    cost_micros: int, ttl_s: int, max_entries: int, now: float | None = None,
) -> None:
    """Store a validated answer, then enforce the TTL and the size cap."""
    if max_entries <= 0 or ttl_s <= 0:
        return
    now = time.time() if now is None else now
    values = dict(
        created=now, expires=now + ttl_s, last_used=now, hits=0, provider=provider, model=model, text=text,
        code=code, tokens_in=tokens_in, tokens_out=tokens_out, cost_micros=cost_micros,
    )
    CacheEntry.insert(key=key, **values).on_conflict(conflict_target=[CacheEntry.key], update=values).execute()
    CacheEntry.delete().where(CacheEntry.expires <= now).execute()
    excess = CacheEntry.select().count() - max_entries
    if excess > 0:
        oldest = CacheEntry.select(CacheEntry.id).order_by(CacheEntry.last_used.asc(), CacheEntry.id.asc()).limit(excess)
        CacheEntry.delete().where(CacheEntry.id.in_([r.id for r in oldest])).execute()


def stats() -> dict[str, int]:
    return {"entries": CacheEntry.select().count()}
