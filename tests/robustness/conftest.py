"""Fixtures for the robustness suite: a configured home pointing at the fake provider, the CLI
in process (``run_main``) and as a real process (``templar_proc``), and state snapshots."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from engine.paths import Paths
from tests.cli.helpers import ROOT, Run, proc_env, run_main, templar, templar_argv  # noqa: F401 - shared helpers
from tests.engine.conftest import FAKE_KEY, _server, fake, keys, make_engine, sleeps, user_settings  # noqa: F401
from tests.fakes import FakeProviderServer


def settings_text(
    server: FakeProviderServer, *, order: str = "", extra: str = "", learning: bool = False, timeout: float = 2.0
) -> str:
    """User settings for the fake server with fast failure handling: backoff 10 ms, Retry-After
    capped at 50 ms, 2 s timeouts (the fake server answers at once unless told to hang)."""
    text = user_settings(server, order=order, learning=learning, timeout=timeout)
    text = text.replace("[chain]\n", "[chain]\nbackoff_base_s = 0.01\nretry_after_max_s = 0.05\n", 1)
    return text + extra


@pytest.fixture
def configured(paths: Paths, fake: FakeProviderServer, keys: str) -> Paths:  # noqa: F811 - fixtures
    """TEMPLAR_HOME with the three providers at the fake server (openai first) and keys set."""
    paths.user_settings.write_text(settings_text(fake, order='["openai", "anthropic", "gemini"]'), encoding="utf-8")
    return paths


def write_tasks(path: Path, items: list[Any]) -> Path:
    """A JSONL task file; str items are written as raw lines, bytes as raw bytes."""
    with path.open("wb") as handle:
        for item in items:
            if isinstance(item, bytes):
                handle.write(item + b"\n")
            elif isinstance(item, str):
                handle.write(item.encode("utf-8") + b"\n")
            else:
                handle.write(json.dumps(item).encode("utf-8") + b"\n")
    return path


# -- snapshots ---------------------------------------------------------------------------------


def db_rows(db_file: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted), read with sqlite3 directly."""
    if not db_file.exists():
        return {}
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
        return {t: sorted(con.execute(f'select * from "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def file_digests(root: Path, *, skip_db: bool = True) -> dict[str, str]:
    """sha256 of every file under ``root`` (the SQLite files are compared by rows instead)."""
    out = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (skip_db and path.name.startswith("templar.db")):
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def snapshot(paths: Paths) -> dict[str, Any]:
    return {
        "db": db_rows(paths.default_db),
        "config": file_digests(paths.config_dir),
        "data": file_digests(paths.data_dir),
    }


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err[:2000]}"
    assert "Traceback" not in err
    return lines[0]
