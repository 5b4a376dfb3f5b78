"""Recall: the same task in other words must reach the same template, and never a wrong one.

    .venv/bin/python bench/recall.py            # both parts, ~1 min
    .venv/bin/python bench/recall.py --json     # machine-readable figures

Data (bench/recall/):
* ``families.json``: learned families outside the built-in pack. Each has a teaching task with
  its paid code and the parameterisation suggestion a model would reply (as in the hold-out,
  bench/holdout/README.md), ``wordings`` (same meaning, other styles: terse, chatty,
  imperative, question, with and without a name; ``contains`` = strings the served code must
  hold) and ``near_misses`` (another meaning: never to be served).
* ``builtin.json``: realistic wordings of every built-in template, with ``contains``.
* ``zeroslot.json``: families whose teaching task holds no value to parameterise (issue 13
  item 2): the engine learns them without a suggestion call, by the task's canonical wording;
  their figures are reported apart from the learned families'.

How it runs: the hold-out's machinery (bench/holdout.py): the real engine over the loopback
fake provider, a system budget, every family taught once (paid answer, then its suggestion
accepted through the review path as a person would), then every wording and near miss asked.
The built-in part runs on a fresh engine with no learned templates.

Tiers of a served answer: ``exact`` (the template's pattern takes the task word for word,
fillers aside), ``canonical`` (only after canonical wording: the match explanation says so),
``alias`` (an alias pattern), ``routed`` (a router model said yes). A served answer without the
``contains`` strings, a near miss served, or a built-in wording served by another template is
WRONG.

Cost: every answer's ``cost_micros``, learning included. A "10-task family" (the issue's figure:
"a 10-task family saves 82 %" was one paid answer, one suggestion call and 8 free answers) is
the teaching task plus 9 tasks of the same family with other values (another function name
with a neutral prefix, other numbers), asked in the teaching wording; its cost is compared
with 10 paid calls at the teaching call's generation price. A harder figure is also printed:
the teaching task plus the family's first 9 *wordings* (paraphrases), where a wording missed
on first sight costs a full paid call.
Exit status 1 when a wrong answer was served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C
import holdout as H

HERE = Path(__file__).resolve().parent / "recall"
TIERS = ("exact", "canonical", "alias", "routed")
GOALS = {
    "paraphrase_recall": 0.6,  # without routing, 0 wrong
    "paraphrase_recall_routed": 0.85,  # with routing
    "builtin_recall": 0.8,
    "family_cost_share": 0.12,  # a 10-task family vs 10 paid calls
}


@dataclass
class Answer:
    part: str  # learned | builtin
    family: str
    task: str
    kind: str  # wording | near_miss
    source: str
    tier: str  # exact | canonical | alias | routed | "" (not served)
    verdict: str  # recalled | missed | refused | wrong
    cost: int
    why: str = ""  # for a wording not served with routing on: the router's last refusal


@dataclass
class Figures:
    answers: list[Answer] = field(default_factory=list)
    not_learned: dict[str, str] = field(default_factory=dict)
    family_cost: dict[str, float] = field(default_factory=dict)  # teaching + 9 wordings
    value_family_cost: dict[str, float] = field(default_factory=dict)  # teaching + 9 new values
    value_family_served: int = 0
    value_family_asked: int = 0
    teach_cost: int = 0
    routing: dict[str, Any] = field(default_factory=dict)
    aliases_proposed: Counter[str] = field(default_factory=Counter)

    def of(self, part: str, kind: str) -> list[Answer]:
        return [a for a in self.answers if a.part == part and a.kind == kind]

    def summary(self) -> dict[str, Any]:
        words = self.of("learned", "wording")
        tiers = Counter(a.tier for a in words if a.verdict == "recalled")
        built = self.of("builtin", "wording")
        answered = [a for a in self.answers if a.part == "learned"]
        costs = list(self.family_cost.values())
        again = self.of("learned2", "wording")
        tiers2 = Counter(a.tier for a in again if a.verdict == "recalled")
        return {
            "families": len({a.family for a in words}),
            "not_learned": dict(self.not_learned),
            "paraphrases": len(words),
            "paraphrase_recalled": sum(a.verdict == "recalled" for a in words),
            "paraphrase_recall": _ratio(sum(a.verdict == "recalled" for a in words), len(words)),
            "by_tier": {t: tiers.get(t, 0) for t in TIERS},
            "near_misses": len(self.of("learned", "near_miss")),
            "aliases_proposed": dict(self.aliases_proposed),
            "second_round_recalled": sum(a.verdict == "recalled" for a in again),
            "second_round_recall": _ratio(sum(a.verdict == "recalled" for a in again), len(again)),
            "second_round_by_tier": {t: tiers2.get(t, 0) for t in TIERS},
            "second_round_near_misses_served": sum(a.verdict == "wrong" for a in self.of("learned2", "near_miss")),
            "zeroslot_wordings": len(self.of("zeroslot", "wording")),
            "zeroslot_recalled": sum(a.verdict == "recalled" for a in self.of("zeroslot", "wording")),
            "zeroslot_near_misses": len(self.of("zeroslot", "near_miss")),
            "builtin_wordings": len(built),
            "builtin_recalled": sum(a.verdict == "recalled" for a in built),
            "builtin_recall": _ratio(sum(a.verdict == "recalled" for a in built), len(built)),
            "builtin_by_template": _per_family(built),
            "wrong": sum(a.verdict == "wrong" for a in self.answers),
            "cost_per_answer_usd": (self.teach_cost + sum(a.cost for a in answered))
            / 1e6
            / max(1, len(answered) + len(self.family_cost)),
            "family_cost_share_mean": sum(costs) / len(costs) if costs else 0.0,
            "family_cost_share_max": max(costs) if costs else 0.0,
            "value_family_cost_share_mean": (
                sum(self.value_family_cost.values()) / len(self.value_family_cost) if self.value_family_cost else 0.0
            ),
            "value_family_cost_share_max": max(self.value_family_cost.values(), default=0.0),
            "value_family_served": self.value_family_served,
            "value_family_asked": self.value_family_asked,
        }


def _ratio(a: int, b: int) -> float:
    return round(a / b, 3) if b else 0.0


def _per_family(answers: list[Answer]) -> dict[str, str]:
    out: dict[str, list[int]] = {}
    for a in answers:
        c = out.setdefault(a.family, [0, 0])
        c[0] += a.verdict == "recalled"
        c[1] += 1
    return {k: f"{v[0]}/{v[1]}" for k, v in sorted(out.items())}


def load(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path.name}: the top level must be a list")
    return data


def families_for_holdout(data: list[dict[str, Any]]) -> list[H.Family]:
    """The hold-out's Family objects (its fake model and teaching path are reused as they are)."""
    out = []
    for item in data:
        teach = item["teach"]
        fam = H.Family(item["family"], "recall", teach["task"].strip(), teach["code"], teach["suggestion"])
        fam.probes += [H.Probe(w["task"].strip(), "serve", contains=tuple(w["contains"])) for w in item["wordings"]]
        fam.probes += [H.Probe(n["task"].strip(), n["class"], n.get("why", "")) for n in item["near_misses"]]
        out.append(fam)
    return out


