"""Team mode fixtures: a fresh PostgreSQL database per test, and engine child processes.

Server: ``TEMPLAR_TEST_POSTGRES_URL`` (default ``postgresql://root@127.0.0.1:5432/test``) is an
*admin* connection; each test gets its own ``CREATE DATABASE templar_t_<random>`` there, dropped
(``WITH (FORCE)``) afterwards, so tests never see each other's rows or migrations.

Skip rule: the PostgreSQL tests skip with the reason only when no server can be reached (or
psycopg is missing) AND ``CI`` is unset; under ``CI=true`` the same condition is a failure.

Children (``tests/team/child.py``) share the test's TEMPLAR_HOME (so the user settings file
pointing providers at the in-process fake server) and get ``TEMPLAR_DATABASE_URL``. They speak
a line protocol on stdout (``@@ready {json}``, ``@@result {json}``) and wait for ``go`` on
stdin, so several processes start their work at the same moment.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.fakes.settings import MODELS, provider_tables

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("child.py")
# Read at import: the autouse ``templar_home`` fixture removes TEMPLAR_* variables per test.
ADMIN_URL = os.environ.get("TEMPLAR_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/test")
FAKE_KEY = "tk-T3amK9vQ2xW7pR4zL8mN1bC5"  # random like a real key (see tests/engine/conftest.py)
KEY_VARS = ("GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _probe(url: str) -> str | None:
    """None when a server answers at ``url``; otherwise why not."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); install it with pip install 'psycopg[binary]'"
    try:
        psycopg.connect(url, connect_timeout=3, autocommit=True).close()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server to be had"
        return f"no PostgreSQL server at {_redact(url)}: {str(exc).strip() or type(exc).__name__}"
    return None


def _redact(url: str) -> str:
    parsed = urlparse(url)
    return url.replace(f":{parsed.password}@", ":***@") if parsed.password else url


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    reason = _probe(ADMIN_URL)
    if reason is not None:
        if under_ci():
            pytest.fail(
                f"PostgreSQL tests cannot run and CI is set, so this is a failure, not a skip: {reason}", pytrace=False
            )
        pytest.skip(f"PostgreSQL tests skipped: {reason} (set TEMPLAR_TEST_POSTGRES_URL to use another server)")
    return ADMIN_URL


def _database_url(admin_url: str, name: str) -> str:
    return urlparse(admin_url)._replace(path=f"/{name}", query="").geturl()


