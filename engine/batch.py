"""Batch runs: a JSONL file of tasks through ``Engine.generate`` with bounded concurrency.

A task file has one JSON object per line::

    {"id": "parse-dates", "task": "function that parses ISO dates", "project": "acme",
     "agent": "coder", "critical": false}

Only ``task`` is required. ``id`` (a string or an integer) names the task for resuming; when
absent it is derived from the task text, project and agent. Blank lines are ignored; any other
line that is not such an object (bad JSON, not UTF-8, wrong types, unknown keys, an empty or
oversized task, a duplicate id) is reported with its line number and the other lines still run.

Resuming: every finished task appends one JSON line to a results log,
``<data dir>/batches/<file stem>-<sha256(absolute path)[:16]>.jsonl``, with ``fsync`` *before*
the task counts as done. A rerun skips every task whose id has an ``ok`` record with the same
fingerprint (task text, effective project and agent, critical flag); failed, refused, cancelled
and changed tasks run again. ``kill -9`` at any instant leaves at worst a torn last line, which
is ignored; a task paid for but not yet recorded runs again (usually a $0 cache hit). The log
is ``flock``ed during a run. Budgets need nothing from here: ``Engine.from_settings``
reconciles a killed process's reservations.

Cancellation: when ``run_batch``'s ``stop`` event is set, no new task starts, in-flight
``generate`` calls are cancelled (the chain releases their reservations), and once all have
unwound, any reservation this process still holds (a cancel that landed while it was being
written) is released too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.batch_exit import EXIT_RULE
from engine.errors import BadInput, BudgetRefused, ExitCode, TemplarError
from engine.money import micros_to_usd
from engine.scrub import scrub
from engine.text import clean_task

if TYPE_CHECKING:
    from engine.service import Engine

TASK_KEYS = ("id", "task", "project", "agent", "critical")
MAX_FILE_BYTES = 64_000_000
MAX_ID_CHARS = 200
LOG_FORMAT = "templar-batch-results"
LOG_VERSION = 1
SOURCES = ("learned", "builtin", "cache", "llm")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SEVERITY = (1, 4, 3, 5, 2)  # most severe first (ExitCode values); 130 (interrupted) outranks them all


@dataclass(frozen=True)
class BatchTask:
    """One valid line of a task file, with the effective project and agent."""

    id: str
    line: int
    task: str
    project: str
    agent: str
    critical: bool | None = None

    @property
    def fingerprint(self) -> str:
        payload = json.dumps([self.task, self.project, self.agent, self.critical], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class LineError:
    """A malformed line of a task file."""

    line: int
    message: str

    to_dict = asdict


def _name(value: Any, what: str) -> str:
    from engine.config.cascade import validate_project_name

    if not isinstance(value, str):
        raise BadInput(f"{what} must be a string")
    return validate_project_name(value, what)


def _parse_line(raw: bytes, number: int, default_project: str, default_agent: str) -> BatchTask:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"not valid UTF-8 (byte {exc.start + 1})") from None
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise BadInput("not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits: this line fails, not the batch
        raise BadInput(f"not usable JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(item, dict):
        raise BadInput(f'expected a JSON object like {{"id": "a", "task": "..."}}, got {type(item).__name__}')
    unknown = sorted(k for k in item if k not in TASK_KEYS)
    if unknown:
        raise BadInput(f"unknown key {unknown[0]!r} (keys: {', '.join(TASK_KEYS)})")
    if "task" not in item:
        raise BadInput('missing "task"')
    if not isinstance(item["task"], str):
        raise BadInput('"task" must be a string')
    task = clean_task(item["task"])
    project = default_project if item.get("project") is None else _name(item["project"], "project")
    agent = default_agent if item.get("agent") is None else _name(item["agent"], "agent")
    critical = item.get("critical")
    if critical is not None and not isinstance(critical, bool):
        raise BadInput('"critical" must be true or false')
    raw_id = item.get("id")
    if raw_id is None:
        digest = hashlib.sha256(json.dumps([task, project, agent], ensure_ascii=False).encode("utf-8")).hexdigest()
        task_id = "sha-" + digest[:16]
    elif isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise BadInput('"id" must be a string or an integer')
    else:
        task_id = str(raw_id)
        if not task_id.strip() or len(task_id) > MAX_ID_CHARS or _CONTROL.search(task_id):
            raise BadInput(f'"id" must be 1 to {MAX_ID_CHARS} characters without control characters')
    return BatchTask(task_id, number, task, project, agent, critical)


def read_tasks(
    path: Path, *, project: str | None = None, agent: str | None = None
) -> tuple[list[BatchTask], list[LineError]]:
    """Every valid task of a JSONL file, and every malformed line with its number.

    Problems with the file itself (missing, unreadable, too large, a directory) raise BadInput."""
    from engine.safe_files import read_regular
    from engine.service import DEFAULT_AGENT, DEFAULT_PROJECT

    raw = read_regular(path, MAX_FILE_BYTES, what="task file")  # a FIFO or device is refused, never waited on
    tasks: list[BatchTask] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            task = _parse_line(line.rstrip(b"\r"), number, project or DEFAULT_PROJECT, agent or DEFAULT_AGENT)
        except BadInput as exc:
            errors.append(LineError(number, str(exc)))
            continue
        if task.id in seen:
            errors.append(LineError(number, f"duplicate id {task.id!r} (first on line {seen[task.id]})"))
            continue
        seen[task.id] = number
        tasks.append(task)
    return tasks, errors


@dataclass
class TaskOutcome:
    """What became of one task. ``status``: ok | refused | failed | skipped | cancelled."""

    id: str
    line: int
    status: str
    project: str
    agent: str
    source: str = ""
    request_id: str = ""
    provider: str = ""
    cost_micros: int = 0
    saved_micros: int = 0
    latency_ms: int = 0
    exit_code: int = 0
    error: str = ""
    error_kind: str = ""
    code: str = ""
    fingerprint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "line": self.line,
            "status": self.status,
            "source": self.source or None,
            "project": self.project,
            "agent": self.agent,
            "request_id": self.request_id or None,
            "provider": self.provider or None,
            "cost_usd": micros_to_usd(self.cost_micros),
            "saved_usd": micros_to_usd(self.saved_micros),
            "latency_ms": self.latency_ms,
            "exit_code": self.exit_code,
            "error": self.error or None,
            "error_kind": self.error_kind or None,
            "code": self.code,
        }

    def to_record(self) -> dict[str, Any]:
        return {**asdict(self), "ts": round(time.time(), 3)}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> TaskOutcome:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


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


# -- the results log --------------------------------------------------------------------------


def log_path(data_dir: Path, source: Path) -> Path:
    resolved = str(source.expanduser().resolve())
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", source.stem)[:40] or "tasks"
    return data_dir / "batches" / f"{stem}-{hashlib.sha256(resolved.encode('utf-8')).hexdigest()[:16]}.jsonl"


class ResultLog:
    """The append-only, fsynced results log of one task file (see the module docstring)."""

    def __init__(self, path: Path, source: Path, handle: Any, done: dict[str, dict[str, TaskOutcome]]) -> None:
        self.path = path
        self.source = source
        self._handle = handle
        self._done = done
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="templar-batch-log")

    @classmethod
    def open(cls, data_dir: Path, source: Path) -> ResultLog:
        import fcntl

        path = log_path(data_dir, source)
        created = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - kept open (and locked) for the whole run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise BadInput(
                f"{source}: another `templar batch` run is using this file (its results log "
                f"{path} is locked); wait for it to finish"
            ) from None
        handle.seek(0)
        raw = handle.read()
        done: dict[str, dict[str, TaskOutcome]] = {}
        for line in raw.split(b"\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or record.get("format") == LOG_FORMAT:
                    continue
                outcome = TaskOutcome.from_record(record)
            except (ValueError, TypeError):
                continue  # a line cut short by a crash: that task was never counted as done
            if outcome.status == "ok":
                done.setdefault(outcome.id, {})[outcome.fingerprint] = outcome
        log = cls(path, source, handle, done)
        if raw and not raw.endswith(b"\n"):
            log._append(b"\n")
        if created or not raw:
            header = {"format": LOG_FORMAT, "version": LOG_VERSION, "file": str(source.expanduser().resolve())}
            log._append(json.dumps(header).encode("utf-8") + b"\n")
            with contextlib.suppress(OSError):  # make the new directory entry durable too
                dir_fd = os.open(path.parent, os.O_RDONLY)
                os.fsync(dir_fd)
                os.close(dir_fd)
        return log

    def done(self, task: BatchTask) -> TaskOutcome | None:
        """The earlier ok outcome of this exact task, if any."""
        return self._done.get(task.id, {}).get(task.fingerprint)

    def changed(self, task: BatchTask) -> bool:
        """True when the id was done before with a different task text, project or agent."""
        return task.id in self._done and task.fingerprint not in self._done[task.id]

    def _append(self, data: bytes) -> None:
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())

    async def record(self, outcome: TaskOutcome) -> None:
        """Append ``outcome`` durably; returns once it is on disk."""
        record = outcome.to_record()
        record["error"] = scrub(record["error"])  # the log is a file: never a key piece in it
        line = json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
        await asyncio.get_running_loop().run_in_executor(self._executor, self._append, line)
        if outcome.status == "ok":
            self._done.setdefault(outcome.id, {})[outcome.fingerprint] = outcome

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with contextlib.suppress(OSError):
            self._handle.close()  # closing the descriptor releases the flock


# -- running ----------------------------------------------------------------------------------


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


__all__ = ["EXIT_RULE", "BatchRun", "BatchTask", "LineError", "ResultLog", "TaskOutcome", "read_tasks", "run_batch"]
