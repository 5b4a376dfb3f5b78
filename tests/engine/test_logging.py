"""The ``templar`` log: scrubbed, levelled, in a rotating file; libraries and fast paths untouched."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import logs
from engine.paths import Paths
from tests.engine.conftest import FAKE_KEY
from tests.fakes import Fault, Reply

ROOT = Path(__file__).resolve().parents[2]
TASK = "write a function that adds two integers"
# Never configured anywhere, shaped like real keys: the scrubber must catch them by shape.
SHAPED = ("sk-proj-MarkerQ7w9Zr2Lx5Vb8Nc", "AIzaSyMarkerKeyQ7w9Zr2Lx5Vb8Nc3Dd", "ghp_MarkerQ7w9Zr2Lx5Vb8Nc3Dd4Ee")


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    logs.reset()
    yield
    logs.reset()


def log_text(paths: Paths) -> str:
    for handler in logging.getLogger("templar").handlers:
        handler.flush()
    files = sorted(paths.data_dir.glob(logs.LOG_FILE_NAME + "*"))
    return "".join(f.read_text(encoding="utf-8") for f in files)


def pieces(secret: str, n: int = 6) -> list[str]:
    return [secret[i : i + n] for i in range(len(secret) - n + 1)]


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        leaked = [p for p in pieces(secret) if p in text]
        assert not leaked, (secret, leaked, text)


async def test_a_key_in_a_provider_error_never_reaches_the_log_file(make_engine, fake, paths) -> None:
    logs.configure(paths.data_dir, "debug")
    engine = make_engine(order='["openai"]')
    echoed = f"invalid api key {FAKE_KEY} (also {SHAPED[0]})"
    fake.enqueue("openai", Fault.server_error(message=echoed), Reply(text="```python\nX = 1\n```"))
    result = await engine.generate(TASK)
    assert result.code.strip() == "X = 1"
    text = log_text(paths)
    assert "templar.chain" in text and "attempt 1 failed" in text and "backing off" in text
    assert_clean(text, FAKE_KEY, SHAPED[0])


def test_message_args_exception_and_stack_are_all_scrubbed(paths, monkeypatch) -> None:
    monkeypatch.setenv("ACME_SERVICE_TOKEN", "tokHh4Jj6Kk8Mm2Pp3Rr5Tt")
    logs.configure(paths.data_dir, "debug")
    log = logs.get_logger("test")
    log.warning("message carries %s", SHAPED[0])  # args
    log.warning(f"f-string carries {SHAPED[1]}")  # already in the message
    log.warning("mapping %(k)s", {"k": "tokHh4Jj6Kk8Mm2Pp3Rr5Tt"})  # dict args, env-named secret
    try:
        raise RuntimeError(f"upstream said Authorization: Bearer {SHAPED[2]}")
    except RuntimeError:
        log.exception("exception text carries it")
    log.error("stack too %s", "x", stack_info=True)
    text = log_text(paths)
    assert "exception text carries it" in text and "RuntimeError" in text and "mapping" in text
    assert text.count("[redacted]") >= 4
    assert_clean(text, *SHAPED, "tokHh4Jj6Kk8Mm2Pp3Rr5Tt")


def test_levels_are_honoured_explicit_over_env_over_default(paths) -> None:
    log = logs.get_logger("chain")
    logs.configure(paths.data_dir, "error", environ={"TEMPLAR_LOG_LEVEL": "debug"})
    log.warning("warn-under-error")
    log.error("error-under-error")
    logs.configure(paths.data_dir, None, environ={"TEMPLAR_LOG_LEVEL": "INFO"})
    log.debug("debug-under-info")
    log.info("info-under-info")
    logs.configure(paths.data_dir, None, environ={})
    log.info("info-under-default")
    log.warning("warning-under-default")
    logs.configure(paths.data_dir, None, environ={"TEMPLAR_LOG_LEVEL": "chatty"})  # bad env: default
    log.info("info-under-bad-env")
    text = log_text(paths)
    assert "error-under-error" in text and "warn-under-error" not in text
    assert "info-under-info" in text and "debug-under-info" not in text
    assert "warning-under-default" in text and "info-under-default" not in text
    assert "info-under-bad-env" not in text
    with pytest.raises(ValueError, match="not a log level"):
        logs.configure(paths.data_dir, "loud")


def test_the_file_rotates_and_keeps_a_bounded_number(paths, monkeypatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    logs.configure(paths.data_dir, "info")
    log = logs.get_logger("growth")
    for i in range(200):
        log.info("line %04d %s", i, "x" * 60)
    files = sorted(p.name for p in paths.data_dir.glob(logs.LOG_FILE_NAME + "*"))
    assert files == ["templar.log", "templar.log.1", "templar.log.2", "templar.log.3"]
    assert "line 0199" in (paths.data_dir / "templar.log").read_text(encoding="utf-8")
    assert all(p.stat().st_size <= 2200 for p in paths.data_dir.glob("templar.log*"))


def run_python(code: str, home: Path, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    full.update({"PYTHONPATH": str(ROOT), "TEMPLAR_HOME": str(home), **env})
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_the_engine_configures_no_logging(tmp_path) -> None:
    out = run_python(
        "import logging, engine, engine.service, engine.pipeline, engine.llm.chain, engine.budget.book, engine.logs\n"
        "t = logging.getLogger('templar')\n"
        "print([type(h).__name__ for h in t.handlers], t.level, logging.getLogger().handlers, "
        "'logging.handlers' in __import__('sys').modules)\n"
        "logging.getLogger('templar.chain').warning('library use prints nothing')\n",
        tmp_path,
        TEMPLAR_LOG_LEVEL="debug",
    )
    assert out.strip() == "['NullHandler'] 0 [] False"
    assert not (tmp_path / "data" / logs.LOG_FILE_NAME).exists()


def test_a_template_hit_imports_no_log_handler_module_and_writes_no_file(tmp_path) -> None:
    out = run_python(
        "import sys\nfrom engine.cli.main import main\n"
        "code = main(['generate', 'enum Color with members red, green and blue', '--json'])\n"
        "print('RESULT', code, 'logging.handlers' in sys.modules, 'litellm' in sys.modules)\n",
        tmp_path,
    )
    assert out.strip().splitlines()[-1] == "RESULT 0 False False"
    assert not (tmp_path / "data" / logs.LOG_FILE_NAME).exists()


def test_doctor_json_names_the_log_file_and_level_and_the_flag_sets_it(tmp_path) -> None:
    out = run_python("from engine.cli.main import main\nmain(['--log-level', 'INFO', 'doctor', '--json'])\n", tmp_path)
    report = json.loads(out)
    assert report["log"] == {"file": str(tmp_path / "data" / "templar.log"), "level": "info"}
    out = run_python(
        "from engine.cli.main import main\nmain(['doctor', '--json'])\n", tmp_path, TEMPLAR_LOG_LEVEL="error"
    )
    assert json.loads(out)["log"]["level"] == "error"


def test_an_internal_error_logs_its_traceback_scrubbed_and_stderr_stays_one_line(paths, monkeypatch, capsys) -> None:
    from engine.cli import main as cli

    def boom(_args: object) -> int:
        raise RuntimeError(f"exploded with {SHAPED[0]}")

    monkeypatch.setattr(cli, "_resolve", lambda handler: boom)
    assert cli.main(["stats"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error: RuntimeError" in err
    text = log_text(paths)
    assert "Traceback" in text and "RuntimeError: exploded with [redacted]" in text
    assert_clean(text + err, SHAPED[0])


def test_the_flag_echoes_on_stderr_except_under_the_full_screen_app(paths, capsys) -> None:
    import argparse

    from engine.cli.main import _start_logging

    _start_logging(argparse.Namespace(log_level="info", handler="engine.cli.stats_cmds:cmd_stats"))
    logs.get_logger("t").info("echoed-line")
    assert "echoed-line" in capsys.readouterr().err
    _start_logging(argparse.Namespace(log_level="info", handler="engine.cli.commands:cmd_tui"))
    logs.get_logger("t").info("app-line")
    assert "app-line" not in capsys.readouterr().err and "app-line" in log_text(paths)
    _start_logging(argparse.Namespace(log_level=None, handler="engine.cli.stats_cmds:cmd_stats"))
    logs.get_logger("t").warning("quiet-line")
    assert "quiet-line" not in capsys.readouterr().err and "quiet-line" in log_text(paths)


async def test_templates_learned_reported_wrong_and_retired_are_logged(make_engine, fake, paths) -> None:
    from tests.engine.test_feedback import learned_engine

    logs.configure(paths.data_dir, "info")
    engine, tid = await learned_engine(make_engine, fake, extra="retire_after_wrong = 1\n")
    served = await engine.generate("a constant ALPHA set to 1")
    assert served.source == "learned"
    assert engine.report_wrong(served.request_id, "wrong").retired
    text = log_text(paths)
    assert f"INFO templar.learning: template {tid} " in text and "learned from suggestion" in text
    assert f"wrong answer reported for request {served.request_id}" in text and "template retired" in text
    assert f"WARNING templar.learning: template {tid} " in text and "retired after 1 wrong-answer reports" in text
