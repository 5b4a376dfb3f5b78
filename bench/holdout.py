"""The near-miss hold-out: learned templates must never serve a task whose meaning differs.

    .venv/bin/python bench/holdout.py                 # every bench/holdout/*.json
    .venv/bin/python bench/holdout.py meaning.json    # one file
    .venv/bin/python bench/holdout.py --json          # machine-readable figures

Data format: bench/holdout/README.md. Each family is taught once through the real engine (a
paid answer over the loopback fake provider, then its parameterisation suggestion accepted
through the review path, as a person would), then probed with tasks that SHOULD be served
(``serve``) and tasks with another meaning (``near_misses``).

Scoring:
* a ``serve`` task answered from a learned template counts as recalled when the code contains
  every string of ``contains``; answered from a template WITHOUT them, it is a WRONG answer;
* a near miss answered from a learned template is a WRONG answer unless the family gives
  ``ok_if`` and the served code satisfies it (contains all of ``contains``, none of
  ``not_contains``);
* answers from the built-in pack are reported (not judged: the hold-out's families are meant
  to be outside the pack);
* a family the engine refuses to learn is "not learned": it costs reuse, never precision.

Exit status: 0 when no wrong answer was served, 1 otherwise, 2 on a data error. Only loopback
traffic; the run is bounded by the data (one teaching call per family, one call per probe).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

HERE = Path(__file__).resolve().parent / "holdout"
CLASSES = ("kind", "modifier", "prose", "range", "relation", "negation", "empty", "notation", "escape")
GENERIC_CODE = (
    '"""Answered fresh by the fake model (not from a template)."""\n\n\n'
    'def fresh_answer() -> str:\n    """Return a marker."""\n    return "fresh"\n'
)
_TASK_RE = re.compile(r"<task>\n(.*?)\n</task>", re.DOTALL)


# -- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    task: str
    kind: str  # "serve" or a near-miss class
    why: str = ""
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    judged_ok_if: bool = False  # a near miss with an ok_if clause


@dataclass
class Family:
    name: str
    file: str
    task: str
    code: str
    suggestion: dict[str, Any]
    probes: list[Probe] = field(default_factory=list)
    expect_not_learned: str = ""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(value)


def load_families(files: list[Path]) -> list[Family]:
    """Read and check the data files; raises ValueError naming the file and family."""
    out: list[Family] = []
    seen: dict[str, str] = {}
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise ValueError(f"{path.name}: the top level must be a list of families")
        for i, item in enumerate(data):
            where = f"{path.name}[{i}]"
            try:
                teach = item["teach"]
                fam = Family(
                    str(item["family"]),
                    path.name,
                    teach["task"].strip(),
                    teach["code"],
                    teach["suggestion"],
                    expect_not_learned=str(item.get("expect_not_learned", "")),
                )
            except (KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{where}: missing or malformed field {exc}") from None
            where = f"{path.name}:{fam.name}"
            for probe in item.get("serve", []):
                fam.probes.append(
                    Probe(probe["task"].strip(), "serve", contains=_strings(probe.get("contains"), where))
                )
            for probe in item.get("near_misses", []):
                cls = probe.get("class")
                if cls not in CLASSES:
                    raise ValueError(f"{where}: near miss {probe.get('task')!r} has unknown class {cls!r}")
                ok_if = probe.get("ok_if") or {}
                fam.probes.append(
                    Probe(
                        probe["task"].strip(),
                        cls,
                        str(probe.get("why", "")),
                        _strings(ok_if.get("contains"), where),
                        _strings(ok_if.get("not_contains"), where),
                        judged_ok_if=bool(ok_if),
                    )
                )
            for task in [fam.task, *(p.task for p in fam.probes)]:
                if task in seen and seen[task] != where:
                    raise ValueError(f"{where}: task {task!r} also appears in {seen[task]}")
                seen[task] = where
            out.append(fam)
    return out


# -- the fake model -----------------------------------------------------------------------------


class HoldoutLLM:
    """Answers the teaching tasks with their code and suggestion, anything else generically."""

    def __init__(self, families: list[Family]) -> None:
        self.by_task = {f.task: f for f in families}
        self.calls: Counter[str] = Counter()

    def __call__(self, request: Any) -> Any:
        from tests.fakes import Reply

        messages = request.messages()
        system = messages[0][1] if messages and messages[0][0] == "system" else ""
        first_user = next((text for role, text in messages if role == "user"), "")
        m = _TASK_RE.search(first_user)
        task = m.group(1).strip() if m else first_user.strip()
        family = self.by_task.get(task)
        if "reusable template" in system:
            self.calls["suggest"] += 1
            if family is None:
                return Reply(text="I cannot parameterize this task.")
            return Reply(text=json.dumps(family.suggestion))
        if "code template answers" in system:  # the paraphrase router (routing on): always yes
            self.calls["route"] += 1
            return Reply(text="yes")
        if "review code" in system:
            self.calls["review"] += 1
            return Reply(text='{"verdict": "approve", "issues": []}')
        self.calls["code"] += 1
        if family is None:
            family = next((f for t, f in self.by_task.items() if t in first_user), None)
        code = GENERIC_CODE if family is None else family.code
        return Reply(text=f"Here is the code.\n\n```python\n{code.rstrip()}\n```\n")


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    family: str
    file: str
    task: str
    kind: str
    source: str
    verdict: str  # recalled | missed | refused | wrong | builtin | ok_if
    why: str = ""


@dataclass
class Report:
    learned: dict[str, bool] = field(default_factory=dict)
    not_learned_reason: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def wrong(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.verdict == "wrong"]

    def counts(self) -> dict[str, Any]:
        serve = [o for o in self.outcomes if o.kind == "serve"]
        near = [o for o in self.outcomes if o.kind != "serve"]
        by_class: dict[str, dict[str, int]] = {}
        for o in near:
            c = by_class.setdefault(o.kind, Counter())
            c["total"] += 1
            c[o.verdict] += 1
        return {
            "families": len(self.learned),
            "learned": sum(self.learned.values()),
            "serve_total": len(serve),
            "serve_recalled": sum(o.verdict == "recalled" for o in serve),
            "near_total": len(near),
            "near_refused": sum(o.verdict == "refused" for o in near),
            "wrong": len(self.wrong),
            "builtin": sum(o.verdict == "builtin" for o in self.outcomes),
            "by_class": {k: dict(v) for k, v in sorted(by_class.items())},
        }


def settings_text(server: Any) -> str:
    """The engine's user settings: providers at the fake server, a huge budget, learning on."""
    from tests.fakes.settings import api_bases

    return C.user_settings_text(
        api_bases(server), order=["gemini", "openai", "anthropic"], learning=True, auto_accept=0
    )


