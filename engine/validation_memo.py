"""Validation reports remembered in the store, so a cache hit in a new process does not load
Bandit (~0.1 s CPU) to re-check code it already checked (issue 14, table from migration 0010).

The key is sha256 of: the validator's fingerprint (the source of ``engine/validation``, the
installed Bandit version, the Python version: everything besides the inputs that a report
depends on), the file name, the policy (its full ``repr``: block severity, coverage minimums,
severity overrides) and sha256 of the code. Validation never executes the code and is a pure
function of exactly these, so a stored report is the report a fresh validation would give. Change
any of them (new rules, a Bandit upgrade, another policy) and the key changes: the code is
validated again. The store already holds the code it would vouch for, so a row written by hand
gains an attacker nothing the cache row itself would not.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from importlib import metadata
from pathlib import Path

from engine.store.sql import execute
from engine.validation import ValidationPolicy, ValidationReport

_fingerprint: str | None = None


def fingerprint() -> str:
    """The validator's version, read once per process (no Bandit import)."""
    global _fingerprint
    if _fingerprint is None:
        digest = hashlib.sha256(f"memo-v1 {sys.version}".encode())
        try:
            digest.update(metadata.version("bandit").encode())
        except metadata.PackageNotFoundError:
            digest.update(b"no-bandit")
        base = Path(__file__).resolve().parent / "validation"
        for path in sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(base).as_posix().encode() + b"\0" + path.read_bytes())
        _fingerprint = digest.hexdigest()
    return _fingerprint


def memo_key(code: str, policy: ValidationPolicy, filename: str = "generated.py") -> str:
    code_hash = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
    return hashlib.sha256(f"{fingerprint()}\0{filename}\0{policy!r}\0{code_hash}".encode()).hexdigest()


def recall(code: str, policy: ValidationPolicy) -> ValidationReport | None:
    """The stored report for this code and policy, if any (runs on the database thread)."""
    row = execute("SELECT report FROM validation_memo WHERE key = ?", (memo_key(code, policy),)).fetchone()
    if row is None:
        return None
    try:
        return ValidationReport.from_dict(json.loads(row[0]))
    except (ValueError, KeyError, TypeError):
        return None  # unreadable: validate again


def remember(code: str, policy: ValidationPolicy, report: ValidationReport) -> None:
    """Store a report (runs on the database thread; the same key always holds the same report)."""
    execute(
        "INSERT INTO validation_memo (key, report, created) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (memo_key(code, policy), json.dumps(report.to_dict(), ensure_ascii=False), time.time()),
    )
