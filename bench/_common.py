"""Shared helpers for the LLM-service benchmarks (bench/llm_overhead.py, bench/hit_path.py).

Import this module FIRST: it forces litellm offline, points TEMPLAR_HOME at a fresh temporary
directory (never the user's real config/data dirs) and removes provider keys and TEMPLAR_*
settings inherited from the outer environment.

The fake provider server (tests/fakes/provider_server.py) runs in a CHILD process by default,
so its CPU time and its threads (GIL) are not charged to the process being measured; both the
engine and the raw-litellm baseline talk to the same loopback server.
"""

from __future__ import annotations

import atexit
import contextlib
import cProfile
import io
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
}
KEY_VARS = ("GEMINI_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY")
FAKE_KEY = "fake-bench-key"
from tests.fakes.settings import MODELS as PROVIDERS  # noqa: E402
from tests.fakes.settings import provider_tables


def isolate_environment(prefix: str = "templar-bench-") -> Path:
    """Offline litellm, a temporary TEMPLAR_HOME (removed at exit), fake keys only."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    for name in list(os.environ):
        if name.startswith("TEMPLAR_") or name in KEY_VARS:
            del os.environ[name]
    home = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, home, True)
    os.environ["TEMPLAR_HOME"] = str(home)
    for fmt in PROVIDERS:
        os.environ[f"{fmt.upper()}_API_KEY"] = FAKE_KEY
    return home


def user_settings_text(
    api_bases: dict[str, str],
    *,
    order: list[str],
    timeout_s: float = 30.0,
    learning: bool = False,
    auto_accept: float | None = None,
) -> str:
    """A user settings file whose providers point at the fake server; a huge system budget.

    ``learning = false`` by default: with it on, every validated paid answer triggers a second
    paid call (the parameterization suggestion), which is not "overhead on one call"."""
    lines = provider_tables(api_bases, timeout_s=timeout_s)
    lines += [
        "[chain]",
        "order = [" + ", ".join(f'"{n}"' for n in order) + "]",
        "jitter = 0.0",
        "cooldown_failures = 100",
        "",
        "[budget.system]",
        "limit_usd = 1000000.0",  # the schema's maximum: 2,000 calls never move the alert level
        'period = "total"',
        "",
        "[learning]",
        f"enabled = {'true' if learning else 'false'}",
        *([] if auto_accept is None else [f"auto_accept_confidence = {auto_accept:g}"]),
        "",
    ]
    return "\n".join(lines)


# -- the fake provider server in a child process ---------------------------------------------

_SERVER_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.fakes import FakeProviderServer
from tests.fakes import provider_server
if sys.argv[2] == "tuned":
    # BaseHTTPRequestHandler writes headers and body in separate send()s; with Nagle on, the
    # body waits for the client's delayed ACK (~40 ms on Linux loopback). TCP_NODELAY fixes it.
    provider_server._Handler.disable_nagle_algorithm = True
    # socketserver's listen backlog is 5: 100 simultaneous connects overflow it and the dropped
    # SYNs are retried after 1 s, 3 s... which would dominate the concurrent figures.
    provider_server._HTTPServer.request_queue_size = 1024
server = FakeProviderServer(hang_limit=5).start()
print(server.root_url, flush=True)
sys.stdin.read()          # until the parent closes our stdin (or dies)
server.stop()
"""
_API_BASE_SUFFIX = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}


class ServerProcess:
    """``FakeProviderServer`` (default responder) running in a child Python process."""

    def __init__(self, *, nodelay: bool = True) -> None:
        self.nodelay = nodelay
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_CHILD, str(ROOT), "tuned" if nodelay else "stock"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"fake provider server did not start (got {line!r})")
        self.root_url = line
        atexit.register(self.stop)

    def api_base(self, fmt: str) -> str:
        return self.root_url + _API_BASE_SUFFIX[fmt]

    def api_bases(self) -> dict[str, str]:
        return {fmt: self.api_base(fmt) for fmt in PROVIDERS}

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - last resort: our own child, by handle
                self.proc.kill()
                self.proc.wait(timeout=5)


class InProcessServer:
    """The same server in this process (``--inproc``): its CPU is then charged to us."""

    def __init__(self, *, nodelay: bool = True) -> None:
        from tests.fakes import FakeProviderServer, provider_server

        self.nodelay = nodelay
        provider_server._Handler.disable_nagle_algorithm = nodelay
        if nodelay:
            provider_server._HTTPServer.request_queue_size = 1024
        self.server = FakeProviderServer(hang_limit=5).start()
        self.root_url = self.server.root_url
        atexit.register(self.stop)

    def api_base(self, fmt: str) -> str:
        return self.server.api_base(fmt)

    def api_bases(self) -> dict[str, str]:
        return {fmt: self.api_base(fmt) for fmt in PROVIDERS}

    def stop(self) -> None:
        self.server.stop()


