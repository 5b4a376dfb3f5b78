"""Progress on stderr for ``generate`` and ``batch``: shown even with ``--json`` (stdout stays one
clean JSON document), as JSON lines with ``--progress json``, and not at all with ``--quiet``.
``generate --stream`` says when a suggestion is pending, as the app does."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import run_main
from tests.engine.conftest import user_settings
from tests.engine.test_learning import TASK, responder
from tests.fakes import Reply

CODE = "```python\ndef f() -> int:\n    return 1\n```"


@pytest.fixture
def configured(paths, fake, keys):
    paths.user_settings.write_text(user_settings(fake, order='["openai", "anthropic"]'), encoding="utf-8")
    return paths


def json_lines(err: str) -> list[dict]:
    lines = [line for line in err.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every stderr line is one JSON object


def test_generate_json_still_reports_progress_on_stderr(configured, fake, capsys) -> None:
    fake.enqueue("openai", Reply(text=CODE))
    code, out, err = run_main(capsys, "generate", "a function returning one", "--json")
    assert code == 0 and json.loads(out)["source"] == "llm"  # stdout: one JSON document, nothing else
    assert "· cache: miss" in err and "→ openai" in err and "✓ openai" in err


def test_generate_progress_json_is_one_object_per_line(configured, fake, capsys) -> None:
    fake.enqueue("openai", Reply(text=CODE, chunks=("```python\ndef f() -> int:\n", "    return 1\n```")))
    code, out, err = run_main(
        capsys, "generate", "a function returning one", "--json", "--progress", "json", "--stream"
    )
    assert code == 0 and json.loads(out)["code"] == "def f() -> int:\n    return 1\n"
    events = json_lines(err)
    names = [e["event"] for e in events]
    assert names.count("lookup_result") == 3 and "attempt_started" in names and "attempt_succeeded" in names
    assert "".join(e["text"] for e in events if e["event"] == "tokens_streamed").count("return 1") == 1
    started = next(e for e in events if e["event"] == "attempt_started")
    assert started["provider"] == "openai" and started["attempt"] == 1


@pytest.mark.parametrize("extra", [[], ["--json"], ["--json", "--progress", "json"], ["--stream"]])
def test_generate_quiet_prints_no_progress(configured, fake, capsys, extra) -> None:
    fake.enqueue("openai", Reply(text=CODE))
    code, out, err = run_main(capsys, "generate", "a function returning one", "--quiet", *extra)
    assert code == 0 and err == ""
    assert ("return 1" in json.loads(out)["code"]) if "--json" in extra else out == "def f() -> int:\n    return 1\n"


def test_generate_quiet_still_shows_an_error(configured, fake, capsys) -> None:
    code, _, err = run_main(capsys, "generate", "   ", "--quiet")
    assert code == 2 and "task is empty" in err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_generate_stream_says_a_suggestion_is_pending(paths, fake, keys, capsys, fmt) -> None:
    paths.user_settings.write_text(user_settings(fake, order='["openai", "gemini"]', learning=True), encoding="utf-8")
    fake.responder = responder()
    code, out, err = run_main(capsys, "generate", TASK, "--stream", "--progress", fmt)
    assert code == 0 and out
    if fmt == "text":
        assert "suggestion #1 is pending" in err and "templar templates review 1" in err
    else:
        learned = [e for e in json_lines(err) if e["event"] == "template_learned"]
        assert learned == [{"event": "template_learned", "suggestion_id": 1, "status": "pending"}]


def write_tasks(tmp_path, count: int = 3):
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"t{i}", "task": f"function number {i}"}) + "\n" for i in range(count)),
        encoding="utf-8",
    )
    return path


def test_batch_progress_json_lines_and_clean_stdout(configured, fake, capsys, tmp_path) -> None:
    fake.responder = lambda request: Reply(text=CODE)
    code, out, err = run_main(capsys, "batch", str(write_tasks(tmp_path)), "--json", "--progress", "json")
    assert code == 0 and json.loads(out)["summary"]
    tasks = [e for e in json_lines(err) if e["event"] == "batch_task"]
    assert sorted(e["id"] for e in tasks) == ["t0", "t1", "t2"]
    assert [e["done"] for e in tasks] == [1, 2, 3] and {e["total"] for e in tasks} == {3}
    assert all("code" not in e and e["status"] == "ok" for e in tasks)


def test_batch_quiet_and_text(configured, fake, capsys, tmp_path) -> None:
    fake.responder = lambda request: Reply(text=CODE)
    path = write_tasks(tmp_path)
    code, out, err = run_main(capsys, "batch", str(path), "--json", "--quiet")
    assert code == 0 and json.loads(out) and "batch:" not in err
    code, out, err = run_main(capsys, "batch", str(path), "--json")  # all done: the note still shows
    assert code == 0 and json.loads(out) and "already done" in err
