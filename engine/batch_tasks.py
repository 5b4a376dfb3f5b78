"""Task files for ``templar batch``: reading and checking a JSONL file of tasks.

A task file has one JSON object per line::

    {"id": "parse-dates", "task": "function that parses ISO dates", "project": "acme",
     "agent": "coder", "critical": false}

Only ``task`` is required. ``id`` (a string or an integer) names the task for resuming; when
absent it is derived from the task text, project and agent. Blank lines are ignored; any other
line that is not such an object (bad JSON, not UTF-8, wrong types, unknown keys, an empty or
oversized task, a duplicate id) is reported with its line number and the other lines still run.

Invariant: a bad line never raises (it becomes a :class:`LineError`); only a problem with the
file itself (missing, unreadable, too large, not a regular file) raises ``BadInput``. Nothing
here runs a task or writes anything (the runner is :mod:`engine.batch`, the results log
:mod:`engine.batch_log`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.errors import BadInput
from engine.text import clean_task

TASK_KEYS = ("id", "task", "project", "agent", "critical")
MAX_FILE_BYTES = 64_000_000
MAX_ID_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