def tier_of(result: Any, engine: Any = None) -> str:
    if result.source == "routed":
        return "routed"
    extra = result.extra
    if (
        engine is not None
        and result.source == "learned"
        and engine.library.alias_id(f"learned-{extra.get('template_id')}", str(extra.get("pattern", ""))) is not None
    ):
        return "alias"
    explanation = str(extra.get("explanation", ""))
    return "canonical" if "[canonical]" in explanation else "exact"


_DEF = re.compile(r"^(?:def|class) ([A-Za-z_]\w*)", re.MULTILINE)


class RecallLLM(H.HoldoutLLM):
    """The hold-out's fake LLM, and a wording of a family is answered as a model would: the
    family's code, under the name the wording asks for (``contains``: "def prime_check")."""

    def __init__(self, families: list[H.Family]) -> None:
        super().__init__(families)
        self.wording_code: dict[str, str] = {}
        for f in families:
            taught = _DEF.search(f.code)
            for p in f.probes:
                if p.kind != "serve" or taught is None:
                    continue
                asked = next((m.group(1) for c in p.contains if (m := _DEF.match(c))), taught.group(1))
                code = re.sub(rf"\b{re.escape(taught.group(1))}\b", asked, f.code)
                # and the numbers the wording asks for (in the order of the family's integer slots)
                taught_ints = [
                    x["value"] for x in f.suggestion.get("params", []) if str(x["type"]).startswith("integer")
                ]
                asked_ints = [int(c) for c in p.contains if re.fullmatch(r"-?\d+", c)]
                if len(asked_ints) == len(taught_ints):
                    marks = {str(t): f"\x00{i}\x00" for i, t in enumerate(taught_ints)}
                    code = re.sub(
                        r"(?<![\w.])-?\d+(?![\w.])", lambda m, marks=marks: marks.get(m.group(0), m.group(0)), code
                    )
                    for i, value in enumerate(asked_ints):
                        code = code.replace(f"\x00{i}\x00", str(value))
                self.wording_code[p.task] = code

    def __call__(self, request: Any) -> Any:
        from tests.fakes import Reply

        messages = request.messages()
        system = messages[0][1] if messages and messages[0][0] == "system" else ""
        first_user = next((text for role, text in messages if role == "user"), "")
        m = H._TASK_RE.search(first_user)
        task = m.group(1).strip() if m else ""
        if "code template answers" in system:  # the router: always yes, so only the guards decide
            self.calls["route"] += 1
            return Reply(text="yes")
        if task in self.wording_code and "reusable template" not in system and "review code" not in system:
            self.calls["code"] += 1
            return Reply(text=f"Here is the code.\n\n```python\n{self.wording_code[task].rstrip()}\n```\n")
        return super().__call__(request)