# -- statistics and printing ----------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank-with-interpolation percentile (p in 0..100)."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = (len(data) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    values = [s * 1000.0 for s in seconds]
    return {
        "n": len(values),
        "mean": statistics.fmean(values) if values else float("nan"),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else float("nan"),
    }


def fmt_ms(value: float) -> str:
    if value < 1:
        return f"{value:.3f}"
    if value < 100:
        return f"{value:.2f}"
    return f"{value:.0f}"


def machine_info() -> str:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                break
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu or platform.processor() or '?'}), {mem}, {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def load_average() -> str:
    """1/5/15-minute load average: other processes on this machine inflate wall times."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


class Stopwatch:
    """Wall and process-CPU time of a block (CPU includes every thread of this process)."""

    def __enter__(self) -> Stopwatch:
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


class StageMeter:
    """Charges process-CPU and wall time to the stages of ``engine.generate`` by wrapping
    functions on this process's objects (bench-local monkeypatches, undone by ``uninstall``).

    Times are EXCLUSIVE: a stage nested in another (a DB hop inside a template lookup) is
    subtracted from its parent. Valid for SEQUENTIAL calls only (one stack). Stages whose
    function no longer exists in the engine are skipped, so the bench survives refactors."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)
        self._stack: list[list[float]] = []  # [child_cpu, child_wall] per open stage
        self._undo: list[Callable[[], None]] = []

    def _enter(self) -> tuple[float, float]:
        self._stack.append([0.0, 0.0])
        return time.process_time(), time.perf_counter()

    def _exit(self, label: str, c0: float, w0: float) -> None:
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        child_cpu, child_wall = self._stack.pop()
        self.cpu[label] += cpu - child_cpu
        self.wall[label] += wall - child_wall
        self.count[label] += 1
        if self._stack:
            self._stack[-1][0] += cpu
            self._stack[-1][1] += wall

    def _wrap(self, owner: Any, attr: str, label: Callable[..., str] | str, *, is_async: bool) -> None:
        if owner is None or not hasattr(owner, attr):
            return
        own = attr in vars(owner)
        orig = getattr(owner, attr) if not isinstance(owner, type) else vars(owner).get(attr, getattr(owner, attr))
        name_of = label if callable(label) else (lambda *a, **k: label)
        meter = self
        if is_async:

            async def wrapper(*a: Any, **k: Any) -> Any:
                c0, w0 = meter._enter()
                try:
                    return await orig(*a, **k)
                finally:
                    meter._exit(name_of(*a, **k), c0, w0)
        else:

            def wrapper(*a: Any, **k: Any) -> Any:  # type: ignore[misc]
                c0, w0 = meter._enter()
                try:
                    return orig(*a, **k)
                finally:
                    meter._exit(name_of(*a, **k), c0, w0)

        setattr(owner, attr, wrapper)
        self._undo.append((lambda: setattr(owner, attr, orig)) if own else (lambda: delattr(owner, attr)))

    def install(self) -> StageMeter:
        import importlib

        def mod(name: str) -> Any:
            try:
                return importlib.import_module(name)
            except ImportError:
                return None

        def attr(module: Any, name: str) -> Any:
            return getattr(module, name, None) if module is not None else None

        def db_label(fn: Any, *a: Any, **k: Any) -> str:
            inner = getattr(fn, "func", fn)  # functools.partial
            name = getattr(inner, "__qualname__", getattr(inner, "__name__", "?"))
            if (getattr(inner, "__module__", "") or "") == "engine.cache":
                name = "cache." + name
            return f"db hop: {name}"

        engine = self.engine
        adapter = mod("engine.llm.adapter")
        pipeline = mod("engine.pipeline")
        validator = mod("engine.validation.validator")
        templates = mod("engine.templates")
        chain = mod("engine.llm.chain")
        self._wrap(engine, "config", "config load (Engine.config)", is_async=False)
        self._wrap(engine.store, "run", db_label, is_async=True)
        self._wrap(
            attr(pipeline, "CoderAgent"),
            "_template",
            lambda self_, ctx, source, *a, **k: f"template lookup glue: {source}",
            is_async=True,
        )
        self._wrap(attr(templates, "TemplateIndex"), "match", "template index: match()", is_async=False)
        self._wrap(attr(templates, "TemplateIndex"), "similar", "template index: similar() on a miss", is_async=False)
        self._wrap(
            attr(validator, "CodeValidator"), "validate_async", "validation (bandit+ast, to_thread)", is_async=True
        )
        self._wrap(mod("engine.service"), "validate_async", "validation (bandit+ast, to_thread)", is_async=True)
        self._wrap(mod("engine.cache"), "cache_key", "cache key (json + sha256)", is_async=False)
        self._wrap(adapter, "complete", "litellm acompletion (adapter.complete)", is_async=True)
        self._wrap(adapter, "count_tokens", "token count (litellm.token_counter)", is_async=False)
        self._wrap(
            attr(pipeline, "CoderAgent"), "_suggest", "learning suggestion glue (CoderAgent._suggest)", is_async=True
        )
        self._wrap(
            attr(chain, "ProviderChain"), "complete", "provider chain glue (ProviderChain.complete)", is_async=True
        )
        return self

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def report(self, n: int, total_cpu: float, total_wall: float, title: str) -> None:
        per = lambda v: v / n * 1000  # noqa: E731
        print(f"\n  {title}")
        print(f"  {'stage (exclusive time)':<50}{'calls':>6}{'CPU ms':>9}{'wall ms':>9}{'CPU %':>7}")
        acc_cpu = acc_wall = 0.0
        for name in sorted(self.cpu, key=lambda k: -self.cpu[k]):
            acc_cpu += self.cpu[name]
            acc_wall += self.wall[name]
            print(
                f"  {name:<50}{self.count[name] / n:>6.1f}{per(self.cpu[name]):>9.3f}{per(self.wall[name]):>9.3f}"
                f"{self.cpu[name] / total_cpu:>7.0%}"
            )
        rest_cpu, rest_wall = total_cpu - acc_cpu, total_wall - acc_wall
        print(
            f"  {'everything else (pipeline glue, events, results)':<50}{'':>6}{per(rest_cpu):>9.3f}"
            f"{per(rest_wall):>9.3f}{rest_cpu / total_cpu:>7.0%}"
        )
        print(f"  {'total per generate() (ms, per call)':<50}{'':>6}{per(total_cpu):>9.3f}{per(total_wall):>9.3f}")


def print_stats(prof: cProfile.Profile, title: str, key: str, top: int, restrict: str | None = None) -> None:
    print(f"\n  cProfile: {title}")
    print_stats_obj(pstats.Stats(prof), key, top, restrict)


def print_stats_obj(stats: pstats.Stats, key: str, top: int, restrict: str | None = None) -> None:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(key)
    if restrict:
        stats.print_stats(restrict, top)
    else:
        stats.print_stats(top)
    text = out.getvalue()
    start = text.find("   ncalls")
    for line in text[start:].rstrip().splitlines():
        line = line.replace(str(ROOT) + "/", "").replace(sys.prefix, "<venv>").replace(sys.base_prefix, "<py>")
        print("   " + line[:150])


@contextlib.contextmanager
def no_template_lookup(engine: Any) -> Iterator[None]:
    """What-if: the pipeline's template lookups (learned + built-in) skipped, as if a cache
    lookup came first or the lookups were free. Bench-local class patch, undone on exit."""
    from engine.tiers.templates import TemplateTier  # CoderAgent's template steps live here

    orig = TemplateTier.__dict__["_template"]

    async def skip(self: Any, *a: Any, **k: Any) -> None:
        return None

    TemplateTier._template = skip  # type: ignore[method-assign]
    try:
        yield
    finally:
        TemplateTier._template = orig  # type: ignore[method-assign]


async def profile_calls(engine: Any, call: Callable[[], Awaitable[Any]], n: int, top: int, *, what: str) -> None:
    """cProfile ``n`` sequential ``call()``s on the event-loop thread and on the DB worker thread."""
    loop_prof = cProfile.Profile()
    db_prof = cProfile.Profile()
    engine.store.call(db_prof.enable)  # enable() hooks the calling thread: the DB worker
    loop_prof.enable()
    try:
        for _ in range(n):
            await call()
    finally:
        loop_prof.disable()
        engine.store.call(db_prof.disable)
    print_stats(loop_prof, f"{n} {what}, event-loop thread, cumulative, engine/ only", "cumulative", top, r"/engine/")
    print_stats(loop_prof, f"{n} {what}, event-loop thread, own time", "tottime", top)
    print_stats(db_prof, f"{n} {what}, DB worker thread, cumulative", "cumulative", top)
