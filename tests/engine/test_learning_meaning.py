"""End to end through the engine: accepting a template learns its meaning constraints, the match
path honours them (a refused match is paid for and offered as similar), and templates stored
before constraints existed still load and match as they did."""

from __future__ import annotations

import json

import pytest

from engine.learning.body import Param, build_body
from tests.fakes import FakeProviderServer, ProviderRequest, Reply

TASK = "class LRUCache that holds at most 100 entries"
CODE = '''"""A least-recently-used cache."""

from collections import OrderedDict
from typing import Any


class LRUCache:
    """Evict the least recently used entry when full."""

    def __init__(self, capacity: int = 100) -> None:
        """Create an empty cache."""
        if capacity < 1:
            raise ValueError("capacity must be at least one")
        self.capacity = capacity
        self._data: OrderedDict[str, Any] = OrderedDict()

    def put(self, key: str, value: Any) -> None:
        """Store a value; evict the oldest entry when over capacity."""
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)
'''
SUGGESTION = {
    "name": "lru_cache",
    "pattern": "class {name:identifier} that holds at most {capacity:integer} entries",
    "params": [
        {"name": "name", "type": "identifier", "value": "LRUCache", "description": "class", "confidence": 0.9},
        {"name": "capacity", "type": "integer", "value": 100, "description": "size", "confidence": 0.9},
    ],
}
FRESH = '"""Fresh."""\n\n\ndef fresh() -> int:\n    """Return one."""\n    return 1\n'


def responder(request: ProviderRequest) -> Reply:
    system = request.messages()[0][1] if request.messages() else ""
    if "reusable template" in system:
        return Reply(text=json.dumps(SUGGESTION), tokens_in=300, tokens_out=80)
    task = request.messages()[-1][1]
    code = CODE if TASK in task else FRESH
    return Reply(text=f"```python\n{code}```", tokens_in=400, tokens_out=60)


@pytest.fixture
def engine(make_engine, fake: FakeProviderServer):
    fake.responder = responder
    return make_engine(
        order='["openai", "gemini"]', learning=True, extra="deterministic = false\n"
    )  # the model's suggestion


async def test_accepted_template_keeps_its_kind_range_and_is_offered_as_similar(engine) -> None:
    result = await engine.generate(TASK)
    await engine.settle_learning()
    sid = result.to_dict()["suggestion_id"]
    view = engine.store.call(engine.library.accept, sid)
    assert [p.type for p in view.params] == ["identifier(fixed=lru+cache)", "integer(1..)"]
    assert "{capacity:integer(1..)}" in view.pattern

    served = await engine.generate("class SessionLRUCache that holds at most 64 entries")
    assert served.source == "learned" and "class SessionLRUCache" in served.code and "64" in served.code
    for near_miss in (
        "class LFUCache that holds at most 100 entries",
        "class ThreadSafeLRUCache that holds at most 100 entries",
        "class LRUCache that holds at most 0 entries",
    ):
        answer = await engine.generate(near_miss)
        assert answer.source == "llm", near_miss
        assert answer.to_dict()["similar"], near_miss


async def test_a_template_stored_before_constraints_loads_and_matches_as_before(engine) -> None:
    params = [Param("name", "identifier", "LRUCache"), Param("capacity", "integer", 100)]
    body, missing = build_body(CODE, params)
    assert missing == []
    engine.store.call(
        engine.library.add_template,
        {
            "name": "old_cache",
            "pattern": SUGGESTION["pattern"],
            "body": body,
            "params": params,
            "version": 1,
        },
    )
    old = await engine.generate("class LFUCache that holds at most 0 entries")
    assert old.source == "learned", "an old plain template keeps its old (unconstrained) behaviour"