async def _engine(llm: Any, learning: str = "") -> tuple[Any, Any]:
    from engine.paths import Paths
    from engine.service import Engine
    from tests.fakes import FakeProviderServer, provider_server

    provider_server._Handler.disable_nagle_algorithm = True
    server = FakeProviderServer(hang_limit=5, responder=llm).start()
    paths = Paths.from_env().ensure()
    paths.user_settings.write_text(H.settings_text(server) + learning, encoding="utf-8")
    return Engine.from_settings(paths), server


#: Routing on, with a per-call cap the fake's prices meet (the router is the always-yes fake).
ROUTING = "route_paraphrases = true\nroute_min_similarity = 0.3\nroute_max_usd = 0.001\n"


_LAST_REFUSALS: list[str] = []


async def _ask(engine: Any, task: str, project: str, *, use_cache: bool = True) -> tuple[str, str, int, Any]:
    from engine.errors import TemplarError
    from engine.events import LookupResult

    before = _ledger_suggest(engine)
    refusals: list[str] = []

    def record(event: Any) -> None:
        if isinstance(event, LookupResult) and event.source == "routed" and not event.hit:
            refusals.append(event.detail)

    try:
        result = await engine.generate(task, project=project, use_cache=use_cache, emit=record)
    except TemplarError as exc:
        return f"error:{type(exc).__name__}", "", 0, None
    _LAST_REFUSALS[:] = refusals
    await engine.settle_learning()  # learning runs after the answer; its cost is the answer's too here
    return result.source, result.code, result.cost_micros + _ledger_suggest(engine) - before, result


def judge(
    engine: Any,
    family: str,
    probe: Any,
    source: str,
    code: str,
    cost: int,
    result: Any,
    zero_names: set[str],
    *,
    round_: int,
) -> Answer:
    """One asked wording or near miss, judged: recalled (served with the expected strings),
    wrong (a near miss served, a wording served without them, or a learned family served by
    the built-in pack), missed or refused (not served)."""
    wording = probe.kind == "serve"
    if source not in ("learned", "routed"):
        verdict, tier = ("missed" if wording else "refused"), ""
    else:
        ok = wording and all(s in code for s in probe.contains)
        verdict, tier = ("recalled" if ok else "wrong"), tier_of(result, engine)
    if source == "builtin" and not wording:
        verdict = "wrong"  # a near miss of a learned family served by the pack
    part = ("zeroslot" if family in zero_names else "learned") + ("" if round_ == 1 else "2")
    why = "; ".join(_LAST_REFUSALS) if verdict == "missed" else ""
    return Answer(part, family, probe.task, "wording" if wording else "near_miss", source, tier, verdict, cost, why)


