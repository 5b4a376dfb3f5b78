"""Wrong-answer feedback: a $0 answer a user reports as wrong is reversed and never served again.

Invariants:
- Every template answer has a ``TemplateAnswer`` row (request id -> template, version,
  bindings), written in the same transaction as its ledger row; a failed $0 attempt (render or
  validation failed) has a ledger row with outcome ``error`` and no cost, apart from paid calls.
- A request is reported at most once (a unique index). A report writes a ``WrongReport`` row (the
  negative example: template, version, bindings) and a ledger row with source ``reversal`` whose
  ``saved_micros`` is minus what the answer was credited. It never touches spend, reservations or
  budget counters.
- A learned template's quality drops by ``WRONG_PENALTY`` per report (a version-history row says
  why); at ``retire_after`` reports the template is retired. A built-in template is disabled at
  the same count (``WrongReport.retires``).
- ``Negatives`` is loaded with the learned index, whose stamp includes the newest report, so the
  reported bindings never match that template version again, in any process sharing the store.

Functions here are synchronous and run on the database thread.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from peewee import IntegrityError

from engine.errors import BadInput, NotFound
from engine.logs import get_logger
from engine.money import micros_to_usd
from engine.store.db import write_transaction
from engine.store.models import Template, TemplateAnswer, TemplateVersion, WrongReport, database_proxy
from engine.store.sql import execute, insert_free_answer

WRONG_PENALTY = 20  # quality points a learned template loses per wrong-answer report
MAX_REASON = 500
_log = get_logger("learning")
LEARNED_PREFIX = "learned-"
_SOURCE_WORDS = {"llm": "a paid provider call", "cache": "the response cache", "repair": "a paid provider call"}


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def canonical_bindings(bindings: dict[str, Any]) -> str:
    """One JSON text per set of bindings (sorted keys, tuples as lists): equal bindings, equal text."""
    return json.dumps(_plain(bindings), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def bindings_key(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def learned_id(template: str) -> int | None:
    """The learned template id behind a spec name (``learned-7`` -> 7), None for a built-in."""
    rest = template.removeprefix(LEARNED_PREFIX)
    return int(rest) if rest != template and rest.isdigit() else None


# -- the answer path ----------------------------------------------------------------------------


def record_template_answer(
    now: float,
    source: str,
    request_id: str,
    project: str,
    agent: str,
    template: str,
    version: int,
    bindings: str,
    saved_micros: int,
    owner: str,
) -> None:
    """The ledger row of a template answer, what it answered with, and (learned) the template's use."""
    with database_proxy.atomic():
        insert_free_answer(now, source, request_id, project, agent, "", template, saved_micros, 0, owner)
        execute(
            "INSERT INTO template_answer (request_id, ts, source, template, version, bindings) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (request_id, now, source, template, version, bindings),
        )
        template_id = learned_id(template)
        if source == "learned" and template_id is not None:
            execute(
                "UPDATE template SET uses = uses + 1, saved_micros = saved_micros + ? WHERE id = ?",
                (saved_micros, template_id),
            )


def record_free_failure(
    now: float,
    source: str,
    request_id: str,
    project: str,
    agent: str,
    template: str,
    error_class: str,
    owner: str,
) -> None:
    """A $0 attempt that failed (a template render or its validation): counted apart from paid calls."""
    execute(
        "INSERT INTO ledger_entry (ts, day, request_id, project, agent, source, provider, model, attempt, "
        "tokens_in, tokens_out, cost_micros, saved_micros, latency_ms, outcome, error_class, estimated, "
        "reservation_id, owner) VALUES (?, ?, ?, ?, ?, ?, '', ?, 0, 0, 0, 0, 0, 0, 'error', ?, ?, NULL, ?)",
        (
            now,
            time.strftime("%Y-%m-%d", time.gmtime(now)),
            request_id,
            project,
            agent,
            source,
            template[:128],
            error_class[:32],
            False,
            owner,
        ),
    )


# -- negative examples --------------------------------------------------------------------------


@dataclass(frozen=True)
class Negatives:
    """Reported bindings per template version, and built-in templates retired by reports."""

    keys: frozenset[tuple[str, int, str]] = frozenset()
    versions: frozenset[tuple[str, int]] = frozenset()
    disabled: frozenset[str] = frozenset()

    @classmethod
    def load(cls) -> Negatives:
        query: Any = WrongReport.select(
            WrongReport.template, WrongReport.version, WrongReport.bindings_key, WrongReport.retires
        )
        rows: list[tuple[Any, ...]] = list(query.tuples())
        return cls(
            frozenset((t, int(v), k) for t, v, k, _ in rows),
            frozenset((t, int(v)) for t, v, _, _ in rows),
            frozenset(t for t, _, _, retires in rows if retires and learned_id(t) is None),
        )

    def refusal(self, template: str, version: int, bindings: dict[str, Any]) -> str | None:
        """Why this match must not be served (None: serve it). No work when nothing was reported."""
        if template in self.disabled:
            return f"{template} was retired after wrong-answer reports"
        if (template, version) not in self.versions:
            return None
        if (template, version, bindings_key(canonical_bindings(bindings))) in self.keys:
            return f"{template} v{version} was reported wrong for these bindings"
        return None


# -- reporting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrongAnswer:
    """What a wrong-answer report did."""

    request_id: str
    source: str
    template: str
    template_id: int | None
    version: int
    bindings: dict[str, Any]
    reason: str
    reversed_micros: int
    wrong_reports: int
    retire_after: int
    retired: bool
    quality: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "source": self.source,
            "template": self.template,
            "template_id": self.template_id,
            "version": self.version,
            "bindings": self.bindings,
            "reason": self.reason,
            "reversed_usd": micros_to_usd(self.reversed_micros),
            "wrong_reports": self.wrong_reports,
            "retire_after": self.retire_after,
            "retired": self.retired,
            "quality": self.quality,
        }


