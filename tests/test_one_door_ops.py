"""One door (issue 12), ops half: the CLI and the app reach config, budgets, stats, doctor and
providers, store maintenance and the LLM client only through ``Engine`` methods (``engine.api``).

Imports are read with ``ast``, so a lazy import inside a function counts as much as one at the
top. ``KNOWN`` lists the holdouts outside this area; each must still be there (so the list
shrinks when someone fixes one) and no other file may join it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SURFACES = [*sorted((ROOT / "tui").rglob("*.py")), *sorted((ROOT / "engine" / "cli").rglob("*.py"))]
INTERNAL = ("engine.config", "engine.stats", "engine.budget", "engine.llm", "engine.store")
# file -> internal modules it still imports (not config/budget/stats/doctor/store work)
KNOWN = {
    "engine/cli/batch_cmd.py": {"engine.config.cascade"},  # validate_project_name for batch --project
    "engine/cli/validate_cmd.py": {"engine.config"},  # `templar validate` reads the policy settings
}
OPS_FILES = ["engine/cli/stats_cmds.py", "engine/cli/budget_cmds.py", "engine/cli/config_cmds.py",
             "engine/cli/doctor.py", "tui/screens/budget.py", "tui/screens/config.py", "tui/widgets/gauge.py"]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _internal(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in INTERNAL)}


def test_surfaces_import_no_config_budget_stats_llm_or_store_internals() -> None:
    offenders: dict[str, set[str]] = {}
    for path in SURFACES:
        name = path.relative_to(ROOT).as_posix()
        internal = _internal(_imports(path))
        allowed = {m for m in internal for k in KNOWN.get(name, ()) if m == k or m.startswith(k + ".")}
        if internal - allowed:
            offenders[name] = internal - allowed
    assert offenders == {}


def test_known_holdouts_are_still_there() -> None:
    for name, modules in KNOWN.items():
        assert modules <= _internal(_imports(ROOT / name)), f"{name} no longer imports {modules}: drop it from KNOWN"


def test_the_app_never_imports_the_cli_except_to_launch_it() -> None:
    for path in sorted((ROOT / "tui").rglob("*.py")):
        cli = {m for m in _imports(path) if m.startswith("engine.cli")}
        if path.name == "launcher.py":  # `templar` runs the CLI, which opens the app
            assert cli <= {"engine.cli.main", "engine.cli.main.main"}
        else:
            assert cli == set(), path


def test_ops_files_never_touch_the_store_or_the_book() -> None:
    for name in OPS_FILES:
        text = (ROOT / name).read_text(encoding="utf-8")
        for needle in (".store.", ".store)", ".book.", ".chain.", ".library.", "engine.config("):
            assert needle not in text, f"{name} reaches around Engine: {needle!r}"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The detector sees a lazy import inside a function, and not a look-alike name."""
    sample = tmp_path / "sample.py"
    sample.write_text("import engine.api.config\nimport engine.configuration_notes\n"
                      "def f(engine):\n    from engine.config.cascade import list_agents\n"
                      "    return engine.store.call(list_agents)\n", encoding="utf-8")
    assert _internal(_imports(sample)) == {"engine.config.cascade", "engine.config.cascade.list_agents"}