async def run_learned(
    data: list[dict[str, Any]], figures: Figures, zero: list[dict[str, Any]] = (), learning: str = ""
) -> None:
    zero_names = {item["family"] for item in zero}
    families = families_for_holdout([*data, *zero])
    llm = RecallLLM(families)
    engine, server = await _engine(llm, learning)
    report = H.Report()
    try:
        gen_cost: dict[str, int] = {}
        teach_cost: dict[str, int] = {}
        for family in families:
            before = _ledger_suggest(engine)
            _source, _code, cost, _ = await _ask(engine, family.task, "recall-teach")
            H.accept_pending(engine, family, report)
            figures.teach_cost += cost
            teach_cost[family.name] = cost  # generation + suggestion (+ review) of the teaching task
            gen_cost[family.name] = max(1, cost - (_ledger_suggest(engine) - before))
            if not report.learned.get(family.name):
                figures.not_learned[family.name] = report.not_learned_reason.get(family.name, "")
        for family in families:
            if family.name not in zero_names and report.learned.get(family.name):
                await _value_family(engine, family, figures, teach_cost[family.name], gen_cost[family.name])
        for family in families:
            wording_costs: list[int] = []
            for probe in family.probes:
                source, code, cost, result = await _ask(engine, probe.task, "recall-probe")
                wording = probe.kind == "serve"
                answer = judge(engine, family.name, probe, source, code, cost, result, zero_names, round_=1)
                figures.answers.append(answer)
                if wording:
                    wording_costs.append(cost)
                if source == "llm" and result is not None:
                    figures.aliases_proposed[probe.kind] += _accept_alias(engine, result, accept=wording)
            share = (teach_cost[family.name] + sum(wording_costs[:9])) / (10 * gen_cost[family.name])
            if family.name not in zero_names:
                figures.family_cost[family.name] = round(share, 4)
        # the second round: the same wordings after their aliases were reviewed (accepted)
        for family in families:
            for probe in family.probes:
                # the cache would answer these exact repeats: the library is what is measured here
                source, code, cost, result = await _ask(engine, probe.task, "recall-probe-2", use_cache=False)
                figures.answers.append(
                    judge(engine, family.name, probe, source, code, cost, result, zero_names, round_=2)
                )
    finally:
        engine.close()
        server.stop()


#: Prefixes that give another function name without another meaning (none is a vocabulary word).
_NAME_PREFIXES = ("my", "app", "core", "util", "team", "lib", "shared", "acme_v2", "helper")


def value_tasks(family: H.Family, count: int = 9) -> list[tuple[str, list[str]]]:
    """``count`` tasks of ``family`` in its teaching wording with other values: each slot of the
    learned pattern gets a new value (a prefixed name, a shifted number), with the strings the
    served code must then hold."""
    from engine.templates.meaning import value_words, vocabulary

    assert not any(value_words(p) & set(vocabulary().words) for p in _NAME_PREFIXES), "a prefix with meaning"
    suggestion = family.suggestion
    params = {p["name"]: p for p in suggestion.get("params", [])}
    out: list[tuple[str, list[str]]] = []
    for k in range(count):
        expect: list[str] = []

        def fill(m: re.Match[str], k: int = k, expect: list[str] = expect) -> str:
            param = params[m.group(1)]
            value = param["value"]
            if str(param["type"]).startswith("identifier"):
                prefix = _NAME_PREFIXES[k % len(_NAME_PREFIXES)]
                new = f"{prefix.title().replace('_', '')}{value}" if value[:1].isupper() else f"{prefix}_{value}"
                expect.append(new)
                return new
            if str(param["type"]).startswith("integer"):
                new_int = int(value) + (k + 1) * (1 if int(value) > 0 else -1)
                expect.append(str(new_int))
                return str(new_int)
            return str(value)

        out.append((re.sub(r"\{(\w+)(?::[^}]*)?\}", fill, suggestion["pattern"]), expect))
    return out


