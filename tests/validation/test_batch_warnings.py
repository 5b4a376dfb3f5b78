"""Issue 11 item 13: a concurrent batch prints no pydantic (or other) warnings on stderr.

The validator runs in worker threads while another thread imports litellm; nothing the
validator does may change the process-wide warning filters that import sees. The batch runs
as a real process against the loopback fake provider, because the defect lives in the
process-wide ``warnings`` state.
"""

from __future__ import annotations

import builtins
import json
import subprocess
import threading
import warnings

from engine.validation import CodeValidator
from engine.validation import validator as validator_module
from tests.cli.helpers import ROOT
from tests.engine.conftest import _server, fake, keys  # noqa: F401 - fixtures
from tests.fakes import Reply
from tests.robustness.conftest import configured, proc_env, templar_argv, write_tasks  # noqa: F401

ANSWER = '```python\ndef total(prices: list[float]) -> float:\n    """Sum the prices."""\n    return sum(prices)\n```'


def test_concurrent_batch_prints_no_warnings(configured, fake, tmp_path) -> None:  # noqa: F811
    fake.responder = lambda request: Reply(text=ANSWER)
    # Paid tasks (the first one imports litellm in a worker thread) interleaved with built-in
    # template tasks, whose answers are validated while that import runs.
    tasks = []
    for i in range(24):
        tasks.append({"id": f"paid{i}", "task": f"function number {i} that sums a list of prices"})
        tasks.append({"id": f"builtin{i}", "task": f"dataclass Point{i} with fields x:int, y:int, label:str"})
    file = write_tasks(tmp_path / "tasks.jsonl", tasks)
    done = subprocess.run(
        templar_argv("batch", str(file), "-c", "8", "--json"),
        cwd=ROOT,
        env=proc_env(),
        capture_output=True,
        timeout=300,
    )
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, err[-3000:]
    assert json.loads(done.stdout)["summary"]["counts"]
    warning_lines = [line for line in err.splitlines() if "Warning" in line or "warnings.warn" in line]
    assert warning_lines == [], f"{len(warning_lines)} warning line(s) on stderr:\n" + "\n".join(warning_lines[:10])


def _in_other_thread(action) -> None:
    worker = threading.Thread(target=action)
    worker.start()
    worker.join()


def test_a_filter_another_thread_adds_during_validation_survives(monkeypatch) -> None:
    """The mechanism behind the batch warnings, made deterministic: another thread adds a filter
    (as ``import litellm`` does) while the validator is compiling; the filter must survive."""
    marker = f"templar-test-marker-{id(object())}"

    def compile_while_another_thread_adds_a_filter(*args, **kwargs):
        _in_other_thread(lambda: warnings.filterwarnings("ignore", message=marker))
        return builtins.compile(*args, **kwargs)

    monkeypatch.setattr(validator_module, "compile", compile_while_another_thread_adds_a_filter, raising=False)
    try:
        report = CodeValidator().validate("x = '\\d'\nif x is 1:\n    pass\n")
        assert [f.rule_id for f in report.findings if f.checker == "syntax"] == ["syntax-warning"] * 2
        assert any(entry[1] is not None and entry[1].pattern == marker for entry in warnings.filters)
    finally:
        warnings.filters[:] = [e for e in warnings.filters if not (e[1] is not None and e[1].pattern == marker)]
        warnings._filters_mutated()


def test_another_threads_warning_during_validation_is_not_swallowed(monkeypatch) -> None:
    def compile_while_another_thread_warns(*args, **kwargs):
        _in_other_thread(lambda: warnings.warn("from another thread", UserWarning, stacklevel=1))
        return builtins.compile(*args, **kwargs)

    monkeypatch.setattr(validator_module, "compile", compile_while_another_thread_warns, raising=False)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        report = CodeValidator().validate("x = '\\d'\n")
    assert [str(w.message) for w in seen] == ["from another thread"]
    assert [f.rule_id for f in report.findings if f.checker == "syntax"] == ["syntax-warning"]
    assert not any(e[0] == "always" and e[3] is not None and "generated" in e[3].pattern for e in warnings.filters)


def test_a_hook_installed_over_ours_that_forwards_back_does_not_loop(monkeypatch) -> None:
    """logging.captureWarnings-style hooks keep the previous hook and may call it back."""
    CodeValidator().validate("x = 1\n")  # installs the routing hook
    seen = []
    ours = warnings.showwarning

    def wrapping_hook(message, category, filename, lineno, file=None, line=None):
        seen.append(str(message))
        ours(message, category, filename, lineno, file, line)

    monkeypatch.setattr(warnings, "showwarning", wrapping_hook)
    CodeValidator().validate("y = '\\d'\n")  # re-installs ours over the wrapping hook
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        monkeypatch.setattr(warnings, "_showwarnmsg_impl", lambda msg: seen.append("default:" + str(msg.message)))
        warnings.warn("loop check", UserWarning, stacklevel=1)
    assert seen[-2:] == ["loop check", "default:loop check"]
