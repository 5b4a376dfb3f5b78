"""``templar serve`` as a real subprocess on a free port, with the fake provider behind it.

The server shares the test's TEMPLAR_HOME (user settings point the providers at the in-process
fake server) and its keys; ``ServeProcess.url`` is read from the line the server prints once its
socket listens, so no test waits on a timer.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cli.helpers import ROOT, proc_env
from tests.engine.conftest import (  # noqa: F401
    _server,
    fake,
    keys,
    make_engine,
    sleeps,
    user_settings,
)

_LISTENING = re.compile(r"listening on (http://\S+) ")


class ServeProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", "--port", "0", *args],
            cwd=ROOT,
            env=proc_env(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = _LISTENING.search(line)
        if found is None:
            self.proc.kill()
            raise AssertionError(f"serve did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.url = found.group(1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


@pytest.fixture
def configured(paths, fake, keys):  # noqa: F811
    paths.user_settings.write_text(user_settings(fake, order='["openai", "anthropic"]'), encoding="utf-8")
    return paths


@pytest.fixture
def serve(configured) -> Iterator[Any]:
    """Start servers with ``serve(*args, env=...)``; each is stopped (SIGTERM) after the test."""
    started: list[ServeProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServeProcess:
        server = ServeProcess(*args, env={"TEMPLAR_HOME": os.environ["TEMPLAR_HOME"], **(env or {})})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
