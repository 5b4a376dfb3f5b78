"""TemplateIndex: most specific match, ties, defaults, add/remove, scale behaviour."""

from __future__ import annotations

import random

import pytest

from engine.templates import ParamSpec, TemplateIndex, TemplateSpec


def spec(name: str, *patterns: str, params: tuple[ParamSpec, ...] = (), body: str = "x = 1\n") -> TemplateSpec:
    return TemplateSpec(name=name, description=name, patterns=patterns, body=body, params=params)


ITEMS = ParamSpec("items", "identifier")
ORDER = ParamSpec("order", "choice(ascending|descending)")
ASC = spec("sort_asc", "sort {items} ascending", params=(ITEMS,), body="{{ items }}.sort()\n")
DESC = spec("sort_desc", "sort {items} descending", params=(ITEMS,), body="{{ items }}.sort(reverse=True)\n")
ANY = spec("sort_any", "sort {items} {order}", params=(ITEMS, ORDER))


def test_direction_is_never_confused() -> None:
    index = TemplateIndex([ASC, DESC])
    assert index.match("sort numbers ascending").template.name == "sort_asc"
    assert index.match("sort numbers descending").template.name == "sort_desc"
    assert index.match("sort numbers descending").render() == "numbers.sort(reverse=True)\n"
    only_asc = TemplateIndex([ASC])
    assert only_asc.match("sort numbers descending") is None
    assert only_asc.match("sort numbers not ascending") is None
    assert only_asc.match("sort numbers ascending, then reverse") is None


def test_most_specific_of_overlapping_patterns_wins() -> None:
    index = TemplateIndex([ANY, ASC])
    m = index.match("sort numbers ascending")
    assert m.template.name == "sort_asc" and m.specificity == 2
    m = index.match("sort numbers descending")
    assert m.template.name == "sort_any" and m.bindings == {"items": "numbers", "order": "descending"}
    assert [x.template.name for x in index.match_all("sort numbers ascending")] == ["sort_asc", "sort_any"]


def test_optional_words_count_toward_specificity() -> None:
    general = spec("general", "report [weekly] {name:identifier}", params=(ParamSpec("name", "identifier"),))
    weekly = spec("weekly", "weekly report {name:identifier}", params=(ParamSpec("name", "identifier"),))
    index = TemplateIndex([general, weekly])
    assert index.match("report sales").template.name == "general"
    assert index.match("weekly report sales").template.name == "weekly"


def test_slot_type_strictness_breaks_literal_ties() -> None:
    loose = spec("loose", "level {x:word}", params=(ParamSpec("x", "word"),))
    strict = spec("strict", "level {x:choice(debug|info)}", params=(ParamSpec("x", "choice(debug|info)"),))
    index = TemplateIndex([loose, strict])
    assert index.match("level debug").template.name == "strict"
    assert index.match("level trace").template.name == "loose"


def test_exact_tie_between_templates_is_ambiguous() -> None:
    a = spec("a", "sort {items} ascending", params=(ITEMS,))
    b = spec("b", "ascending sort of {items}", params=(ITEMS,))
    c = spec("c", "sort {items} ascending", params=(ITEMS,), body="other\n")
    index = TemplateIndex([a, b, c])
    assert index.match("sort xs ascending") is None
    assert {m.template.name for m in index.match_all("sort xs ascending")} == {"a", "c"}
    assert index.match("ascending sort of xs").template.name == "b"


def test_defaults_and_explanation() -> None:
    timer = spec(
        "timer",
        "timer context manager",
        "timer context manager named {name}",
        params=(ParamSpec("name", "identifier", default="timer"),),
        body="def {{ name }}() -> None:\n    pass\n",
    )
    index = TemplateIndex([timer])
    m = index.match("timer context manager")
    assert m.bindings == {"name": "timer"}
    assert "template 'timer' v1" in m.explanation and "defaults for name" in m.explanation
    assert index.match("timer context manager named clock").bindings == {"name": "clock"}


def test_add_replace_remove() -> None:
    index = TemplateIndex([ASC])
    assert len(index) == 1 and "sort_asc" in index
    index.add(spec("sort_asc", "order {items} ascending", params=(ITEMS,)))
    assert len(index) == 1 and index.pattern_count == 1
    assert index.match("sort xs ascending") is None
    assert index.match("order xs ascending") is not None
    assert index.remove("sort_asc") is True and index.remove("sort_asc") is False
    assert index.match("order xs ascending") is None and len(index) == 0


def test_spec_consistency_is_enforced() -> None:
    from engine.templates import SpecError

    with pytest.raises(SpecError):
        spec("bad", "sort {items} ascending")  # slot without a param
    with pytest.raises(SpecError):
        spec("bad", "sort ascending", params=(ITEMS,))  # required param not bound
    with pytest.raises(SpecError):
        spec("bad", "sort {items:word} ascending", params=(ITEMS,))  # type mismatch
    with pytest.raises(SpecError):
        spec("Bad Name", "sort", params=())
    with pytest.raises(SpecError):
        spec("bad", "x {n}", params=(ParamSpec("n", "integer(1..5)", default=9),))


def _synthetic(n: int, seed: int = 7) -> list[TemplateSpec]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    common = ["function", "class", "with", "for", "that", "returns", "from"]
    specs = []
    for i in range(n):
        words = rng.sample(vocab, 3) + rng.sample(common, 2)
        rng.shuffle(words)
        text = " ".join(words[:2]) + " {name} " + " ".join(words[2:])
        specs.append(spec(f"t{i}", text, params=(ParamSpec("name", "identifier"),), body=f"# {i}\n"))
    return specs


def test_many_templates_incremental_and_bulk_agree() -> None:
    specs = _synthetic(3000)
    bulk = TemplateIndex(specs)
    incremental = TemplateIndex()
    for s in specs:
        incremental.add(s)
    rng = random.Random(1)
    for s in rng.sample(specs, 200):
        words = s.patterns[0].text.replace("{name}", "Thing")
        expected = {m.template.name for m in bulk.match_all(words)}
        assert s.name in expected
        assert {m.template.name for m in incremental.match_all(words)} == expected
    assert bulk.match("w1 w2 w3 unrelated words") is None
