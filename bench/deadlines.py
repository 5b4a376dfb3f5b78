"""How long slow and hostile providers can hold a call, in real seconds (no injected clock).

    .venv/bin/python bench/deadlines.py

Scenarios, each through the real engine against the loopback fake provider:
  drip       one provider sends its body one byte per 0.5 s; timeout_s = 2, attempts = 1
  all-hang   three providers accept and never answer; timeout_s = 60, 3 attempts each, real
             backoffs (2 s, 4 s), chain.deadline_s = 10
  retry-after  the first provider says 429 Retry-After: 3600; the second is healthy
Prints the wall time of each and how the call ended.
"""

from __future__ import annotations

import asyncio
import sys
import time

from _common import isolate_environment  # noqa: I001 - first: offline litellm, temporary home

from engine.config import set_value
from engine.paths import Paths
from engine.service import Engine
from tests.fakes import FakeProviderServer, Fault, Reply
from tests.fakes.settings import api_bases, provider_tables

ANSWER = "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"


def engine_for(server: FakeProviderServer, timeout_s: float, order: str, extra: list[str]) -> Engine:
    paths = Paths.from_env().ensure()
    lines = provider_tables(api_bases(server), timeout_s=timeout_s)
    lines += [
        "[chain]",
        f"order = {order}",
        "jitter = 0.0",
        "cooldown_failures = 100",
        *extra,
        "",
        "[learning]",
        "enabled = false",
    ]
    paths.user_settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for file in paths.projects_dir.glob("*.toml"):
        file.unlink()
    return Engine.from_settings(paths)


async def timed(engine: Engine, task: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        result = await engine.generate(task, use_cache=False)
        outcome = f"answered by {result.provider}"
    except Exception as exc:  # noqa: BLE001 - the outcome is what we report
        outcome = f"{type(exc).__name__}: {str(exc)[:90]}"
    return time.perf_counter() - started, outcome


async def main() -> None:
    isolate_environment()
    from engine.llm import adapter

    adapter.litellm()  # the first paid call imports litellm (seconds): not part of any figure
    for model in ("openai/gpt-4o-mini", "gemini/gemini-2.5-flash"):
        adapter.count_tokens(model, [{"role": "user", "content": "warm"}])
    with FakeProviderServer(hang_limit=120) as server:
        engine = engine_for(server, 2.0, '["openai"]', [])
        set_value(engine.paths, "chain.attempts", "1", "default")
        server.enqueue("openai", Reply(text=ANSWER, drip=0.5))
        print("drip         %6.2f s  %s" % await timed(engine, "drip"))
        engine.close()

        server.reset()
        engine = engine_for(server, 60.0, '["gemini", "openai", "anthropic"]', ["deadline_s = 10"])
        server.responder = lambda request: Fault.hang(120)
        print("all-hang     %6.2f s  %s" % await timed(engine, "all hang"))
        engine.close()

        server.reset()
        engine = engine_for(server, 60.0, '["openai", "gemini"]', [])
        server.enqueue("openai", Fault.rate_limit(retry_after=3600))
        print("retry-after  %6.2f s  %s" % await timed(engine, "retry after"))
        engine.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