def judge(probe: Probe, source: str, code: str) -> str:
    if source == "builtin":
        return "builtin"
    if source not in ("learned", "routed"):  # routed: a learned template chosen by the router
        return "missed" if probe.kind == "serve" else "refused"
    if probe.kind == "serve":
        return "recalled" if all(s in code for s in probe.contains) else "wrong"
    if probe.judged_ok_if and all(s in code for s in probe.contains) and not any(s in code for s in probe.not_contains):
        return "ok_if"
    return "wrong"


async def teach(engine: Any, family: Family, report: Report) -> None:
    """One paid answer, then accept its pending suggestion as a reviewer would."""

    result = await engine.generate(family.task, project="holdout")
    await engine.settle_learning()  # learning runs after the answer (engine.learning.learner)
    if result.source != "llm":  # another family's template (or the pack) already answers it
        report.learned[family.name] = False
        report.not_learned_reason[family.name] = f"the teaching task was answered from {result.source}"
        return
    accept_pending(engine, family, report)


def accept_pending(engine: Any, family: Family, report: Report) -> None:
    """Accept the family's pending suggestion as a reviewer would, or record why it cannot be."""
    from engine.errors import TemplarError

    pending = [s for s in engine.store.call(engine.library.suggestions, "pending") if s.task.strip() == family.task]
    if not pending:
        report.learned[family.name] = False
        report.not_learned_reason[family.name] = "no pending suggestion after the paid answer"
        return
    try:
        engine.store.call(engine.library.accept, pending[-1].id)
    except TemplarError as exc:
        report.learned[family.name] = False
        report.not_learned_reason[family.name] = str(exc)
        return
    report.learned[family.name] = True


async def run(families: list[Family], learning: str = "") -> Report:
    """``learning``: extra ``[learning]`` settings lines (the routing test turns routing on)."""
    from engine.errors import TemplarError
    from engine.paths import Paths
    from engine.service import Engine
    from tests.fakes import FakeProviderServer, provider_server

    llm = HoldoutLLM(families)
    provider_server._Handler.disable_nagle_algorithm = True
    server = FakeProviderServer(hang_limit=5, responder=llm).start()
    paths = Paths.from_env().ensure()
    paths.user_settings.write_text(settings_text(server) + learning, encoding="utf-8")
    engine = Engine.from_settings(paths)
    report = Report()
    try:
        for family in families:
            await teach(engine, family, report)
        for family in families:
            for probe in family.probes:
                try:
                    result = await engine.generate(probe.task, project="holdout-probe")
                    source, code = result.source, result.code
                except TemplarError as exc:  # e.g. an answer refused by validation: never served
                    source, code = f"error:{type(exc).__name__}", ""
                report.outcomes.append(
                    Outcome(
                        family.name, family.file, probe.task, probe.kind, source, judge(probe, source, code), probe.why
                    )
                )
    finally:
        engine.close()
        server.stop()
    return report


def print_report(report: Report) -> None:
    counts = report.counts()
    print(
        f"Near-miss hold-out: {counts['families']} families, {counts['learned']} learned; "
        f"{counts['near_total']} near misses, {counts['serve_total']} serve probes"
    )
    for name, ok in report.learned.items():
        if not ok:
            print(f"  not learned: {name}: {report.not_learned_reason.get(name, '')}")
    print(f"  serve recall: {counts['serve_recalled']}/{counts['serve_total']}")
    print(
        f"  near misses refused: {counts['near_refused']}/{counts['near_total']} "
        f"(served by the built-in pack, not judged: {counts['builtin']})"
    )
    for cls, c in counts["by_class"].items():
        print(f"    {cls:9} {c.get('total', 0):3} near misses, wrong {c.get('wrong', 0)}")
    print(f"  WRONG ANSWERS SERVED: {counts['wrong']}")
    for o in report.wrong:
        print(f"    [{o.file}:{o.family}] {o.kind}: {o.task!r} ({o.why})")
    missed = [o for o in report.outcomes if o.verdict == "missed"]
    for o in missed[:20]:
        print(f"    missed serve [{o.family}]: {o.task!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="data files in bench/holdout (default: all)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    files = [HERE / f if not Path(f).is_absolute() else Path(f) for f in args.files] or sorted(HERE.glob("*.json"))
    try:
        families = load_families(files)
    except (OSError, ValueError) as exc:
        print(f"holdout: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(run(families))
    if args.json:
        print(json.dumps({**report.counts(), "wrong_cases": [o.__dict__ for o in report.wrong]}, indent=2))
    else:
        print_report(report)
    return 1 if report.wrong else 0


if __name__ == "__main__":
    C.isolate_environment("templar-bench-holdout-")
    sys.exit(main())
