"""A template answer is one database round trip (issue 14: "a hit is one database round trip").

The first render of some code is validated and its report remembered in the booking hop; from
then on the probe serves a non-critical template answer in its own hop: match, render, the
remembered report, the ledger row, the template's use, the alias hit. Whatever is unusual
(wrong-answer feedback, a render or report that fails, a critical request) takes the normal
steps, which book and emit exactly as before.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.events import LookupResult, ValidationDone
from tests.engine.test_aliases import TEACH, answer, teach

BUILTIN = "dataclass Point with fields x: int, y: int"


@pytest.fixture
def engine(make_engine, fake):
    fake.responder = answer
    return make_engine(order='["openai"]', learning=True)


def count_hops(engine: Any, monkeypatch: Any) -> list[str]:
    hops: list[str] = []
    real_run = engine.store.run

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", repr(fn)))
        return await real_run(fn, *args, **kwargs)

    monkeypatch.setattr(engine.store, "run", counting)
    return hops


def ledger(engine: Any, source: str) -> list[tuple[str, str, int]]:
    from engine.store.models import LedgerEntry

    return engine.store.call(
        lambda: [
            (r.request_id, r.outcome, r.saved_micros)
            for r in LedgerEntry.select().where(LedgerEntry.source == source).order_by(LedgerEntry.id)
        ]
    )


async def test_a_builtin_hit_is_one_hop_once_its_render_was_validated(engine, monkeypatch) -> None:
    first = await engine.generate(BUILTIN)
    assert first.source == "builtin"
    hops = count_hops(engine, monkeypatch)
    events: list[Any] = []
    again = await engine.generate(BUILTIN, emit=events.append)
    assert again.source == "builtin" and again.code == first.code
    assert hops == ["_probe"], f"one database hop, not {hops}"
    # the same events as the normal steps: learned missed, validated, served
    lookups = [(e.source, e.hit) for e in events if isinstance(e, LookupResult)]
    assert lookups == [("learned", False), ("builtin", True)]
    assert [e.ok for e in events if isinstance(e, ValidationDone)] == [True]
    assert again.validation is not None and again.validation.ok
    rows = ledger(engine, "builtin")
    assert [r[0] for r in rows] == [first.request_id, again.request_id]
    assert rows[1][1] == "ok" and rows[1][2] == again.saved_micros > 0


async def test_a_learned_hit_is_one_hop_and_counts_its_use(engine, monkeypatch) -> None:
    template = await teach(engine, TEACH)
    task = "function prime_test that checks whether n is prime"
    first = await engine.generate(task)
    assert first.source == "learned"
    hops = count_hops(engine, monkeypatch)
    again = await engine.generate(task)
    assert again.source == "learned" and again.code == first.code and "def prime_test" in again.code
    assert hops == ["_probe"], f"one database hop, not {hops}"
    assert again.to_dict()["template_id"] == template
    view = engine.store.call(engine.library.template, template)
    assert view.uses == 2
    assert [r[0] for r in ledger(engine, "learned")] == [first.request_id, again.request_id]


async def test_new_bindings_are_validated_before_they_are_served(engine, monkeypatch) -> None:
    """Another name renders other code: no report is remembered for it, so it is validated (and
    then remembered) by the normal steps: two hops, then one."""
    await teach(engine, TEACH)
    await engine.generate("function prime_a that checks whether n is prime")
    hops = count_hops(engine, monkeypatch)
    other = await engine.generate("function prime_b that checks whether n is prime")
    assert other.source == "learned" and "def prime_b" in other.code
    assert hops == ["_probe", "book_template_answer"]
    hops.clear()
    await engine.generate("function prime_b that checks whether n is prime")
    assert hops == ["_probe"]


async def test_a_remembered_failing_report_is_not_served_from_the_probe(engine, monkeypatch) -> None:
    """A stored report that fails (written by hand, say): the probe does not serve on it; the
    normal steps validate again and serve only what passes now."""
    import json

    from engine.store.sql import execute

    first = await engine.generate(BUILTIN)
    assert first.source == "builtin"

    def plant() -> int:
        rows = execute("SELECT key, report FROM validation_memo").fetchall()
        for key, report in rows:
            data = json.loads(report)
            data["ok"] = False
            execute("UPDATE validation_memo SET report = ? WHERE key = ?", (json.dumps(data), key))
        return len(rows)

    assert engine.store.call(plant) == 1
    hops = count_hops(engine, monkeypatch)
    again = await engine.generate(BUILTIN)
    assert again.source == "builtin" and again.validation is not None and again.validation.ok
    assert hops == ["_probe", "book_template_answer"], "validated again by the normal steps"


async def test_a_critical_request_never_takes_the_probe_path(make_engine, fake, monkeypatch) -> None:
    from tests.fakes.trust import SAFE, answering

    fake.responder = answering(SAFE)
    engine = make_engine(order='["openai", "gemini"]')
    first = await engine.generate(BUILTIN)
    assert first.source == "builtin" and first.validation is not None
    hops = count_hops(engine, monkeypatch)
    served = await engine.generate(BUILTIN, critical=True)
    assert served.source == "builtin" and served.to_dict()["validation"]["review"]["verdict"] == "approve"
    assert hops[0] == "_probe" and len(hops) > 1, "a critical answer is reviewed before it is served"