class FreshDatabase:
    """A database created for one test on the admin server."""

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.admin_url = admin_url
        self.name = f"templar_t_{uuid.uuid4().hex[:12]}"
        self.url = _database_url(admin_url, self.name)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` on a short-lived connection of its own (never the engine's)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def pg_db(pg_admin_url: str) -> Iterator[FreshDatabase]:
    db = FreshDatabase(pg_admin_url)
    try:
        yield db
    finally:
        db.drop()  # WITH (FORCE): also ends connections a failed test left open


def settings_text(
    bases: dict[str, str],
    *,
    order: str = '["openai"]',
    timeout: float = 30.0,
    learning: str = "enabled = false",
    extra: str = "",
) -> str:
    """User settings: every provider at the fake server, one attempt, no repairs, no learning
    unless ``learning`` says otherwise (the body of the [learning] table)."""
    lines = provider_tables(bases, timeout_s=timeout)
    lines += [
        "[chain]",
        f"order = {order}",
        "attempts = 1",
        "jitter = 0.0",
        "cooldown_failures = 100",
        "",
        "[learning]",
        learning,
        "",
        "[validation]",
        "max_repairs = 0",
        "",
    ]
    return "\n".join(lines) + "\n" + extra


def write_settings(paths: Any, fake: Any, **kwargs: Any) -> None:
    bases = {name: fake.api_base(name) for name in MODELS}
    paths.user_settings.write_text(settings_text(bases, **kwargs), encoding="utf-8")


class Child:
    """One engine process running ``tests/team/child.py``; every wait is bounded."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._err = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=env,
            cwd=ROOT,
        )
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        self._buf = b""
        self.ready: dict[str, Any] = {}

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _line(self, tag: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if text.startswith(tag + " "):
                    return json.loads(text[len(tag) + 1 :])
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"child {self.pid}: no {tag} within {timeout}s; stderr:\n{self.stderr()}")
            if self._sel.select(timeout=min(left, 0.5)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
                if not chunk:
                    self.proc.wait(timeout=10)
                    raise AssertionError(
                        f"child {self.pid} exited ({self.proc.returncode}) before {tag}; stderr:\n{self.stderr()}"
                    )
                self._buf += chunk

    def wait_ready(self, timeout: float = 90.0) -> dict[str, Any]:
        self.ready = self._line("@@ready", timeout)
        return self.ready

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def ask(self, task: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        """One request to a ``serve`` child, answered by its ``@@answer`` line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({"task": task, **fields}) + "\n").encode())
        self.proc.stdin.flush()
        return self._line("@@answer", timeout)

    def quit(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"quit\n")
        self.proc.stdin.flush()
        return self.result(timeout)

    def result(self, timeout: float = 120.0) -> dict[str, Any]:
        data = self._line("@@result", timeout)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == 0, f"child {self.pid} exit {self.proc.returncode}; stderr:\n{self.stderr()}"
        return data

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stderr(self) -> str:
        self._err.flush()
        return self.log.read_text("utf-8", "replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=30)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._sel.close()
            self._err.close()


@pytest.fixture
def spawn(tmp_path: Path, templar_home: Any) -> Iterator[Any]:
    """``spawn(db_url, mode, *args)`` starts a child; every child is ended after the test."""
    children: list[Child] = []

    def start(db_url: str, *args: str) -> Child:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_") and k not in KEY_VARS}
        env.update(
            {
                "TEMPLAR_HOME": os.environ["TEMPLAR_HOME"],
                "TEMPLAR_DATABASE_URL": db_url,
                "PYTHONPATH": str(ROOT),
                "LITELLM_OFFLINE_MODE": "true",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "HF_HUB_OFFLINE": "1",
                **{name: FAKE_KEY for name in KEY_VARS},
            }
        )
        child = Child(list(args), env, tmp_path / f"child-{len(children)}.stderr")
        children.append(child)
        return child

    yield start
    for child in children:
        child.close()


# -- a real server restart ---------------------------------------------------------------------


def _pg_cluster() -> tuple[str, str] | None:
    """(version, name) of the local cluster ``pg_ctlcluster`` manages, or None when there is none."""
    import shutil

    conf = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not conf.is_dir():
        return None
    versions = sorted(p.name for p in conf.iterdir() if (p / "main").is_dir())
    return (versions[0], "main") if versions else None


def wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """``check()``'s first truthy value, asked again every ``interval`` seconds until ``timeout``.

    The one polling loop of the team tests. What they wait for is another process's state in
    PostgreSQL (a backend gone from pg_stat_activity, reservations held by a child process, a
    liveness lock taken again, the server back after a restart): the server sends no event for
    it, so it is asked again, bounded, and the test fails with ``what`` when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


def wait_for_server(url: str, timeout: float = 60.0) -> None:
    """Wait (bounded) until the server at ``url`` accepts a connection and answers a query."""
    import psycopg

    def answers() -> bool:
        try:
            with psycopg.connect(url, connect_timeout=2, autocommit=True) as conn:
                conn.execute("select 1")
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    wait_until("PostgreSQL to come back", answers, timeout)


@pytest.fixture
def restart_postgres(pg_admin_url: str) -> Iterator[Any]:
    """``restart_postgres()`` restarts the real local server (pg_ctlcluster) and waits until it
    answers again. Whatever the test does, the server is up again when the fixture ends: other
    tests (and other people's) need it."""
    cluster = _pg_cluster()
    if cluster is None or urlparse(pg_admin_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        if under_ci():
            pytest.fail("a PostgreSQL restart test needs a local pg_ctlcluster server", pytrace=False)
        pytest.skip("no local pg_ctlcluster-managed PostgreSQL to restart")

    def run(action: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action], capture_output=True, timeout=120
        )

    def restart() -> None:
        # pg_ctlcluster may report a start it waited too little for (a loaded machine): the
        # server answering decides, and a server still down is started once more
        run("restart")
        try:
            wait_for_server(pg_admin_url)
        except AssertionError:
            run("start")
            wait_for_server(pg_admin_url, timeout=90)

    try:
        yield restart
    finally:
        try:
            wait_for_server(pg_admin_url, timeout=5)
        except AssertionError:
            run("start")
            wait_for_server(pg_admin_url)
