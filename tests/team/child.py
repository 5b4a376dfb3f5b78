"""One Templar engine process for the team-mode tests (launched by tests/team/conftest.py).

    child.py migrate                       open the store without migrating; on "go": migrate
    child.py generate --calls N --task T   open an engine; on "go": N concurrent generate() calls
    child.py reconcile                     Engine.from_settings (which reconciles), then exit
    child.py stats                         engine.stats.compute_stats over the shared ledger
    child.py serve                         one engine kept open; each stdin line {"task": ...}
                                           is one generate() answered by an @@answer line

The store is ``TEMPLAR_DATABASE_URL``; settings come from the shared ``TEMPLAR_HOME``. Output
is one ``@@ready {json}`` line when set up and one ``@@result {json}`` line at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def say(tag: str, data: dict) -> None:
    sys.stdout.write(f"{tag} {json.dumps(data, default=str)}\n")
    sys.stdout.flush()


def wait_go() -> None:
    line = sys.stdin.readline()
    if line.strip() != "go":
        raise SystemExit(f"expected 'go' on stdin, got {line!r}")


def do_migrate(args: argparse.Namespace) -> None:
    from engine.store.db import Store

    store = Store.open(os.environ["TEMPLAR_DATABASE_URL"], migrate=False)
    say("@@ready", {"pid": os.getpid()})
    wait_go()
    applied = store.migrate()
    status = store.schema_status()
    store.close()
    say(
        "@@result", {"pid": os.getpid(), "applied": applied, "version": status.version, "pending": list(status.pending)}
    )


def worst_case(engine, task: str, project: str, max_tokens: int) -> tuple[int, int]:
    """(prompt tokens, worst-case micro-dollars) exactly as the chain computes them."""
    from engine.llm import adapter
    from engine.llm.pricing import price_for
    from engine.pipeline import build_messages
    from engine.text import clean_task

    settings = engine.config(project, "default").settings
    provider = settings.providers[settings.chain.order[0]]
    prompt_tokens = adapter.count_tokens(provider.model, build_messages(settings, clean_task(task)))
    price = price_for(provider.model, settings)
    assert price is not None
    return prompt_tokens, price.cost(prompt_tokens, max_tokens)


async def run_calls(engine, args: argparse.Namespace) -> dict:
    from engine.errors import BudgetRefused

    tasks = [args.task if args.same_task else f"{args.task} #{i}" for i in range(args.calls)]
    results = await asyncio.gather(
        *[
            engine.generate(
                t, project=args.project, max_tokens=args.max_tokens, use_cache=args.use_cache, confirmed=True
            )
            for t in tasks
        ],
        return_exceptions=True,
    )
    await engine.settle_learning()  # learning runs after each answer: done before the result is reported
    out = {"paid": 0, "refused": 0, "errors": [], "sources": {}, "valid": 0, "cost_micros": 0}
    for r in results:
        if isinstance(r, BudgetRefused):
            out["refused"] += 1
        elif isinstance(r, BaseException):
            out["errors"].append(f"{type(r).__name__}: {r}")
        else:
            out["sources"][r.source] = out["sources"].get(r.source, 0) + 1
            out["paid"] += r.source == "llm"
            out["cost_micros"] += r.cost_micros
            out["valid"] += bool(r.extra.get("validation", {}).get("ok", r.source != "llm"))
    return out


def do_generate(args: argparse.Namespace) -> None:
    from engine.llm import adapter
    from engine.service import Engine

    engine = Engine.from_settings()
    ready = {"pid": os.getpid(), "owner": engine.book.owner}
    if args.warm:
        adapter.litellm()  # pay the import before the barrier, not inside the measured race
        ready["prompt_tokens"], ready["worst_micros"] = worst_case(
            engine, args.task if args.same_task else f"{args.task} #0", args.project, args.max_tokens
        )
    say("@@ready", ready)
    if not args.no_wait:
        wait_go()
    out = asyncio.run(run_calls(engine, args))
    engine.close()
    say("@@result", {**ready, **out})


def do_reconcile(args: argparse.Namespace) -> None:
    from engine.service import Engine

    engine = Engine.from_settings()  # reconciles what dead processes left behind
    say("@@ready", {"pid": os.getpid(), "owner": engine.book.owner})
    held = engine.store.call(engine.book.held_count)
    engine.close()
    say("@@result", {"pid": os.getpid(), "held_after": held})


def do_stats(args: argparse.Namespace) -> None:
    from engine.service import Engine
    from engine.stats import compute_stats

    engine = Engine.from_settings(reconcile=False)
    say("@@ready", {"pid": os.getpid()})
    total = engine.store.call(compute_stats, None, None)["total"]
    by_project = engine.store.call(compute_stats, None, "project")["groups"]
    engine.close()
    say("@@result", {"pid": os.getpid(), "total": total, "by_project": by_project})


def do_serve(args: argparse.Namespace) -> None:
    from engine.service import Engine

    engine = Engine.from_settings()
    say("@@ready", {"pid": os.getpid(), "owner": engine.book.owner})

    async def loop() -> int:
        served = 0
        while line := await asyncio.to_thread(sys.stdin.readline):
            if line.strip() == "quit":
                break
            ask = json.loads(line)
            try:
                r = await engine.generate(ask["task"], project=ask.get("project"), confirmed=True)
                say("@@answer", {"source": r.source, "cost_micros": r.cost_micros, "code": r.code, "error": None})
            except Exception as exc:  # noqa: BLE001 - reported to the test
                say("@@answer", {"source": None, "error": f"{type(exc).__name__}: {exc}"})
            served += 1
        return served

    served = asyncio.run(loop())
    engine.close()
    say("@@result", {"pid": os.getpid(), "served": served})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("migrate", "generate", "reconcile", "stats", "serve"))
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--task", default="team probe")
    parser.add_argument("--same-task", action="store_true", help="every call asks the same task")
    parser.add_argument("--project", default="default")
    parser.add_argument("--max-tokens", type=int, default=100)
    parser.add_argument("--use-cache", action="store_true")
    parser.add_argument("--warm", action="store_true", help="import litellm and report the worst case first")
    parser.add_argument("--no-wait", action="store_true", help="start at once, no 'go' barrier")
    args = parser.parse_args()
    {"migrate": do_migrate, "generate": do_generate, "reconcile": do_reconcile, "stats": do_stats, "serve": do_serve}[
        args.mode
    ](args)


if __name__ == "__main__":
    main()
