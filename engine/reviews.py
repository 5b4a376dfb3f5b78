"""Reviews on record: a critical answer is served only with an approving review of exactly it.

Whatever tier serves a critical request (learned or built-in template, cache, paid call), the
code must carry an approving verdict from a provider other than its author. A verdict is
recorded per (task, exact code) with where the code came from (template name and version, cache
key); the next critical request that yields the same code reuses it at no cost. Without one, a
second provider reviews the code now (a paid, budgeted ``review`` call, never the author) and the
verdict is recorded -- approve or reject; an "unavailable" or "unclear" review is not recorded and
counts as not approved.

Invariants: a review never runs for a non-critical request; a reviewer is never the author; a
failed review call never loses the answer (it just is not approved). Store functions here are
synchronous and run on the database thread.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.context import RequestContext
from engine.errors import TemplarError
from engine.events import LookupResult
from engine.money import micros_to_usd, usd_to_micros
from engine.store.sql import execute

if TYPE_CHECKING:
    from engine.service import Engine

REVIEW_SYSTEM = (
    "You review code written by another model for correctness and security. Reply with one JSON "
    'object: {"verdict": "approve" or "reject", "issues": ["..."]} and nothing else.'
)
RECORDED = ("approve", "reject")


@dataclass(frozen=True)
class Subject:
    """Where reviewed code came from: ``kind`` llm | cache | learned | builtin."""

    kind: str
    name: str = ""
    version: int = 0
    author: str = ""  # the provider that wrote the code; "" for built-ins and imports


def verdict_key(task: str, code: str) -> str:
    return hashlib.sha256(json.dumps([task, code], ensure_ascii=False).encode("utf-8")).hexdigest()


def recorded_verdict(key: str, author: str) -> dict[str, Any] | None:
    """The latest recorded verdict on this task and code by a reviewer other than ``author``."""
    row = execute(
        "SELECT verdict, reviewer, model, issues, subject_kind, subject, subject_version, created FROM review_verdict "
        "WHERE key = ? AND reviewer <> ? ORDER BY id DESC LIMIT 1",
        (key, author),
    ).fetchone()
    if row is None:
        return None
    return {
        "verdict": row[0],
        "issues": json.loads(row[3] or "[]"),
        "reviewer": row[1],
        "model": row[2],
        "cost_usd": 0.0,
        "recorded": {"kind": row[4], "subject": row[5], "version": row[6], "at": row[7]},
    }


def record_verdict(key: str, subject: Subject, review: dict[str, Any], now: float, request_id: str) -> None:
    if review.get("verdict") not in RECORDED or not review.get("reviewer"):
        return
    execute(
        "INSERT INTO review_verdict (key, created, subject_kind, subject, subject_version, author, verdict, reviewer, "
        "model, issues, cost_micros, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            now,
            subject.kind,
            subject.name[:200],
            subject.version,
            subject.author,
            review["verdict"],
            review["reviewer"],
            review.get("model", ""),
            json.dumps(review.get("issues", [])[:20]),
            review_cost_micros(review),
            request_id,
        ),
    )


def learned_author(template_id: int) -> str:
    """The provider whose paid answer a learned template was made from ("" when unknown, e.g. imported)."""
    row = execute(
        "SELECT l.provider FROM suggestion s JOIN ledger_entry l ON l.request_id = s.request_id "
        "WHERE s.template_id = ? AND l.source IN ('llm', 'repair') AND l.outcome = 'ok' ORDER BY l.id DESC LIMIT 1",
        (template_id,),
    ).fetchone()
    return str(row[0]) if row else ""


def parse_review(text: str) -> tuple[str, list[str]]:
    data = _json_object(text)
    verdict = str(data.get("verdict", "")).lower() if data else ""
    issues = (
        [str(i)[:300] for i in data.get("issues", [])][:20] if data and isinstance(data.get("issues"), list) else []
    )
    if verdict not in RECORDED:
        return "unclear", issues or ["the reviewer's answer was not a verdict"]
    return verdict, issues


async def review_code(engine: Engine, ctx: RequestContext, code: str, author: str) -> dict[str, Any]:
    """Ask a provider other than ``author`` for a verdict (a budgeted ``review`` call for ``ctx``)."""
    others = [n for n in ctx.settings.chain.order if n != author]
    if not others:
        return {
            "verdict": "unavailable",
            "issues": ["no second provider configured"],
            "reviewer": None,
            "cost_usd": 0.0,
        }
    messages = [
        {"role": "system", "content": REVIEW_SYSTEM},
        {"role": "user", "content": f"<task>\n{ctx.task}\n</task>\n\n<code>\n{code}\n</code>"},
    ]
    exclude = (author,) if author else ()
    request = ctx.chain_request(
        messages, max_tokens=512, temperature=0.0, source="review", exclude=exclude, order=tuple(others)
    )
    try:
        answer = await engine.chain.complete(ctx.settings, request, ctx.emit)
    except TemplarError as exc:
        return {"verdict": "unavailable", "issues": [str(exc)[:300]], "reviewer": None, "cost_usd": 0.0}
    verdict, issues = parse_review(answer.text)
    return {
        "verdict": verdict,
        "issues": issues,
        "reviewer": answer.provider,
        "model": answer.model,
        "cost_usd": micros_to_usd(answer.cost_micros),
    }


async def approval(engine: Engine, ctx: RequestContext, code: str, subject: Subject) -> dict[str, Any]:
    """The review of ``code`` for critical request ``ctx``: the one on record, else a fresh (recorded) one."""
    key = verdict_key(ctx.task, code)
    review = await engine.store.run(recorded_verdict, key, subject.author)
    if review is not None:
        ctx.emit(LookupResult("review", True, f"verdict on record: {review['verdict']} by {review['reviewer']}"))
        return review
    review = await review_code(engine, ctx, code, subject.author)
    await engine.store.run(record_verdict, key, subject, review, engine.clock(), ctx.request_id)
    return review


def review_cost_micros(review: dict[str, Any]) -> int:
    """What a review (as recorded in its dict) cost, in micro-dollars."""
    return usd_to_micros(float(review.get("cost_usd") or 0.0)) or 0


def _json_object(text: str) -> dict[str, Any] | None:
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


__all__ = [
    "Subject",
    "approval",
    "learned_author",
    "record_verdict",
    "recorded_verdict",
    "review_code",
    "review_cost_micros",
    "verdict_key",
]
