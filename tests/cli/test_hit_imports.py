"""A $0 answer in a new process imports only what it needs (issue 14: costs that do not grow).

Pinned: the third-party packages a cache hit and a built-in hit load, and that no other
command's module (``batch``, ``stats``, ``budget`` ...) is imported by ``templar generate``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.helpers import ROOT, proc_env, run_main
from tests.engine.conftest import user_settings
from tests.fakes import Reply

_DUMP = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print('MODULES ' + json.dumps(sorted(sys.modules))))\n"
    "from tui.launcher import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)
# what a $0 answer may load besides the standard library and our own packages
BASE = {
    "annotated_types",
    "jinja2",
    "markupsafe",
    "peewee",
    "pydantic",
    "pydantic_core",
    "tomli_w",
    "typing_extensions",
    "typing_inspection",
}
CACHE_HIT = BASE - {"jinja2", "markupsafe"}
DRIVER = {"psycopg", "psycopg_binary", "psycopg_c"}  # only for a PostgreSQL URL (engine.store.pg_driver)
VALIDATOR = {"bandit", "rich", "stevedore", "yaml", "pygments", "markdown_it", "mdurl"}  # Bandit and what it loads
OTHER_COMMANDS = (
    "engine.cli.batch_cmd",
    "engine.batch",
    "engine.cli.stats_cmds",
    "engine.stats",
    "engine.cli.budget_cmds",
    "engine.cli.templates_cmds",
    "engine.cli.config_cmds",
    "engine.cli.doctor",
    "engine.cli.validate_cmd",
    "engine.cli.completion",
)


def _modules(*args: str) -> tuple[dict, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _DUMP, *args], capture_output=True, text=True, env=proc_env(), cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out, _, mods = done.stdout.rpartition("MODULES ")
    return json.loads(out), set(json.loads(mods))


def _third_party(modules: set[str]) -> set[str]:
    tops = {m.split(".")[0] for m in modules}
    return {
        t
        for t in tops
        if not t.startswith("_")
        and t not in sys.stdlib_module_names
        and t not in ("engine", "tui", "cython_runtime")
        and not t.startswith("__editable__")
    }


@pytest.fixture
def configured(paths, fake, keys):
    paths.user_settings.write_text(user_settings(fake, order='["openai"]'), encoding="utf-8")
    return paths


def test_a_cache_hit_imports_the_pinned_set_and_no_other_command(configured, fake, capsys) -> None:
    fake.enqueue("openai", Reply(text="```python\ndef one() -> int:\n    return 1\n```"))
    code, out, _ = run_main(capsys, "generate", "a function that returns one", "--json")
    assert code == 0 and json.loads(out)["source"] == "llm"

    answer, modules = _modules("generate", "a function that returns one", "--json")
    assert answer["source"] == "cache"
    # its validation report was stored with it (engine.validation_memo): no Bandit; and no template
    # is rendered, so no Jinja
    extra = _third_party(modules) - CACHE_HIT
    assert extra == set(), f"a cache hit loaded {sorted(extra)}"
    assert [m for m in OTHER_COMMANDS if m in modules] == []
    library = sorted(m for m in modules if m.startswith(("engine.templates", "engine.learning.")))
    assert library == ["engine.learning.stamp"], "a cache hit reads the library's stamp and loads nothing else of it"


def test_a_builtin_hit_imports_the_pinned_set(configured, capsys) -> None:
    assert run_main(capsys, "stats", "--json")[0] == 0  # the store exists (a first run also migrates it)
    answer, modules = _modules("generate", "dataclass named Point with fields x: int, y: int", "--json")
    assert answer["source"] == "builtin"
    extra = _third_party(modules) - BASE - VALIDATOR
    assert extra == set(), f"a built-in hit loaded {sorted(extra)}"
    assert "litellm" not in modules and [m for m in OTHER_COMMANDS if m in modules] == []


def test_stats_loads_neither_the_generation_pipeline_nor_the_validator(configured, capsys) -> None:
    assert run_main(capsys, "stats", "--json")[0] == 0  # the store exists (a first run also migrates it)
    data, modules = _modules("stats", "--json")
    assert data["total"]["requests"] == 0 and data["false_hits"]["templates"] == []
    loaded = sorted(m for m in modules if m.split(".")[:2] in (["engine", "pipeline"], ["engine", "validation"]))
    assert loaded == [], "templar stats generates nothing (engine.service imports the pipeline on first use)"
    assert "engine.tiers" not in modules and "engine.prompts" not in modules


def test_batch_still_runs_from_its_own_module(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _DUMP, "batch", "--help"],
        capture_output=True,
        text=True,
        env=proc_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0 and "exit code: 0 when every task succeeded" in done.stdout


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_PG = (
    "import sys\n"
    "from engine.store.db import Store\n"
    "assert 'psycopg' not in sys.modules\n"
    "store = Store.open(sys.argv[1], migrate=False)\n"
    "print(store.call(lambda: store.db.execute_sql('SELECT 40 + 2').fetchone()[0]), type(store.db._adapter).__name__)\n"
    "with store.write():\n"
    "    store.db.execute_sql('SELECT 1')\n"
    "store.close()\n"
)


def test_a_postgresql_url_still_gets_its_driver() -> None:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - no server here: nothing to check
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    done = subprocess.run(
        [sys.executable, "-c", _PG, PG_URL], capture_output=True, text=True, env=proc_env(), cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["42", "Psycopg3Adapter"]


def test_sqlite_work_never_loads_the_driver() -> None:
    code = (
        "import sys, tempfile\nfrom engine.store.db import Store, sqlite_url\nfrom pathlib import Path\n"
        "store = Store.open(sqlite_url(Path(tempfile.mkdtemp()) / 't.db'), migrate=False)\n"
        "store.call(lambda: store.db.execute_sql('SELECT 1').fetchone())\nstore.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('psycopg')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=proc_env(), cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
