"""Secrets audit: a full session with a recognizable fake key in the environment. The key must
reach the providers (in the auth header) and nowhere else: no file under the config and data
dirs (SQLite database, WAL and SHM included), no export, no stdout, no stderr, no log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.fakes import Fault, ProviderRequest, Reply
from tests.robustness.conftest import run_main, settings_text, templar, write_tasks

SECRET = "tk-AUDIT-5e3c7a1f9b2d4e6f8a0c-LEAK-CANARY-91"
FRAGMENTS = (SECRET, SECRET[9:29], "LEAK-CANARY")  # the whole key and pieces a masked echo would keep
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
CODE = '"""Settings."""\n\nMAX_RETRIES: int = 5\n'
SUGGESTION = {
    "name": "int_constant",
    "pattern": "a constant {name:identifier} set to {value:integer}",
    "params": [
        {"name": "name", "type": "identifier", "value": "MAX_RETRIES", "description": "name", "confidence": 0.9},
        {"name": "value", "type": "integer", "value": 5, "description": "value", "confidence": 0.9},
    ],
}


def answer(request: ProviderRequest) -> Reply:
    system = request.messages()[0][1] if request.messages() else ""
    if "reusable template" in system:
        return Reply(text=json.dumps(SUGGESTION))
    if "review code" in system:
        return Reply(text='{"verdict": "approve", "issues": []}')
    if "Reply with the word ok" in request.prompt_text:
        return Reply(text="ok")
    return Reply(text=f"```python\n{CODE}```")


def leaks(data: bytes | str) -> list[str]:
    blob = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return [f for f in FRAGMENTS if f.encode() in blob]


def files_with_leaks(*roots: Path) -> dict[str, list[str]]:
    found = {}
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and (hit := leaks(path.read_bytes())):
                found[str(path)] = hit
    return found


@pytest.fixture
def audit_home(paths, fake, monkeypatch):
    for name in KEY_VARS:
        monkeypatch.setenv(name, SECRET)
    fake.responder = answer
    paths.user_settings.write_text(
        settings_text(fake, order='["openai", "anthropic", "gemini"]', learning=True), encoding="utf-8"
    )
    return paths


def test_a_full_session_never_writes_or_prints_the_key(audit_home, fake, capsys, tmp_path) -> None:
    paths = audit_home
    outputs: list[str] = []
    exports = tmp_path / "exports"
    exports.mkdir()

    def cli(*args: str, ok: bool = True) -> str:
        code, out, err = run_main(capsys, *args)
        outputs.extend([out, err])
        if ok:
            assert code == 0, (args, err)
        return out

    # config (the first command creates the database; a reader kept open from then on stops the
    # last writer's close from checkpointing the WAL away, so the -wal file is there to scan)
    cli("budget", "--json")
    keeper = sqlite3.connect(paths.default_db)
    keeper.execute("select count(*) from ledger_entry").fetchall()
    for fmt in ("openai", "anthropic", "gemini"):
        cli("config", "set", "chain.order", f'["{fmt}"]', "--project", f"p-{fmt}")
    cli("config", "set", "generation.temperature", "0.1", "--project", "p-openai", "--agent", "bot")
    cli("config", "show", "--project", "p-openai", "--agent", "bot", "--json")
    cli("config", "show")
    cli("config", "explain", "providers.openai.api_key_env", "--project", "p-gemini")
    cli("config", "projects", "--json")
    # a key-shaped value is refused, never stored
    cli("config", "set", "providers.openai.api_key_env", f'"{SECRET}"', "--project", "p-openai", ok=False)
    # generate through every wire format, streaming and not, with a review, and a failing provider
    for fmt in ("openai", "anthropic", "gemini"):
        cli("generate", f"a constant via {fmt}", "--project", f"p-{fmt}", "--json")
        cli("generate", f"a streamed constant via {fmt}", "--project", f"p-{fmt}", "--stream")
    cli("generate", "a reviewed constant", "--critical", "--json")
    fake.enqueue("openai", Fault.unauthorized(), Fault.bad_request())
    cli("generate", "after an auth failure", "--json")
    for fmt in ("openai", "anthropic", "gemini"):
        fake.enqueue(fmt, Fault.unauthorized())  # auth failures are not retried: one request each
    cli("generate", "when every key is rejected", "--json", ok=False)
    assert fake.pending() == 0
    # batch (with a malformed line and a failing task)
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [
            {"id": "a", "task": "a constant for the batch", "project": "p-anthropic"},
            {"id": "b", "task": "another constant for the batch", "project": "p-gemini"},
            "not json",
        ],
    )
    cli("batch", str(tasks), "--json", ok=False)
    cli("batch", str(tasks), ok=False)
    # learned templates: review, use, export, import
    learned = json.loads(cli("generate", "a constant MAX_RETRIES set to 5", "--json", "--project", "p-openai"))
    cli("templates", "review", str(learned["suggestion_id"]), "--accept-all", "--json")
    cli("generate", "a constant TIMEOUT set to 30", "--json")
    cli("templates", "list", "--json")
    cli("templates", "export", str(exports / "templates.json"))
    cli("templates", "import", str(exports / "templates.json"))
    cli("config", "export", str(exports / "p-openai.toml"), "--project", "p-openai")
    cli("config", "import", str(exports / "p-openai.toml"), "--project", "p-copy")
    # read commands
    cli("stats", "--json", "--by", "provider")
    cli("stats")
    cli("budget", "--json")
    cli("budget")
    cli("budget", "alerts", "--json")
    cli("budget", "allocate", "--json")
    cli("doctor", "--json")
    cli("doctor")
    cli("doctor", "--ping", "--json", ok=False)

    # the key was used ...
    seen = {r.format for r in fake.requests if r.api_key == SECRET}
    assert seen == {"openai", "anthropic", "gemini"}
    # ... in the auth header only
    for request in fake.requests:
        assert not leaks(json.dumps(request.body)), request.path
    assert not [o for o in outputs if leaks(o)], "the key was printed"
    db_files = {p.name for p in paths.data_dir.iterdir()}
    assert {"templar.db", "templar.db-wal", "templar.db-shm"} <= db_files, db_files
    assert paths.data_dir.joinpath("templar.db-wal").stat().st_size > 0
    assert files_with_leaks(paths.config_dir, paths.data_dir, exports) == {}
    keeper.close()
    assert files_with_leaks(paths.config_dir, paths.data_dir, exports) == {}
    assert len(list((paths.data_dir / "batches").iterdir())) == 1


@pytest.mark.slow
def test_a_real_process_prints_no_key_even_when_providers_reject_it(audit_home, fake, tmp_path) -> None:
    """Whatever litellm or Python would print on their own (warnings, logging) is in here too."""
    fake.enqueue("openai", *[Fault.unauthorized()] * 2)
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [{"id": "a", "task": "a constant in a subprocess"}, {"id": "b", "task": "a second constant"}],
    )
    run = templar("batch", str(tasks), "--json", "--concurrency", "1")
    assert run.code == 0, run.err
    assert {r["status"] for r in run.json()["results"]} == {"ok"}
    assert not leaks(run.out) and not leaks(run.err)
    assert fake.requests[0].api_key == SECRET
    assert files_with_leaks(audit_home.config_dir, audit_home.data_dir) == {}


# -- a provider that echoes the key back ---------------------------------------------------------

MARKER = "mk-Q7vX2pL9zR4wT8yB3nK6jH1cF5dS0aG"  # no piece of it is a word
MARKER_PIECES = tuple(MARKER[i : i + 6] for i in range(len(MARKER) - 5))


def marker_pieces(data: bytes | str) -> list[str]:
    """Every 6-character piece of the marker key found in ``data``."""
    blob = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return [p for p in MARKER_PIECES if p.encode() in blob]


def echoing(request: ProviderRequest) -> Fault | Reply:
    """Each wire format fails with an error text that repeats the key it was sent, in another way."""
    key = request.api_key or ""
    if "Reply with the word ok" in request.prompt_text and request.format == "anthropic":
        return Reply(text="ok")
    if request.format == "openai":  # the providers' own masking keeps a head and a tail
        return Fault("unauthorized", 401, message=f"Incorrect API key provided: {key[:6]}{'*' * 18}{key[-6:]}.")
    if request.format == "anthropic":  # a header echoed in full and a long partial piece
        return Fault("bad_request", 400, message=f"header x-api-key: {key} is invalid (checked {key[3:25]})")
    # a long body: the key sits across every cut (120, 160, 300 characters), split over lines
    return Fault(
        "server_error",
        500,
        message="overloaded " + "." * 95 + f" Bearer {key[:12]}\n{key[12:]} " + "." * 150 + f" api_key={key}",
    )


def test_a_provider_echoing_the_key_leaks_no_piece_of_it_anywhere(paths, fake, capsys, tmp_path, monkeypatch) -> None:
    for name in KEY_VARS:
        monkeypatch.setenv(name, MARKER)
    fake.responder = echoing
    paths.user_settings.write_text(settings_text(fake, order='["openai", "anthropic", "gemini"]'), encoding="utf-8")
    exports = tmp_path / "exports"
    exports.mkdir()
    outputs: dict[str, str] = {}

    def cli(label: str, *args: str) -> int:
        code, out, err = run_main(capsys, *args)
        outputs[label + " stdout"], outputs[label + " stderr"] = out, err
        return code

    assert cli("generate --json", "generate", "a constant set to 5", "--json") == 4
    assert cli("generate", "generate", "a constant set to 6") == 4
    assert cli("generate --stream", "generate", "a constant set to 7", "--stream") == 4
    fake.responder = lambda r: echoing(r) if r.format != "anthropic" else Reply(text=f"```python\n{CODE}```")
    assert cli("generate --json ok", "generate", "a constant set to 8", "--json", "--stream") == 0
    fake.responder = echoing
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [{"id": "a", "task": "a constant set to 9"}, {"id": "b", "task": "a constant set to 10"}],
    )
    cli("batch --json", "batch", str(tasks), "--json", "--concurrency", "1")
    cli("batch", "batch", str(tasks), "--concurrency", "1")
    cli("doctor --ping", "doctor", "--ping", "--json")
    cli("config export", "config", "export", str(exports / "default.toml"), "--project", "default")
    cli("templates export", "templates", "export", str(exports / "templates.json"))
    cli("stats", "stats", "--json", "--by", "provider")

    assert fake.requests and {r.api_key for r in fake.requests} == {MARKER}
    assert "[redacted]" in outputs["generate --json stdout"] + outputs["generate --json stderr"]
    found = {label: marker_pieces(text) for label, text in outputs.items() if marker_pieces(text)}
    assert found == {}, found
    files = {
        str(p): marker_pieces(p.read_bytes())
        for root in (paths.config_dir, paths.data_dir, exports)
        for p in root.rglob("*")
        if p.is_file()
    }
    assert list((paths.data_dir / "batches").iterdir()), "the batch results log exists"
    assert {name: hit for name, hit in files.items() if hit} == {}
