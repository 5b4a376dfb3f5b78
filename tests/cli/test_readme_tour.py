"""The README's tour works as written: its one-line recipes make ``app.py``, ``tasks.jsonl``
and ``task.txt``, and the tour's commands on them succeed with no API key (built-in templates);
the team-mode text names the schema version ``templar doctor`` prints."""

from __future__ import annotations

import io
import json
import re
import subprocess

import pytest

from tests.cli.helpers import ROOT, run_main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def recipes() -> list[str]:
    tour = README[README.index("## A short tour") :]
    block = tour[tour.index("```sh\n") + 6 : tour.index("```", tour.index("```sh\n") + 6)]
    return [line for line in block.splitlines() if line.strip()]


def test_the_recipes_make_the_three_files(tmp_path) -> None:
    lines = recipes()
    assert [re.search(r"> (\S+)$", line).group(1) for line in lines] == ["app.py", "tasks.jsonl", "task.txt"]
    for line in lines:
        subprocess.run(["bash", "-c", line], cwd=tmp_path, check=True, timeout=30)
    compile((tmp_path / "app.py").read_text(), "app.py", "exec")
    tasks = [json.loads(line) for line in (tmp_path / "tasks.jsonl").read_text().splitlines()]
    assert len(tasks) == 2 and all(t["task"] for t in tasks)
    assert (tmp_path / "task.txt").read_text().strip()


def test_the_tour_commands_on_them_succeed_without_a_key(paths, tmp_path, capsys, monkeypatch) -> None:
    for line in recipes():
        subprocess.run(["bash", "-c", line], cwd=tmp_path, check=True, timeout=30)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, "validate", "app.py")
    assert code == 0, out + err
    code, out, err = run_main(capsys, "batch", "tasks.jsonl", "--json", "-q")
    assert code == 0, err
    assert {r["source"] for r in json.loads(out)["results"]} == {"builtin"}
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((tmp_path / "task.txt").read_bytes())))
    code, out, err = run_main(capsys, "generate", "-", "--json", "-q")
    assert code == 0 and json.loads(out)["source"] == "builtin", err


def test_team_mode_names_the_schema_version_doctor_prints(paths, capsys) -> None:
    _, out, _ = run_main(capsys, "doctor", "--json")
    db = json.loads(out)["database"]
    shown = re.search(r"schema version (\d+)/(\d+)", README[README.index("## Team mode") :])
    assert shown is not None
    assert (int(shown.group(1)), int(shown.group(2))) == (db["latest_schema_version"],) * 2, (
        "README team mode: update the schema version to what `templar doctor` prints"
    )


@pytest.mark.parametrize("name", ["app.py", "tasks.jsonl", "task.txt"])
def test_every_file_the_tour_uses_has_a_recipe(name: str) -> None:
    tour = README[README.index("## A short tour") : README.index("## ", README.index("## A short tour") + 5)]
    assert f"> {name}" in tour and name in tour.split("templar                                  #")[1]
