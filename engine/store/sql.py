"""Plain parameterised SQL for the hot paths, written once for SQLite and PostgreSQL.

Statements use ``?`` placeholders; ``execute`` turns them into ``%s`` for psycopg. Building
these few statements through the ORM cost more CPU than running them (see bench/README.md).
"""

from __future__ import annotations

import time
from typing import Any

from engine.store.models import current_database


def execute(sql: str, params: tuple[Any, ...] = (), db: Any = None) -> Any:
    """Run one statement on ``db`` (default: the database of the store whose DB thread is calling;
    StoreError on any other thread) and return the cursor."""
    db = current_database() if db is None else db
    if db.param != "?":
        sql = sql.replace("?", db.param)
    return db.execute_sql(sql, params)


def insert_free_answer(
    now: float,
    source: str,
    request_id: str,
    project: str,
    agent: str,
    provider: str,
    model: str,
    saved_micros: int,
    latency_ms: int,
    owner: str,
) -> None:
    """The ledger row of an answer that cost nothing (a template or cache hit) and what it saved."""
    execute(
        "INSERT INTO ledger_entry (ts, day, request_id, project, agent, source, provider, model, attempt, "
        "tokens_in, tokens_out, cost_micros, saved_micros, latency_ms, outcome, error_class, estimated, "
        "reservation_id, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, 'ok', NULL, ?, NULL, ?)",
        (
            now,
            time.strftime("%Y-%m-%d", time.gmtime(now)),
            request_id,
            project,
            agent,
            source,
            provider,
            model,
            saved_micros,
            latency_ms,
            False,
            owner,
        ),
    )