def clean_reason(reason: str) -> str:
    """One line of printable text (no terminal escapes), at most ``MAX_REASON`` characters."""
    text = " ".join("".join(c if c.isprintable() else " " for c in (reason or "")).split())
    if not text:
        raise BadInput('say why the answer is wrong: --wrong "what is wrong"')
    return text[:MAX_REASON]


def report_wrong(
    request_id: str, reason: str, *, retire_after: int, library: Any, now: float | None = None, owner: str = ""
) -> WrongAnswer:
    """Record that the template answer of ``request_id`` was wrong (see the module invariants).

    Raises NotFound for an unknown request id, BadInput for a request that was not a template
    answer or that was already reported. Nothing is written unless every step succeeds.
    """
    reason = clean_reason(reason)
    request_id = request_id.strip()
    now = time.time() if now is None else now
    try:
        with write_transaction(database_proxy):
            wrong = _report(request_id, reason, retire_after, library, now, owner)
    except IntegrityError:  # another process reported the same request a moment ago
        raise BadInput(f"request {request_id} was already reported wrong") from None
    # after the commit: a rolled-back report is never logged as made
    _log.warning(
        "wrong answer reported for request %s (template %s, report %d of %d)%s",
        request_id,
        wrong.template,
        wrong.wrong_reports,
        wrong.retire_after,
        ": template retired" if wrong.retired else "",
    )
    return wrong


def answer_scope(request_id: str) -> tuple[str, str] | None:
    """(project, agent) of a request's answer, or None when the ledger does not know it."""
    row = execute(
        "SELECT project, agent FROM ledger_entry WHERE request_id = ? ORDER BY id LIMIT 1", (request_id.strip()[:36],)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def _ledger_rows(request_id: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = execute(
        "SELECT source, outcome, saved_micros, project, agent FROM ledger_entry WHERE request_id = ?", (request_id,)
    ).fetchall()
    return rows


def _report(request_id: str, reason: str, retire_after: int, library: Any, now: float, owner: str) -> WrongAnswer:
    rows = _ledger_rows(request_id) if len(request_id) <= 36 else []
    if not rows:
        raise NotFound(f"no request {request_id!r} in the ledger (request ids come from `templar generate --json`)")
    answer = TemplateAnswer.get_or_none(TemplateAnswer.request_id == request_id)
    if answer is None:
        answered = [r for r in rows if r[0] not in ("review", "suggest", "route", "reversal")]
        sources = sorted({str(r[0]) for r in answered if r[1] == "ok"} or {str(r[0]) for r in answered})
        by = ", ".join(_SOURCE_WORDS.get(s, s) for s in sources) or "no template"
        raise BadInput(
            f"request {request_id} was answered by {by}, not a template: only template answers "
            "take wrong-answer feedback"
        )
    earlier = WrongReport.get_or_none(WrongReport.request_id == request_id)
    if earlier is not None:
        raise BadInput(f"request {request_id} was already reported wrong ({earlier.reason})")
    credited = [r for r in rows if r[0] == answer.source and r[1] == "ok"]
    saved = sum(int(r[2]) for r in credited)
    project, agent = (str(credited[0][3]), str(credited[0][4])) if credited else ("", "")
    count = WrongReport.select().where(WrongReport.template == answer.template).count() + 1
    retires = count >= retire_after
    WrongReport.create(
        ts=now,
        request_id=request_id,
        answered=answer.ts,
        source=answer.source,
        template=answer.template,
        version=answer.version,
        bindings_key=bindings_key(answer.bindings),
        bindings=answer.bindings,
        reason=reason,
        project=project,
        agent=agent,
        reversed_micros=saved,
        retires=retires,
    )
    insert_free_answer(now, "reversal", request_id, project, agent, "", answer.template, -saved, 0, owner)
    template_id = learned_id(answer.template) if answer.source == "learned" else None
    quality, retired = None, retires and template_id is None
    row = Template.get_or_none(Template.id == template_id) if template_id is not None else None
    if row is not None:
        quality = max(0, int(row.quality) - WRONG_PENALTY)
        Template.update(quality=quality, saved_micros=Template.saved_micros - saved, updated=now).where(
            Template.id == row.id
        ).execute()
        TemplateVersion.create(
            template=row.id,
            version=row.version,
            pattern=row.pattern,
            body=row.body,
            params=row.params,
            quality=quality,
            created=now,
            reason=f"wrong answer reported for request {request_id}: {reason}",
        )
        if retires and row.status == "active":
            library.retire(row.id, f"retired after {count} wrong-answer reports (last: {reason})")
            retired = True
    return WrongAnswer(
        request_id,
        answer.source,
        answer.template,
        template_id,
        answer.version,
        json.loads(answer.bindings),
        reason,
        saved,
        count,
        retire_after,
        retired,
        quality,
    )


def wrong_reports(since: float | None = None) -> dict[str, int]:
    """Wrong reports per template, for answers served at or after ``since``."""
    query: Any = WrongReport.select(WrongReport.template)
    if since is not None:
        query = query.where(WrongReport.answered >= since)
    counts: dict[str, int] = {}
    for (template,) in query.tuples():
        counts[template] = counts.get(template, 0) + 1
    return counts


__all__ = [
    "Negatives",
    "WrongAnswer",
    "answer_scope",
    "bindings_key",
    "canonical_bindings",
    "record_free_failure",
    "record_template_answer",
    "report_wrong",
    "wrong_reports",
]