async def _value_family(engine: Any, family: H.Family, figures: Figures, teach: int, gen: int) -> None:
    """The issue's 10-task family: the teaching task, then 9 tasks with other values."""
    costs: list[int] = []
    for task, expect in value_tasks(family):
        source, code, cost, _result = await _ask(engine, task, "recall-values")
        figures.value_family_asked += 1
        served = source in ("learned", "routed")
        if served and all(e in code for e in expect):
            figures.value_family_served += 1
        elif served:
            figures.answers.append(Answer("values", family.name, task, "wording", source, "", "wrong", cost))
        costs.append(cost)
    figures.value_family_cost[family.name] = round((teach + sum(costs)) / (10 * gen), 4)


def _accept_alias(engine: Any, result: Any, *, accept: bool) -> int:
    """1 if the paid answer's suggestion is an alias ("same as template N"); a reviewer accepts
    it for a wording of the family (``accept``), never for a near miss (counted, left pending)."""
    sid = result.extra.get("suggestion_id")
    if sid is None:
        return 0
    s = engine.store.call(engine.library.suggestion, sid)
    if s.alias_of is None:
        return 0
    if accept:
        engine.store.call(engine.library.accept, sid)
    return 1


def _ledger_suggest(engine: Any) -> int:
    from engine.store.models import LedgerEntry

    return engine.store.call(
        lambda: sum(r.cost_micros for r in LedgerEntry.select().where(LedgerEntry.source == "suggest"))
    )


async def run_builtin(data: list[dict[str, Any]], figures: Figures) -> None:
    llm = H.HoldoutLLM([])
    engine, server = await _engine(llm)
    try:
        for item in data:
            for w in item["wordings"]:
                source, code, cost, result = await _ask(engine, w["task"].strip(), "recall-builtin")
                if source != "builtin":
                    verdict, tier = "missed", ""
                else:
                    right = result.extra.get("template_id") == item["template"]
                    ok = right and all(s in code for s in w["contains"])
                    verdict, tier = ("recalled" if ok else "wrong"), tier_of(result)
                figures.answers.append(
                    Answer("builtin", item["template"], w["task"], "wording", source, tier, verdict, cost)
                )
    finally:
        engine.close()
        server.stop()


