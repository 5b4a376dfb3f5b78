"""One door (issue 12): the CLI (``engine/cli``) and the app (``tui``) reach the engine only
through ``Engine``'s typed methods (``engine/api``, ``engine/service.py``), events, errors and
formatting helpers; never its internals.

Two AST scans, over every module of ``engine/cli`` and ``tui``:

- imports: no module imports an internal module (``FORBIDDEN``; for the app, the CLI's own
  modules are internal too: ``provider_rows`` belongs behind ``Engine``);
- reach-throughs: no code touches an engine's parts (``engine.store.run(engine.library.x)``,
  ``engine.book``, ``engine.chain``, ``engine.board``).

``PENDING`` lists what each file not yet switched still does, exactly: a file that does more
fails, and so does an entry that is no longer needed, so the list only shrinks. It is empty:
the door is total (templates, suggestions, feedback, generation, config, budgets, stats,
doctor and providers, store maintenance, validation).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("engine/cli", "tui")
FORBIDDEN = (
    "engine.store",
    "engine.learning",
    "engine.config.cascade",
    "engine.llm",
    "engine.pipeline",
    "engine.tiers",  # the pipeline's steps (split out of engine.pipeline)
    "engine.feedback",
    "engine.templates",
    "engine.stats",
    "engine.budget",
    "engine.config",
)
FORBIDDEN_IN_APP = ("engine.cli",)
ENTRY_POINTS = {("tui/launcher.py", "engine.cli.main")}  # the `templar` command: the app or a CLI command
PARTS = frozenset({"store", "library", "book", "chain", "board"})

# file -> the forbidden modules it still imports, and how many reach-throughs it still has
PENDING_IMPORTS: dict[str, set[str]] = {}
PENDING_REACH: dict[str, int] = {}


def sources() -> dict[str, ast.Module]:
    return {
        path.relative_to(ROOT).as_posix(): ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def imported(tree: ast.Module) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from engine import store
    return names


def forbidden_imports(file: str, tree: ast.Module) -> set[str]:
    banned = FORBIDDEN + (FORBIDDEN_IN_APP if file.startswith("tui/") else ())
    hits = {name for name in imported(tree) if any(name == b or name.startswith(b + ".") for b in banned)}
    modules = {name for name in hits if not any(other != name and name.startswith(other + ".") for other in hits)}
    return {name for name in modules if (file, name) not in ENTRY_POINTS}


def is_engine(node: ast.expr) -> bool:
    """``engine``, ``self.engine``, ``app.engine`` ...: an expression naming an engine."""
    return (isinstance(node, ast.Name) and node.id == "engine") or (
        isinstance(node, ast.Attribute) and node.attr == "engine"
    )


def reach_throughs(tree: ast.Module) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in PARTS and is_engine(node.value)
    ]


def test_no_file_imports_an_internal_module_beyond_its_pending_entry() -> None:
    found = {file: hits for file, tree in sources().items() if (hits := forbidden_imports(file, tree))}
    extra = {file: hits - PENDING_IMPORTS.get(file, set()) for file, hits in found.items()}
    assert not {f: h for f, h in extra.items() if h}, f"imports around the door: {extra}"
    stale = {file: want - found.get(file, set()) for file, want in PENDING_IMPORTS.items()}
    assert not {f: s for f, s in stale.items() if s}, f"switched already; shrink PENDING_IMPORTS: {stale}"


def test_no_file_reaches_into_an_engine_beyond_its_pending_entry() -> None:
    found = Counter({file: len(lines) for file, tree in sources().items() if (lines := reach_throughs(tree))})
    assert dict(found) == PENDING_REACH, "reach-throughs changed: switch them to Engine methods; shrink the list"


def test_templates_suggestions_feedback_and_generation_go_only_through_the_door() -> None:
    """The door-learn area is total: none of its files is pending, and none reaches around."""
    area = (
        "engine/cli/templates_cmds.py",
        "engine/cli/feedback_cmd.py",
        "engine/cli/commands.py",
        "engine/cli/batch_cmd.py",
        "tui/screens/review.py",
        "tui/screens/library.py",
        "tui/screens/generate.py",
        "tui/runner.py",
        "tui/screens/modals.py",
    )
    trees = sources()
    for file in area:
        assert file not in PENDING_IMPORTS and file not in PENDING_REACH, file
        assert not forbidden_imports(file, trees[file]) and not reach_throughs(trees[file]), file


def test_the_scanner_sees_what_it_must_refuse() -> None:
    """The scans are not vacuous: each way around the door is seen, nested or aliased."""
    code = (
        "import engine.store.db\n"
        "from engine.learning import review\n"
        "from engine import llm\n"
        "def f(self, engine):\n"
        "    from engine.config.cascade import list_agents as la\n"
        "    engine.store.call(self.engine.library.x)\n"
        "    return app.engine.book, engine.chain, self.engine.board\n"
        "ok = other.store, engine.templates, engine_store\n"
    )
    tree = ast.parse(code)
    assert forbidden_imports("engine/cli/x.py", tree) == {
        "engine.store.db",
        "engine.learning",
        "engine.llm",
        "engine.config.cascade",
    }
    assert forbidden_imports("tui/x.py", ast.parse("from engine.cli.doctor import provider_rows")) == {
        "engine.cli.doctor"
    }
    assert not forbidden_imports("engine/cli/x.py", ast.parse("from engine.cli.output import table"))
    assert not forbidden_imports("tui/x.py", ast.parse("from engine.api import slot_types\nimport engine.storage"))
    assert forbidden_imports("tui/screens/x.py", ast.parse("from engine.cli.main import main")) == {"engine.cli.main"}
    assert not forbidden_imports("tui/launcher.py", ast.parse("from engine.cli.main import main"))
    assert len(reach_throughs(tree)) == 5
