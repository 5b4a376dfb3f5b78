"""The results log of ``templar batch``: what lets a rerun resume.

Every finished task appends one JSON line to a results log,
``<data dir>/batches/<file stem>-<sha256(absolute path)[:16]>.jsonl``, with ``fsync`` *before*
the task counts as done. A rerun skips every task whose id has an ``ok`` record with the same
fingerprint (task text, effective project and agent, critical flag); failed, refused, cancelled
and changed tasks run again. ``kill -9`` at any instant leaves at worst a torn last line, which
is ignored; a task paid for but not yet recorded runs again (usually a $0 cache hit). The log
is ``flock``ed during a run, and its errors are scrubbed of secrets before they are written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import BadInput
from engine.money import micros_to_usd
from engine.scrub import scrub

if TYPE_CHECKING:
    from engine.batch_tasks import BatchTask

LOG_FORMAT = "templar-batch-results"
LOG_VERSION = 1


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
