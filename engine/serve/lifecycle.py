"""The server's one ``Engine`` and what it owns: warm-up, fair admission, a clean exit.

- **Warm.** litellm loads once, at start, on a worker thread (seconds of CPU, never on the event
  loop); ``/readyz`` answers 503 until it has, ``/healthz`` reports its state. Template and cache
  answers are served meanwhile: they never need it.
- **Fair.** Each project has its own limit of requests in progress (``--per-project``); a request
  over it waits its turn, up to ``--queue-timeout`` seconds, then gets 429.
- **Clean exit.** Every generation runs as a task the server tracks. On shutdown (SIGTERM or
  SIGINT) uvicorn stops accepting, lets requests in progress finish for ``--grace`` seconds,
  then the lifespan's ``close`` cancels what is left and waits for each task to unwind: the
  provider chain gives back every budget reservation it holds when cancelled. Learning that runs
  after the answers (``engine.learner``) gets the same grace, then is cancelled and awaited. Only
  then is the store closed, so 0 reservations stay held and no task touches a closed store.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from engine.service import Engine

log = get_logger("serve")

__all__ = ["Busy", "Limits", "ServerState"]


class Busy(Exception):
    """A project's limit of requests in progress stayed full for the whole queue timeout."""

    kind = "busy"

    def __init__(self, project: str, limit: int) -> None:
        super().__init__(f"project {project!r} already has {limit} requests in progress (--per-project); retry later")
        self.project = project


@dataclass(frozen=True)
class Limits:
    per_project: int = 16  # requests in progress per project
    queue_timeout_s: float = 30.0  # how long a request over the limit waits before 429
    grace_s: float = 10.0  # how long shutdown lets requests in progress finish


@dataclass
class ServerState:
    engine: Engine
    limits: Limits = field(default_factory=Limits)
    warm: bool = True  # load litellm at start (off for a template-only server or in tests of the $0 path)
    llm_state: str = "not loaded"  # not loaded | loading | ready | failed: ...
    started: float = field(default_factory=time.time)
    _gates: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _busy: dict[str, int] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _warmup: asyncio.Task[None] | None = None
    closing: bool = False

    # -- warm-up ------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin loading litellm in the background (called from the lifespan's startup)."""
        if self.warm and self._warmup is None:
            self.llm_state = "loading"
            self._warmup = asyncio.create_task(self._load_llm())

    async def _load_llm(self) -> None:
        from engine.llm import adapter

        try:
            await asyncio.to_thread(adapter.litellm)
        except Exception as exc:  # noqa: BLE001 - reported by /healthz; paid calls then fail clearly
            self.llm_state = f"failed: {type(exc).__name__}"
            log.error("loading the LLM client failed: %s", exc)
            return
        self.llm_state = "ready"

    async def wait_ready(self, timeout: float) -> bool:
        """Ready now, or once the warm-up ends within ``timeout`` seconds (``/readyz?wait=S``)."""
        if self._warmup is not None and not self._warmup.done() and timeout > 0:
            try:
                await asyncio.wait_for(asyncio.shield(self._warmup), timeout)
            except TimeoutError:
                pass
        return self.ready

    @property
    def ready(self) -> bool:
        return not self.closing and (self.llm_state == "ready" or not self.warm)

    # -- admission and tracking -----------------------------------------------------------------

    @asynccontextmanager
    async def admitted(self, project: str) -> AsyncIterator[None]:
        """Hold one of ``project``'s slots; ``Busy`` after the queue timeout."""
        gate = self._gates.get(project)
        if gate is None:
            gate = self._gates[project] = asyncio.Semaphore(self.limits.per_project)
        if gate.locked():  # over the limit: wait in line, but not forever
            try:
                await asyncio.wait_for(gate.acquire(), self.limits.queue_timeout_s)
            except TimeoutError:
                raise Busy(project, self.limits.per_project) from None
        else:
            await gate.acquire()  # returns at once (wait_for would cost a task per request)
        self._busy[project] = self._busy.get(project, 0) + 1
        try:
            yield
        finally:
            self._busy[project] -= 1
            gate.release()

    def in_progress(self) -> dict[str, int]:
        """Requests in progress per project (for /healthz)."""
        return {p: n for p, n in self._busy.items() if n}

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Mark the current task as a generation the shutdown must cancel and wait for. (The
        request's own task: no extra task per request on the hot path.)"""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    def track(self, task: asyncio.Task[Any]) -> None:
        """Track a task started elsewhere (an event stream's generation)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_learning(self) -> None:
        """Let learning that runs after answers finish, for up to ``grace_s``; then cancel it (a
        suggestion call gives back its reservation when cancelled, and its row stays ``queued``
        for ``templar templates suggest``). Either way no learning task outlives the store."""
        busy = self.engine.learner.busy
        if not busy:
            return
        log.info("shutdown: waiting up to %.1f s for %d learning job(s)", self.limits.grace_s, busy)
        try:
            # cancelling the wait cancels the jobs (gather's children) and waits for them to unwind
            await asyncio.wait_for(self.engine.settle_learning(), self.limits.grace_s)
        except TimeoutError:
            log.warning(
                "shutdown: learning cancelled after %.1f s; its suggestions stay queued "
                "(`templar templates suggest` finishes them)",
                self.limits.grace_s,
            )

    async def close(self) -> None:
        """Cancel what is still running, wait until each has unwound (reservations released),
        then close the store."""
        self.closing = True
        if self._warmup is not None and not self._warmup.done():
            self._warmup.cancel()  # the thread finishes on its own; nothing waits for it
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            log.warning("shutdown: cancelling %d generation(s) in progress", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)  # each unwinds: the chain gives back what it reserved
        await self._settle_learning()
        held = await self.engine.store.run(self.engine.book.held_count)
        if held:
            log.warning("shutdown: %d budget reservation(s) held in the store (other processes' included)", held)
        self.engine.close()
