"""Fast paths stay fast: the engine never loads the UI, and nothing cheap loads litellm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_engine_imports_neither_textual_nor_litellm() -> None:
    out = run_python(
        "import sys, engine, engine.service, engine.cli.main, engine.config, engine.store.db, engine.stats\n"
        "print(sorted(m for m in ('textual', 'tui', 'litellm') if m in sys.modules))"
    )
    assert out.strip() == "[]"


def test_help_loads_no_litellm() -> None:
    out = run_python(
        "import sys\nfrom tui.launcher import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "for sub in (['generate', '--help'], ['config', 'explain', '--help'], ['budget', '--help']):\n"
        "    try:\n        main(sub)\n    except SystemExit as e:\n        assert e.code == 0\n"
        "print('LOADED', 'litellm' in sys.modules, 'textual' in sys.modules)"
    )
    assert out.strip().endswith("LOADED False False")


def test_litellm_is_imported_in_one_module_only() -> None:
    hits = []
    for path in list((ROOT / "engine").rglob("*.py")) + list((ROOT / "tui").rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import litellm", "from litellm")):
                hits.append(path.relative_to(ROOT).as_posix())
    assert hits == ["engine/llm/adapter.py"]


def test_engine_never_imports_the_ui() -> None:
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            assert not line.strip().startswith(("import textual", "from textual", "import tui", "from tui")), path
