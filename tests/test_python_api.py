"""The documented Python API: every example in docs/python-api.md runs, offline with no key, and
``engine.__all__`` names every error and event while ``import engine`` stays cheap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
KEYISH = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)


def offline_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not KEYISH.search(k) and not k.startswith("TEMPLAR_")}
    # any network call fails fast: proxies point at a closed loopback port
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TEMPLAR_HOME": str(home),
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
    )
    return env


def test_the_doc_has_the_promised_examples() -> None:
    text = "\n".join(BLOCKS)
    assert len(BLOCKS) >= 5
    for needle in (
        "Engine.from_settings",
        "except ValidationFailed",
        "generate_events",
        "budget_status",
        "engine.stats",
        "engine.templates",
        "configure(",
    ):
        assert needle in text, needle


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_every_python_block_in_the_doc_runs(code: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=offline_env(tmp_path / "home"),
        timeout=300,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_engine_is_cheap_and_every_exported_name_resolves() -> None:
    out = run(
        "import sys, engine\n"
        "heavy = sorted(m for m in ('engine.service', 'engine.store.db', 'peewee', 'pydantic', 'litellm', "
        "'engine.config', 'logging.handlers') if m in sys.modules)\n"
        "missing = [n for n in engine.__all__ if getattr(engine, n, None) is None]\n"
        "print(heavy, missing, 'litellm' in sys.modules)"
    )
    assert out == "[] [] False"


def test_all_names_every_error_and_event_and_unknown_names_fail() -> None:
    import engine
    import engine.errors as errors
    import engine.events as events

    exported = set(engine.__all__)
    errs = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.TemplarError)}
    evts = {cls.__name__ for cls in events.Event.__subclasses__()} | {"Event"}
    assert errs <= exported and evts <= exported
    assert {"Engine", "GenerationResult", "Paths", "ResolvedConfig", "Delivery"} <= exported
    assert engine.ValidationFailed is errors.ValidationFailed and engine.Finished is events.Finished
    with pytest.raises(AttributeError, match="no attribute 'Engin'"):
        engine.Engin  # noqa: B018
    star: dict[str, object] = {}
    exec("from engine import *", star)
    assert exported - {"__version__"} <= set(star)


def test_readme_python_api_section_links_the_doc() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    assert "docs/python-api.md" in section