def print_figures(figures: Figures) -> None:
    s = figures.summary()
    print(
        f"Recall bench: {s['families']} learned families, {s['paraphrases']} wordings, {s['near_misses']} near misses; "
        f"{s['builtin_wordings']} built-in wordings"
    )
    for name, why in s["not_learned"].items():
        print(f"  not learned: {name}: {why}")
    print(
        f"  learned wordings recalled: {s['paraphrase_recalled']}/{s['paraphrases']} = {s['paraphrase_recall']:.3f}"
        f"   (goal >= {GOALS['paraphrase_recall']} with 0 wrong, without routing; >= {GOALS['paraphrase_recall_routed']} with routing)"
    )
    print("    by tier: " + ", ".join(f"{t} {n}" for t, n in s["by_tier"].items()))
    print(
        f"  aliases proposed after a paid answer: {s['aliases_proposed']} (serve = wordings, accepted as a "
        "reviewer would; other kinds = near misses, left pending)"
    )
    print(
        f"  second round (same wordings, aliases accepted): {s['second_round_recalled']}/{s['paraphrases']} = "
        f"{s['second_round_recall']:.3f}; by tier: "
        + ", ".join(f"{t} {n}" for t, n in s["second_round_by_tier"].items())
    )
    print(
        f"  zero-slot families: wordings recalled {s['zeroslot_recalled']}/{s['zeroslot_wordings']}, "
        f"near misses asked {s['zeroslot_near_misses']}"
    )
    print(
        f"  built-in wordings recalled: {s['builtin_recalled']}/{s['builtin_wordings']} = {s['builtin_recall']:.3f}"
        f"   (goal >= {GOALS['builtin_recall']})"
    )
    print("    " + ", ".join(f"{k} {v}" for k, v in s["builtin_by_template"].items()))
    r = figures.routing
    if r:
        print(
            f"  with routing (router always says yes; only the guards decide): recalled {r['paraphrase_recalled']}/"
            f"{r['paraphrases']} = {r['paraphrase_recall']:.3f} (goal >= {GOALS['paraphrase_recall_routed']}); "
            "by tier: "
            + ", ".join(f"{t} {n}" for t, n in r["by_tier"].items())
            + f"; wrong {r['wrong']}; family cost mean {r['family_cost_share_mean']:.1%}, "
            f"worst {r['family_cost_share_max']:.1%}; second round (aliases accepted) "
            f"{r['second_round_recalled']}/{r['paraphrases']} = {r['second_round_recall']:.3f}"
        )
    print(f"  WRONG ANSWERS SERVED: {s['wrong'] + (r['wrong'] if r else 0)}   (goal 0)")
    for case in r.get("wrong_cases", []) if r else []:
        print(
            f"    WRONG with routing [{case['part']}:{case['family']}] {case['kind']}: {case['task']!r} "
            f"(source {case['source']}, tier {case['tier']})"
        )
    print(f"  cost per answer (learned part, teaching included): ${s['cost_per_answer_usd']:.6f}")
    print(
        f"  10-task family (teaching task + 9 new values) cost / 10 paid calls: "
        f"mean {s['value_family_cost_share_mean']:.1%}, worst {s['value_family_cost_share_max']:.1%}   "
        f"(goal <= {GOALS['family_cost_share']:.0%}); served free {s['value_family_served']}/{s['value_family_asked']}"
    )
    print(
        f"  harder: teaching task + 9 paraphrases, cost / 10 paid calls: mean {s['family_cost_share_mean']:.1%}, "
        f"worst {s['family_cost_share_max']:.1%}"
    )
    for a in figures.answers:
        if a.verdict == "wrong":
            print(f"    WRONG [{a.part}:{a.family}] {a.kind}: {a.task!r} (source {a.source}, tier {a.tier})")


def print_misses(figures: Figures) -> None:
    for a in figures.answers:
        if a.verdict == "missed":
            print(f"    missed [{a.part}:{a.family}] {a.task!r} -> {a.source}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--misses", action="store_true", help="list every wording that was not served")
    parser.add_argument("--no-routing", action="store_true", help="skip the run with routing on")
    args = parser.parse_args(argv)
    try:
        learned, builtin, zero = load(HERE / "families.json"), load(HERE / "builtin.json"), load(HERE / "zeroslot.json")
    except (OSError, ValueError, KeyError) as exc:
        print(f"recall: {exc}", file=sys.stderr)
        return 2
    figures = Figures()
    asyncio.run(run_learned(learned, figures, zero))
    asyncio.run(run_builtin(builtin, figures))
    routed = Figures()
    if not args.no_routing:  # the same run on a fresh home, routing on, the router always saying yes
        home = os.environ["TEMPLAR_HOME"]
        os.environ["TEMPLAR_HOME"] = os.path.join(home, "routing")
        try:
            asyncio.run(run_learned(learned, routed, zero, ROUTING))
        finally:
            os.environ["TEMPLAR_HOME"] = home
        figures.routing = {
            **routed.summary(),
            "wrong_cases": [a.__dict__ for a in routed.answers if a.verdict == "wrong"],
        }
    if args.json:
        print(
            json.dumps(
                {
                    **figures.summary(),
                    "goals": GOALS,
                    "routing": figures.routing,
                    "wrong_cases": [a.__dict__ for a in figures.answers if a.verdict == "wrong"],
                },
                indent=2,
            )
        )
    else:
        print_figures(figures)
        if args.misses:
            print_misses(figures)
            for a in routed.answers:
                if a.verdict == "missed" and a.part in ("learned", "zeroslot"):
                    print(f"    routing missed [{a.part}:{a.family}] {a.task!r}: {a.why or 'no close candidate'}")
    return 1 if figures.summary()["wrong"] or figures.routing.get("wrong") else 0


if __name__ == "__main__":
    C.isolate_environment("templar-bench-recall-")
    sys.exit(main())
