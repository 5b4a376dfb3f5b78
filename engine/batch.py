"""Batch runs: the tasks of a JSONL file through ``Engine.generate`` with bounded concurrency.

This module is the runner and the run's outcome (:class:`BatchRun`); the task file's format and
checks live in :mod:`engine.batch_tasks`, the fsynced results log that makes a rerun resume in
:mod:`engine.batch_log`. Their public names are importable from here too. Budgets need nothing
from here: ``Engine.from_settings`` reconciles a killed process's reservations.

Cancellation: when ``run_batch``'s ``stop`` event is set, no new task starts, in-flight
``generate`` calls are cancelled (the chain releases their reservations), and once all have
unwound, any reservation this process still holds (a cancel that landed while it was being
written) is released too. Invariants: one task's failure never stops the batch; an outcome is
durable in the log before it counts as done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine.batch_exit import EXIT_RULE
from engine.batch_log import LOG_FORMAT, LOG_VERSION, ResultLog, TaskOutcome, log_path
from engine.batch_tasks import MAX_FILE_BYTES, MAX_ID_CHARS, TASK_KEYS, BatchTask, LineError, read_tasks
from engine.errors import BadInput, BudgetRefused, ExitCode, TemplarError
from engine.money import micros_to_usd
from engine.scrub import scrub

if TYPE_CHECKING:
    from engine.service import Engine

SOURCES = ("learned", "builtin", "cache", "llm")
SEVERITY = (1, 4, 3, 5, 2)  # most severe first (ExitCode values); 130 (interrupted) outranks them all


def outcome_of_result(task: BatchTask, result: Any) -> TaskOutcome:
    out = TaskOutcome(
        task.id,
        task.line,
        "ok",
        task.project,
        task.agent,
        source=result.source,
        request_id=result.request_id,
        provider=result.provider,
        cost_micros=result.cost_micros,
        saved_micros=result.saved_micros,
        latency_ms=result.latency_ms,
        code=result.code,
        fingerprint=task.fingerprint,
    )
    delivery = result.delivery  # the one rule every surface applies (engine.delivery)
    if not delivery.ok:
        out.status, out.exit_code, out.error_kind = "failed", int(ExitCode.VALIDATION_FAILED), "validation_failed"
        out.error = "; ".join([delivery.reason, *delivery.finding_lines(3)])
    return out


def _cancelled(task: BatchTask, why: str) -> TaskOutcome:
    return TaskOutcome(
        task.id,
        task.line,
        "cancelled",
        task.project,
        task.agent,
        exit_code=int(ExitCode.INTERRUPTED),
        error=why,
        fingerprint=task.fingerprint,
    )


def outcome_of_error(task: BatchTask, exc: BaseException, scrub: Callable[[str], str]) -> TaskOutcome:
    if isinstance(exc, TemplarError):
        status = "refused" if isinstance(exc, BudgetRefused) else "failed"
        return TaskOutcome(
            task.id,
            task.line,
            status,
            task.project,
            task.agent,
            exit_code=int(exc.exit_code),
            error=scrub(str(exc)),
            error_kind=exc.kind,
            fingerprint=task.fingerprint,
        )
    return TaskOutcome(
        task.id,
        task.line,
        "failed",
        task.project,
        task.agent,
        exit_code=int(ExitCode.INTERNAL),
        error=scrub(f"internal error: {type(exc).__name__}: {exc}"),
        error_kind="internal",
        fingerprint=task.fingerprint,
    )


@dataclass
class BatchRun:
    """The outcome of a run: every task's outcome, in file order, and what happened overall."""

    outcomes: list[TaskOutcome]
    errors: list[LineError]
    interrupted: bool = False
    released: int = 0  # reservations released after cancelled calls
    held_after: int = 0  # reservations this process still holds at the end (always 0)
    elapsed_s: float = 0.0
    changed: list[str] = field(default_factory=list)

    def count(self, status: str, source: str | None = None) -> int:
        return sum(1 for o in self.outcomes if o.status == status and (source is None or o.source == source))

    @property
    def left(self) -> int:
        return self.count("cancelled")

    spend_micros = property(lambda self: sum(o.cost_micros for o in self.outcomes if o.status != "skipped"))
    saved_micros = property(lambda self: sum(o.saved_micros for o in self.outcomes if o.status != "skipped"))

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return int(ExitCode.INTERRUPTED)
        codes = {o.exit_code for o in self.outcomes if o.status in ("failed", "refused")}
        if self.errors:
            codes.add(int(ExitCode.BAD_INPUT))
        for code in SEVERITY:
            if int(code) in codes:
                return int(code)
        return int(ExitCode.OK) if not codes else int(ExitCode.INTERNAL)

    def counts(self) -> dict[str, int]:
        data = {source: self.count("ok", source) for source in SOURCES}
        data.update(
            refused=self.count("refused"),
            failed=self.count("failed"),
            skipped=self.count("skipped"),
            left=self.left,
            malformed=len(self.errors),
        )
        return data

    def summary(self) -> dict[str, Any]:
        return {
            "tasks": len(self.outcomes),
            "counts": self.counts(),
            "spend_usd": micros_to_usd(self.spend_micros),
            "saved_usd": micros_to_usd(self.saved_micros),
            "interrupted": self.interrupted,
            "left": self.left,
            "reservations_released": self.released,
            "reservations_held": self.held_after,
            "changed_since_done": self.changed,
            "elapsed_s": round(self.elapsed_s, 3),
            "exit_code": self.exit_code,
        }


