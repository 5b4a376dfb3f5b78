"""Bind and token rules, warm-up, per-project limits, and a shutdown that leaves nothing held."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import httpx
import pytest

from engine.service import Engine
from tests.cli.helpers import ROOT, proc_env, templar
from tests.engine.conftest import user_settings
from tests.fakes import Fault

POINT = "dataclass named Point with fields x: int, y: int"
PAID = "function parse_port that reads a TCP port from the string '8080'"
TOKEN = "s3rve-T0ken-x9Q2mV7pL4"


def held_and_states(paths) -> tuple[int, list[str]]:
    """Reservations as the database has them, read by an engine that reconciles nothing."""
    from engine.store.models import Reservation

    engine = Engine.from_settings(paths, reconcile=False)
    try:
        return engine.store.call(engine.book.held_count), engine.store.call(
            lambda: sorted(r.state for r in Reservation.select())
        )
    finally:
        engine.close()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--host", "0.0.0.0"), "--token-env"),
        (("--host", "192.0.2.1"), "--token-env"),
        (("--host", "example.com"), "--token-env"),
        (("--token-env", "NO_SUCH_VAR"), "at least 16"),
        (("--port", "70000"), "--port"),
        (("--per-project", "0"), "--per-project"),
    ],
)
def test_unsafe_or_bad_options_exit_2_before_binding(configured, args, fragment: str) -> None:
    done = templar("serve", *args, timeout=60)
    assert done.code == 2 and fragment in done.err


def test_off_loopback_every_route_but_the_probes_needs_the_token(serve, fake) -> None:
    server = serve("--no-warm", "--host", "0.0.0.0", "--token-env", "SERVE_TOKEN", env={"SERVE_TOKEN": TOKEN})
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    body = {"task": POINT}
    assert httpx.post(f"{url}/api/generate", json=body).status_code == 401
    assert (
        httpx.post(f"{url}/api/generate", json=body, headers={"authorization": f"Bearer {TOKEN}x"}).status_code == 401
    )
    assert httpx.post(f"{url}/api/generate", json=body, headers={"authorization": TOKEN}).status_code == 401
    assert httpx.get(f"{url}/v1/models").status_code == 401
    ok = httpx.post(f"{url}/api/generate", json=body, headers={"authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["source"] == "builtin"
    assert httpx.get(f"{url}/healthz").status_code == 200
    _, err = server.stop()
    assert TOKEN not in err


def test_litellm_loads_once_in_the_background_and_readyz_says_so(serve) -> None:
    server = serve()
    hit = httpx.post(f"{server.url}/api/generate", json={"task": POINT}, timeout=60)  # served while it loads
    assert hit.status_code == 200
    ready = httpx.get(f"{server.url}/readyz", params={"wait": 90}, timeout=120)
    assert ready.status_code == 200 and ready.json()["llm"] == "ready"
    assert httpx.get(f"{server.url}/healthz").json()["llm"] == "ready"


def test_a_project_over_its_limit_gets_429_while_others_are_served(serve, fake, paths) -> None:
    paths.user_settings.write_text(user_settings(fake, order='["openai"]', timeout=60), encoding="utf-8")
    fake.enqueue("openai", Fault.hang(30))
    server = serve("--no-warm", "--per-project", "1", "--queue-timeout", "0.2", "--grace", "0")
    first = threading.Thread(
        target=lambda: httpx.post(
            f"{server.url}/api/generate", json={"task": PAID, "project": "acme", "use_templates": False}, timeout=90
        )
    )
    first.start()
    assert fake.wait_for_requests(1, timeout=60)  # acme's one slot is taken by a hung call
    busy = httpx.post(f"{server.url}/api/generate", json={"task": POINT, "project": "acme"})
    assert busy.status_code == 429 and busy.json()["error"] == "busy"
    other = httpx.post(f"{server.url}/api/generate", json={"task": POINT, "project": "beta"})
    assert other.status_code == 200
    assert httpx.get(f"{server.url}/healthz").json()["in_progress"] == {"acme": 1}
    server.stop()
    first.join(timeout=60)


@pytest.mark.parametrize("stream", [False, True])
def test_sigterm_during_a_hung_call_leaves_no_reservation_held(serve, fake, paths, stream: bool) -> None:
    paths.user_settings.write_text(user_settings(fake, order='["openai"]', timeout=60), encoding="utf-8")
    fake.enqueue("openai", Fault.hang(30))
    server = serve("--no-warm", "--grace", "0.5")
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            outcome["status"] = httpx.post(
                f"{server.url}/api/generate", timeout=90, json={"task": PAID, "use_templates": False, "events": stream}
            ).status_code
        except httpx.HTTPError as exc:
            outcome["error"] = type(exc).__name__

    client = threading.Thread(target=call)
    client.start()
    assert fake.wait_for_requests(1, timeout=60)
    assert held_and_states(paths)[0] == 1  # the hung call holds its worst case
    code, err = server.stop(signal.SIGTERM)
    client.join(timeout=60)
    assert code in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal it handled once it is done
    assert "reservation(s) held" not in err
    held, states = held_and_states(paths)
    assert held == 0 and states == ["released"], states
    assert outcome  # the client got an answer or a closed connection, not a hang


def test_workers_share_the_socket_and_all_stop_on_sigterm(serve, fake, paths) -> None:
    server = serve("--no-warm", "--workers", "2")
    pids = set()
    for _ in range(12):  # a new connection each: the kernel hands it to whichever worker accepts first
        with httpx.Client() as http:
            assert http.post(f"{server.url}/api/generate", json={"task": POINT}).status_code == 200
            pids.add(http.get(f"{server.url}/healthz").json()["pid"])
    assert server.proc.pid not in pids and 1 <= len(pids) <= 2
    code, err = server.stop(signal.SIGTERM)
    assert code == 0, err
    assert held_and_states(paths)[0] == 0


def test_a_worker_that_cannot_start_is_named_and_stops_the_set(serve, paths) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    (paths.data_dir / "templar.db").write_bytes(b"this is not a database" * 100)
    server = serve("--no-warm", "--workers", "2")
    code = server.proc.wait(timeout=60)  # no signal sent: the set stops by itself
    assert server.proc.stderr is not None
    err = server.proc.stderr.read()
    assert code == 1, err
    assert "templar serve: worker" in err and "ended with exit code" in err
    assert "Traceback" not in err  # a known failure is one line per worker, not a stack


def test_help_loads_no_server_package() -> None:
    probe = (
        "import sys\nfrom engine.cli.main import main\n"
        "for args in (['--help'], ['serve', '--help'], ['mcp', '--help']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'litellm', 'mcp', 'engine.serve') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=proc_env(), cwd=ROOT, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == "[]"


def _learning_settings(paths, fake, suggestion_reply) -> None:
    """Learning on, by a model (the suggestion call is the one the test controls)."""
    from tests.engine.test_learning import CODE
    from tests.fakes import ProviderRequest, Reply

    def answer(request: ProviderRequest):
        if "reusable template" in request.messages()[0][1]:
            return suggestion_reply()
        return Reply(text=f"```python\n{CODE}```", tokens_in=400, tokens_out=60)

    fake.responder = answer
    paths.user_settings.write_text(
        user_settings(fake, order='["openai"]', timeout=60, learning=True, extra="deterministic = false\n"),
        encoding="utf-8",
    )


def server_log(paths, err: str) -> str:
    """What the server said: its stderr and its log file (asyncio's own complaints included)."""
    from engine.logs import log_path

    file = log_path(paths.data_dir)
    return err + (file.read_text(encoding="utf-8", errors="replace") if file.exists() else "")


def suggestion_status(paths, sid: int) -> str:
    engine = Engine.from_settings(paths, reconcile=False)
    try:
        return engine.store.call(engine.library.suggestion, sid).status
    finally:
        engine.close()


def test_shutdown_cancels_hung_learning_cleanly_and_keeps_its_row_queued(serve, fake, paths) -> None:
    _learning_settings(paths, fake, lambda: Fault.hang(30))
    server = serve("--no-warm", "--grace", "0.3")
    answer = httpx.post(
        f"{server.url}/api/generate",
        json={"task": "a constant MAX_RETRIES set to 5", "use_templates": False},
        timeout=60,
    ).json()
    assert answer["source"] == "llm" and answer["ok"], "the answer never waits for learning"
    assert fake.wait_for_requests(2, timeout=60)  # the suggestion call is in flight, and hangs
    assert held_and_states(paths)[0] == 1, "the suggestion call holds its worst case"
    code, err = server.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM), err
    said = server_log(paths, err)
    for bad in ("Task was destroyed", "Traceback", "reservation(s) held", "closed database", "learning from request"):
        assert bad not in said, said
    assert "learning cancelled" in said
    held, states = held_and_states(paths)
    assert held == 0 and sorted(states) == ["released", "settled"], states
    assert suggestion_status(paths, answer["suggestion_id"]) == "queued", "left for `templates suggest`"


def test_shutdown_lets_learning_in_progress_finish(serve, fake, paths) -> None:
    import json

    from tests.engine.test_learning import SUGGESTION
    from tests.fakes import Reply

    _learning_settings(paths, fake, lambda: Reply(text=json.dumps(SUGGESTION), tokens_in=100, tokens_out=60))
    server = serve("--no-warm", "--grace", "30")
    answer = httpx.post(
        f"{server.url}/api/generate",
        json={"task": "a constant MAX_RETRIES set to 5", "use_templates": False},
        timeout=60,
    ).json()
    code, err = server.stop(signal.SIGTERM)  # at once: learning may still be running
    assert code in (0, -signal.SIGTERM), err
    said = server_log(paths, err)
    assert "Task was destroyed" not in said and "Traceback" not in said, said
    assert suggestion_status(paths, answer["suggestion_id"]) == "pending"
    assert held_and_states(paths)[0] == 0
