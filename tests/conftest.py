"""Shared fixtures. Every test runs with its own TEMPLAR_HOME and no provider keys or
TEMPLAR_* settings from the outer environment; litellm is forced offline."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.paths import Paths

os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

KEY_VARS = ("GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture(autouse=True)
def templar_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    for name in list(os.environ):
        if name.startswith("TEMPLAR_") or name in KEY_VARS:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("TEMPLAR_HOME", str(home))
    return Paths.from_env()


@pytest.fixture
def paths(templar_home: Paths) -> Paths:
    return templar_home.ensure()


@pytest.fixture(autouse=True)
def _detach_log_handlers() -> Iterator[None]:
    """A CLI run in process attaches the log file of that test's data dir: detach it after."""
    yield
    logs = sys.modules.get("engine.logs")
    if logs is not None:
        logs.reset()


@pytest.fixture(autouse=True)
def fresh_validation_memo() -> None:
    """Each test validates from scratch (the validator remembers reports per process)."""
    import sys

    module = sys.modules.get("engine.validation.validator")
    if module is not None:
        module._MEMO.clear()
