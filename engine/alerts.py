"""Alert delivery: each budget level crossing and each usage anomaly reaches people.

The engine records crossings (``alert_event``) and anomalies (``usage_anomaly``) in the
store as it settles a call; this module delivers them, as JSON, to where people look:

- a webhook (``[alerts] webhook_url``, or ``webhook_url_env`` naming an environment variable
  for a URL that carries a token): ``POST`` with ``Content-Type: application/json``;
- a command (``[alerts] command``, an argv list or a string split like a shell would, never
  run through a shell) with the JSON on its stdin.

Invariants:

- Delivery never blocks a call. ``AlertDispatcher.observe`` only queues; one daemon thread
  per dispatcher delivers, retrying a failed webhook with exponential backoff
  (``delivery_retries`` attempts after the first, ``delivery_backoff_s`` doubling). A
  command is run once (it may not be idempotent) with ``delivery_timeout_s``.
- Failures are logged (``templar.alerts``), never raised into the caller; the URL is logged
  as scheme and host only (a webhook path is often a secret).
- ``drain`` waits, bounded, for what is queued: a one-shot CLI process calls it before it
  exits (``Engine.close``), so an alert crossed by its only call is still delivered.
- Where to deliver is system-level configuration only (``SYSTEM_ONLY_PREFIXES``): a project
  file checked into a repository must not make Templar run a command or post elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from engine.events import BudgetLevelCrossed, Emit, Event, UsageAnomaly
from engine.money import micros_to_usd

log = logging.getLogger("templar.alerts")

_STOP = object()


@dataclass(frozen=True)
class Target:
    """Where alerts go, resolved from ``[alerts]`` settings and the environment."""

    webhook_url: str = ""
    command: tuple[str, ...] = ()
    timeout_s: float = 5.0
    retries: int = 3
    backoff_s: float = 1.0

    @property
    def enabled(self) -> bool:
        """True when alerts have somewhere to go."""
        return bool(self.webhook_url or self.command)

    @classmethod
    def from_settings(cls, alerts: Any, environ: Mapping[str, str] | None = None) -> Target:
        """``alerts`` is the resolved ``AlertSettings``; ``environ`` resolves ``webhook_url_env``."""
        url = str(getattr(alerts, "webhook_url", "") or "")
        url_env = str(getattr(alerts, "webhook_url_env", "") or "")
        if not url and url_env:
            url = (os.environ.get(url_env) if environ is None else environ.get(url_env)) or ""
        command = getattr(alerts, "command", "") or ()
        argv = tuple(shlex.split(command)) if isinstance(command, str) else tuple(str(a) for a in command)
        return cls(
            webhook_url=url,
            command=argv,
            timeout_s=float(getattr(alerts, "delivery_timeout_s", 5.0)),
            retries=int(getattr(alerts, "delivery_retries", 3)),
            backoff_s=float(getattr(alerts, "delivery_backoff_s", 1.0)),
        )


def payload(
    event: Event, *, project: str | None = None, agent: str | None = None, now: float | None = None
) -> dict[str, Any] | None:
    """The JSON body for an alert event, or None when ``event`` is not an alert."""
    ts = time.time() if now is None else now
    if isinstance(event, BudgetLevelCrossed):
        return {
            "kind": "level",
            "ts": ts,
            "level": event.level,
            "level_name": event.level_name,
            "scope": event.scope,
            "key": event.key,
            "period": event.period,
            "percent": event.percent,
            "spent_usd": micros_to_usd(event.used_micros),
            "limit_usd": micros_to_usd(event.limit_micros),
            "project": project,
            "agent": agent,
        }
    if isinstance(event, UsageAnomaly):
        return {
            "kind": "anomaly",
            "ts": ts,
            "anomaly": event.anomaly,
            "provider": event.provider,
            "model": event.model,
            "claimed_usd": micros_to_usd(event.claimed_micros),
            "charged_usd": micros_to_usd(event.charged_micros),
            "project": project,
            "agent": agent,
        }
    return None


def where(url: str) -> str:
    """A webhook URL as it may be logged: scheme and host, never path, query or credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


class AlertDispatcher:
    """Queues alert payloads and delivers them on one daemon thread (see the module doc)."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sleep = sleep
        self.delivered = 0
        self.failed = 0

    def observe(self, event: Event, target: Target, *, project: str | None = None, agent: str | None = None) -> bool:
        """Queue ``event`` for delivery when it is an alert and a target is configured."""
        if not target.enabled:
            return False
        body = payload(event, project=project, agent=agent)
        if body is None:
            return False
        self._start()
        self._queue.put((body, target))
        return True

    def tap(
        self, emit: Emit | None, target: Callable[[], Target], *, project: str | None = None, agent: str | None = None
    ) -> Emit:
        """An ``emit`` that also queues alert events. ``target`` is resolved at the first alert
        event only, so a template or cache hit pays nothing for it."""
        resolved: list[Target] = []

        def tapped(event: Event) -> None:
            if isinstance(event, (BudgetLevelCrossed, UsageAnomaly)):
                if not resolved:
                    resolved.append(target())
                self.observe(event, resolved[0], project=project, agent=agent)
            if emit is not None:
                emit(event)

        return tapped

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued so far was delivered or given up; False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="templar-alerts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            if item is _STOP:
                return
            body, target = cast(tuple[dict[str, Any], Target], item)
            ok = True
            if target.webhook_url:
                ok = self._post(body, target) and ok
            if target.command:
                ok = self._run_command(body, target) and ok
            if ok:
                self.delivered += 1
            else:
                self.failed += 1

    def _post(self, body: dict[str, Any], target: Target) -> bool:
        import urllib.error  # here, not at import: an engine that delivers nothing never pays for them
        import urllib.request

        data = json.dumps(body).encode()
        delay = target.backoff_s
        for attempt in range(1, target.retries + 2):
            request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by the settings
                target.webhook_url,
                data=data,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "templar-alerts"},
            )
            try:
                # http(s) only: the setting's pattern refuses any other scheme
                with urllib.request.urlopen(request, timeout=target.timeout_s) as response:  # nosec B310
                    if 200 <= response.status < 300:
                        return True
                    problem = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:
                problem = type(exc).__name__
            if attempt <= target.retries:
                log.info(
                    "alert webhook %s failed (%s), attempt %d; retrying in %.1f s",
                    where(target.webhook_url),
                    problem,
                    attempt,
                    delay,
                )
                self._sleep(delay)
                delay *= 2
            else:
                log.warning(
                    "alert webhook %s failed (%s) after %d attempts; the %s alert was not delivered",
                    where(target.webhook_url),
                    problem,
                    attempt,
                    body.get("kind"),
                )
        return False

    def _run_command(self, body: dict[str, Any], target: Target) -> bool:
        import subprocess  # nosec B404 - runs the configured alert command, argv only, never a shell

        name = os.path.basename(target.command[0])
        try:
            # the command is the person's own system-level setting (a project file cannot set it)
            done = subprocess.run(  # nosec B603 TPL104 - configured argv, no shell
                list(target.command),
                input=json.dumps(body).encode(),
                capture_output=True,
                timeout=target.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("alert command %s failed: %s", name, type(exc).__name__)
            return False
        if done.returncode != 0:
            log.warning("alert command %s exited %d", name, done.returncode)
            return False
        return True