def secret_scrubber(engine: Engine, projects: set[str]) -> Callable[[str], str]:
    """The one scrubber (``engine.scrub``); loading each project's config registers its key variables."""
    for project in projects | {None}:
        with contextlib.suppress(TemplarError):
            engine.config(project)
    environ = engine.environ if engine.environ is not None else os.environ
    return lambda text: scrub(text, environ)


def _release_own_held(engine: Engine, release: bool) -> tuple[int, int]:
    """(released, still held): with ``release``, give back every reservation this process holds
    (only when none of its calls is running). Ledger rows say ``error`` / ``cancelled``."""
    from engine.budget.book import Held
    from engine.store.models import Reservation

    book = engine.book
    mine = (Reservation.state == "held") & (Reservation.owner == book.owner)
    rows = list(Reservation.select().where(mine)) if release else []
    for row in rows:
        counter_ids = tuple(int(x) for x in row.counter_ids.split(",") if x)
        book.release(
            Held(row.id, row.ledger_id or 0, row.amount_micros, counter_ids), outcome="error", error_class="cancelled"
        )
    return len(rows), Reservation.select().where(mine).count()


async def run_batch(
    engine: Engine,
    tasks: list[BatchTask],
    log: ResultLog | None,
    *,
    errors: list[LineError] | None = None,
    concurrency: int = 4,
    confirmed: bool = False,
    stop: asyncio.Event | None = None,
    on_outcome: Callable[[TaskOutcome], None] | None = None,
) -> BatchRun:
    """Run ``tasks`` (skipping those ``log`` has as done) at most ``concurrency`` at a time.

    The engine must not serve other callers meanwhile: after an interrupt, every reservation it
    still holds is released (see the module docstring)."""
    if concurrency < 1:
        raise BadInput("concurrency must be at least 1")
    started = time.perf_counter()
    stop = stop or asyncio.Event()
    scrub = secret_scrubber(engine, {t.project for t in tasks})
    semaphore = asyncio.Semaphore(concurrency)
    inflight: set[asyncio.Future[Any]] = set()
    outcomes: dict[int, TaskOutcome] = {}
    changed: list[str] = []

    def finish(index: int, outcome: TaskOutcome) -> None:
        outcomes[index] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    async def worker(index: int, task: BatchTask) -> None:
        async with semaphore:
            if stop.is_set():
                return finish(index, _cancelled(task, "not started"))
            call = asyncio.ensure_future(
                engine.generate(
                    task.task,
                    project=task.project,
                    agent=task.agent,
                    confirmed=confirmed,
                    critical=task.critical,
                    raise_on_invalid=False,
                )
            )
            inflight.add(call)
            try:
                result = await call
            except asyncio.CancelledError:
                if not call.cancelled():
                    raise  # this worker itself is being cancelled: not ours to absorb
                return finish(index, _cancelled(task, "cancelled by interrupt"))
            except Exception as exc:  # noqa: BLE001 - one task's failure never stops the batch
                outcome = outcome_of_error(task, exc, scrub)
            else:
                outcome = outcome_of_result(task, result)
            finally:
                inflight.discard(call)
            if log is not None:
                await log.record(outcome)  # durable before it counts (and before the slot frees)
            finish(index, outcome)

    async def watch_stop() -> None:
        await stop.wait()
        for call in list(inflight):
            call.cancel()

    workers = []
    for index, task in enumerate(tasks):
        earlier = log.done(task) if log is not None else None
        if earlier is not None:
            skipped = TaskOutcome.from_record(asdict(earlier))
            skipped.status, skipped.line = "skipped", task.line
            finish(index, skipped)
            continue
        if log is not None and log.changed(task):
            changed.append(task.id)
        workers.append(asyncio.ensure_future(worker(index, task)))
    watcher = asyncio.ensure_future(watch_stop())
    try:
        if workers:
            await asyncio.gather(*workers)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        for w in workers:
            if not w.done():
                w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    if not stop.is_set():
        await engine.settle_learning()  # learning ran in the background meanwhile; let it finish
    # Only after an interrupt, and only because this engine runs nothing but this batch (the
    # CLI's case): a cancel that landed while a reservation was being written leaves it held.
    released, held_after = await engine.store.run(_release_own_held, engine, stop.is_set())
    ordered = [outcomes[i] for i in range(len(tasks)) if i in outcomes]
    return BatchRun(
        ordered,
        list(errors or []),
        interrupted=stop.is_set(),
        released=released,
        held_after=held_after,
        elapsed_s=time.perf_counter() - started,
        changed=changed,
    )


__all__ = [
    "EXIT_RULE",
    "LOG_FORMAT",
    "LOG_VERSION",
    "MAX_FILE_BYTES",
    "MAX_ID_CHARS",
    "SOURCES",
    "TASK_KEYS",
    "BatchRun",
    "BatchTask",
    "LineError",
    "ResultLog",
    "TaskOutcome",
    "log_path",
    "read_tasks",
    "run_batch",
]
