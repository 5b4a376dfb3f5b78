"""A read-only data directory and a full disk, made for real (a read-only bind mount and a tiny
full tmpfs; without root, chmod for the read-only case), driving the ``templar`` process.

- Read-only data: a $0 built-in answer still comes, with a note that nothing is recorded; a paid
  call is refused (exit 3) before any request, since no budget can be kept; a command that must
  write (``templates import``) is bad input (exit 2); the stored rows are unchanged.
- Full disk under ``--output``: the paid answer is printed, kept in the response cache and the
  one-line error says so (exit 2); no partial file is left; asking again is a $0 cache hit.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.robustness.conftest import db_rows, templar
from tests.robustness.test_hostile_corpus import BUILTIN_TASK, templates_file

PAID_TASK = "function that reverses a string"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """``directory`` read-only for this process: a read-only bind mount as root, chmod otherwise."""
    if os.geteuid() == 0:
        if not _mount("--bind", str(directory), str(directory)):
            pytest.skip("cannot bind-mount here (no mount permission)")
        try:
            if not _mount("-o", "remount,ro,bind", str(directory)):
                pytest.skip("cannot remount read-only here")
            yield
        finally:
            subprocess.run(["umount", str(directory)], capture_output=True, check=True)
        return
    modes = {p: p.stat().st_mode for p in [directory, *directory.iterdir()]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


@contextlib.contextmanager
def full_disk(directory: Path) -> Iterator[Path]:
    """A tiny tmpfs mounted at ``directory`` and filled up (root only)."""
    directory.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(directory)):
        pytest.skip("a full disk needs a tmpfs mount (root)")
    try:
        with contextlib.suppress(OSError), (directory / "filler").open("wb") as handle:
            while True:
                handle.write(b"x" * 4096)
                handle.flush()
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], capture_output=True, check=True)


def stderr_problems(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("templar:") and not line.startswith("templar: note:")]


@pytest.mark.slow
def test_read_only_data_dir_still_answers_from_templates_and_records_nothing(configured, fake, tmp_path) -> None:
    assert templar("generate", BUILTIN_TASK).code == 0  # a store with something in it
    before = db_rows(configured.default_db)
    requests = fake.count()
    with read_only(configured.data_dir):
        answer = templar("generate", BUILTIN_TASK)
        paid = templar("generate", PAID_TASK)
        imported = templar("templates", "import", str(templates_file(tmp_path / "t.json")))
    assert answer.code == 0, answer.err
    assert "class Color" in answer.out
    assert "nothing is recorded" in answer.err and "read-only" in answer.err
    assert paid.code == 3, paid.err
    (line,) = stderr_problems(paid.err)
    assert "paid calls are refused" in line
    assert fake.count() == requests, "no provider request without a ledger"
    assert imported.code == 2 and "read-only" in stderr_problems(imported.err)[0], imported.err
    assert db_rows(configured.default_db) == before, "nothing was written"


@pytest.mark.slow
def test_output_to_a_full_disk_keeps_the_paid_answer(configured, fake, tmp_path) -> None:
    with full_disk(tmp_path / "full") as disk:
        target = disk / "out.py"
        run = templar("generate", PAID_TASK, "-o", str(target), "--json")
        assert not target.exists(), "no partial file"
        assert not [p.name for p in disk.iterdir() if p.name != "filler"], "no temporary file left"
    assert run.code == 2, run.err
    (line,) = stderr_problems(run.err)
    assert "No space left on device" in line and "kept in the response cache" in line, line
    result = json.loads(run.out)
    assert result["source"] == "llm" and result["code"].strip(), "the answer is in the output"
    assert fake.count() == 1
    again = templar("generate", PAID_TASK, "--json")
    assert again.code == 0 and json.loads(again.out)["source"] == "cache"
    assert json.loads(again.out)["code"] == result["code"]
    assert fake.count() == 1, "asking again cost nothing"
