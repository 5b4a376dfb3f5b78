"""Aliases, not duplicates (issue 13 item 3): a new wording whose paid answer an existing template
renders becomes a reviewed alias of it; a wording whose own values disagree never does."""

from __future__ import annotations

import pytest

from engine.learning.aliases import captured_bindings, value_conflict
from engine.learning.body import Param
from engine.templates import TemplateSpec
from tests.fakes import FakeProviderServer, ProviderRequest, Reply

TEACH = "function is_prime that checks whether n is prime"
PRIME = '''"""Primality test."""


def {name}(n: int) -> bool:
    """Return True when n is a prime number."""
    if n < 2:
        return False
    k = 2
    while k * k <= n:
        if n % k == 0:
            return False
        k += 1
    return True
'''
CHUNK_TEACH = "function chunk that splits a list into chunks of 5 items"
CHUNK = '''"""Chunking."""


def chunk(items: list[int], size: int = {size}) -> list[list[int]]:
    """Split items into chunks of at most size items."""
    return [items[i : i + size] for i in range(0, len(items), size)]
'''
CODE_FOR = {
    TEACH: PRIME.format(name="is_prime"),
    "function that tells if a number is prime": PRIME.format(name="is_prime"),
    "a function prime_check telling whether n is a prime": PRIME.format(name="prime_check"),
    "function that tells if a number is even": '"""Even."""\n\n\ndef is_even(n: int) -> bool:\n'
    '    """True when even."""\n    return n % 2 == 0\n',
    CHUNK_TEACH: CHUNK.format(size=5),
    "function chunk: split a list into chunks of 6 items": CHUNK.format(size=5),  # the model ignored the 6
}


def answer(request: ProviderRequest) -> Reply:
    text = request.messages()[-1][1]
    task = text.split("<task>\n", 1)[1].split("\n</task>", 1)[0] if "<task>" in text else ""
    return Reply(text=f"```python\n{CODE_FOR[task]}```")


@pytest.fixture
def engine(make_engine, fake: FakeProviderServer):
    fake.responder = answer
    return make_engine(order='["openai"]', learning=True)


async def teach(engine, task: str) -> int:
    result = await engine.generate(task)
    await engine.settle_learning()
    return engine.store.call(engine.library.accept, result.to_dict()["suggestion_id"]).id


async def paid_suggestion(engine, task: str):
    result = await engine.generate(task)
    assert result.source == "llm"
    await engine.settle_learning()
    return engine.store.call(engine.library.suggestion, result.to_dict()["suggestion_id"])


@pytest.mark.parametrize(
    "wording", ["function that tells if a number is prime", "a function prime_check telling whether n is a prime"]
)
async def test_a_wording_with_the_same_code_becomes_a_reviewed_alias(engine, wording: str) -> None:
    template = await teach(engine, TEACH)
    s = await paid_suggestion(engine, wording)
    assert s.alias_of == template and s.status == "pending", s.reason
    assert engine.store.call(engine.library.preview, s).ok
    view = engine.store.call(engine.library.accept, s.id)
    assert view.id == template and [a["pattern"] for a in view.aliases] == [s.pattern]
    assert len(engine.store.call(engine.library.templates)) == 1, "no second template"

    served = await engine.generate(wording, use_cache=False)
    assert served.source == "learned" and served.code == CODE_FOR[wording]
    assert served.to_dict()["template_id"] == template
    [alias] = engine.store.call(engine.library.template, template).aliases
    assert alias["hits"] == 1


async def test_other_code_is_a_new_suggestion_not_an_alias(engine) -> None:
    await teach(engine, TEACH)
    s = await paid_suggestion(engine, "function that tells if a number is even")
    assert s.alias_of is None


async def test_a_wording_whose_value_the_code_ignored_is_never_an_alias(engine) -> None:
    await teach(engine, CHUNK_TEACH)
    s = await paid_suggestion(engine, "function chunk: split a list into chunks of 6 items")
    assert s.alias_of is None


def test_value_conflict_only_for_values_not_for_names() -> None:
    params = [Param("func", "identifier", "chunk"), Param("size", "integer", 5)]
    assert value_conflict("split a list into chunks of 6", "split list into chunk of 6", params)
    assert not value_conflict("split a list into chunks", "split list into chunk", [params[0]])


def test_bindings_are_captured_from_the_body_and_must_render_back() -> None:
    body = 'def {{ func }}():\n    """{{ func | snake }}."""\n    return {{ text | repr }}\n'
    params = [Param("func", "identifier", "x"), Param("text", "string", "y")]
    spec = TemplateSpec.from_dict(
        {
            "name": "t",
            "description": "",
            "patterns": ["f {func:identifier} {text:string}"],
            "body": body,
            "params": [{"name": "func", "type": "identifier"}, {"name": "text", "type": "string"}],
        }
    )
    code = 'def Greet():\n    """greet."""\n    return "hi"\n'
    assert captured_bindings(spec, body, params, code) == {"func": "Greet", "text": "hi"}
    assert captured_bindings(spec, body, params, code.replace('"""greet', '"""other')) is None
    assert captured_bindings(spec, "{% for x in y %}{% endfor %}", params, code) is None
