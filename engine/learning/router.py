"""Optional routing for paraphrases (issue 13 item 4): a cheap yes/no question, then guards.

When no pattern matched, one of the closest learned templates (similarity at least
``[learning] route_min_similarity``; the first of the three closest whose bindings and guards
pass, :mod:`engine.learning.routing`) may answer a paraphrase. Off by default
(``route_paraphrases = false``). When on, bindings are read from the task (its names, numbers
and quoted strings, by slot type and in order; a slot the task does not fill keeps the value
the template was learned with) and the cheapest provider is asked one fixed question, capped
at ``route_max_usd`` per call (estimated before the call; no call when above).

A "yes" is never trusted alone. The answer is served only if every deterministic guard holds:

1. the bindings type-check (the template's slot types, ranges and relations);
2. the template's meaning constraints hold for them (:func:`engine.templates.meaning.binding_problem`);
3. the vocabulary's meaning-bearing words (negations, orderings, kinds, formats...) of the task
   are exactly those of the template's wording, its bindings and its code's prose;
4. every other content word of the task occurs in the template's wording, its bindings or its
   code's prose (identifiers, docstrings, comments): a word the code never mentions ("even",
   "perfect square") is a requirement the template may not meet;
5. the words the task shares with the template's wording come in the same order ("celsius to
   fahrenheit" is not "fahrenheit to celsius");
6. the rendered code validates (checked by the pipeline like every template answer).

The answer is recorded as source ``routed`` with the router call's cost; its saving is net of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.learning.literals import _NAME_LIKE
from engine.learning.zeroslot import _CONNECTORS, _KIND_NOUNS
from engine.money import cost_micros, micros_to_usd
from engine.templates import TemplateSpec
from engine.templates.canonical import canonical_word
from engine.templates.meaning import (
    STOPWORDS,
    binding_problem,
    fold,
    meaning_words,
    prose_words,
    split_value,
    value_words,
)
from engine.templates.normalize import NormalizedTask
from engine.templates.pattern import TaskPattern

ROUTER_SYSTEM = "You check whether a code template answers a programming task. Reply with one word: yes or no."
ROUTER_PROMPT = (
    "<task>\n{task}\n</task>\nTemplate: {pattern}\nWith: {bindings}\n"
    "Does the template with these values do exactly what the task asks?"
)
#: Words a paraphrase may add without asking for anything the code lacks (folded on first use).
_NEUTRAL_TEXT = (
    "function func method class code program snippet python write create make build implement define give need "
    "want please can could would you me i we my our some any given tell tells telling check checks checking "
    "determine determines whether if return returns returning compute computes calculate calculates find finds "
    "get gets produce produces take takes accept accepts helper utility simple small quick routine which that so "
    "do does did named called"
)


@lru_cache(maxsize=1)
def neutral() -> frozenset[str]:
    return frozenset(fold(w) for w in _NEUTRAL_TEXT.split())


@dataclass(frozen=True)
class RouteCandidate:
    spec: TemplateSpec
    pattern: TaskPattern
    bindings: dict[str, Any]
    score: float


def task_values(task: str) -> dict[str, list[Any]]:
    """The task's names, numbers and quoted strings, in order, by slot base type."""
    out: dict[str, list[Any]] = {"identifier": [], "integer": [], "number": [], "string": []}
    previous = ""
    for token in NormalizedTask(task).tokens:
        if token.kind == "number":
            if re.fullmatch(r"-?\d+", token.text):
                out["integer"].append(int(token.text))
            out["number"].append(float(token.text))
        elif token.kind == "quoted":
            out["string"].append(token.text[1:-1])
        elif (
            token.kind == "word"
            and token.text.isidentifier()
            and (
                _NAME_LIKE.search(token.text)
                or (previous in _KIND_NOUNS and token.plain not in _CONNECTORS and token.plain not in _KIND_NOUNS)
            )
        ):
            out["identifier"].append(token.text)
        if token.kind == "word" and (not token.skippable or token.plain in ("named", "called")):
            previous = token.plain
    return out


def candidate_bindings(spec: TemplateSpec, task: str, pattern: TaskPattern | None = None) -> dict[str, Any] | None:
    """Bindings for ``spec`` read from the task (learned example values fill the rest).

    A number that ``pattern`` itself states as a literal word ("two integers" reads "2 integers")
    is part of the wording, not a value: it is taken out of the pool once per literal."""
    values = task_values(task)
    if pattern is not None:
        for word in pattern.literal_words:
            if re.fullmatch(r"\d+", word) and int(word) in values["integer"]:
                values["integer"].remove(int(word))
                values["number"].remove(float(word))
    used: dict[str, int] = {}
    bindings: dict[str, Any] = {}
    for param in spec.params:
        base = param.type.split("(", 1)[0].strip()
        pool = values.get(base, [])
        i = used.get(base, 0)
        if i < len(pool):
            bindings[param.name] = pool[i]
            used[base] = i + 1
        elif param.example is not None:
            bindings[param.name] = param.example
        else:
            return None
    if any(used.get(k, 0) < len(v) for k, v in values.items() if k != "number" and v):
        return None  # a value of the task no slot takes: the template would ignore it
    return bindings


_SLOT_TEXT = re.compile(r"\{[^{}]*\}")
#: Words that turn a requirement around: the task and the wording must agree on each of them.
NEGATIONS = frozenset({"not", "no", "without", "never", "non", "except", "excluding", "unless", "neither", "nor"})
#: A notation inside a word ("DD/MM/YYYY", "HH:MM:SS", ".txt", "n-th"): must appear verbatim.
_NOTATION = re.compile(r"(?<![\w.])\.?\w+(?:[-/:.]\w+)+|(?<![\w])\.\w+")


def _raw_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", _SLOT_TEXT.sub(" ", text))}


#: "n-th", "e-mail", "x-axis": a one-letter prefix and a hyphen spell one word ("nth", "email").
_LETTER_HYPHEN = re.compile(r"(?<![\w-])([A-Za-z])-([A-Za-z]+)(?![\w-])")
#: "a sentence's words" reads "words of a sentence" (for the order of the words).
_POSSESSIVE_PHRASE = re.compile(r"\b([A-Za-z]+)['\u2019]s ([A-Za-z]+)\b")


def _spelled(text: str) -> str:
    return _LETTER_HYPHEN.sub(r"\1\2", text)


def _notations(text: str) -> set[str]:
    return {m.group(0).lower() for m in _NOTATION.finditer(_spelled(_SLOT_TEXT.sub(" ", text)))}


_POSSESSIVE = re.compile(r"(?<=\w)['\u2019]s\b")


def _ordered(text: str, canon: bool = True) -> list[str]:
    """Folded content words of ``text`` in order (slot syntax and possessive "'s" removed), in
    their canonical spelling ("ints"/"integers" -> "int", "folder" -> "dir") unless ``canon`` is
    False (the meaning check reads the vocabulary's own spellings)."""
    text = _POSSESSIVE.sub(" ", _POSSESSIVE_PHRASE.sub(r"\2 of \1", _spelled(_SLOT_TEXT.sub(" ", text))))
    words = [fold(w) for w in split_value(text) if fold(w) not in STOPWORDS and not w.isdigit()]
    return [_spelling(w) for w in words] if canon else words


def _spelling(word: str) -> str:
    """The canonical spelling of a folded word; a number word stays a word ("three" is not a value)."""
    c = canonical_word(word)
    return word if c.isdigit() else c


def _canon(words: set[str] | frozenset[str]) -> set[str]:
    return {_spelling(w) for w in words}


def _given(task: str, resolved: Mapping[str, Any]) -> list[str]:
    """The bound names that the task itself gives as names (not a learned name that happens to
    be a word of the task: "flatten a nested list" gives no name; "Stack: a class ..." does)."""
    names = set(task_values(task)["identifier"])
    return [
        v
        for v in resolved.values()
        if isinstance(v, str)
        and (
            v in names or (v.isidentifier() and v != v.lower() and re.search(rf"(?<![\w.]){re.escape(v)}(?!\w)", task))
        )
    ]


#: Stand-ins for a number slot's place in the order check (alphabetic: kept by ``_ordered``).
_NUMBER_MARKS = tuple(f"qqnumslot{chr(ord('a') + i)}" for i in range(26))


def _number_params(spec: TemplateSpec) -> list[str]:
    return [p.name for p in spec.params if p.type.split("(", 1)[0].strip() in ("integer", "number")][:26]


def _marked_pattern(text: str, spec: TemplateSpec) -> str:
    names = _number_params(spec)
    return re.sub(
        r"\{(\w+)[^{}]*\}",
        lambda m: f" {_NUMBER_MARKS[names.index(m.group(1))]} " if m.group(1) in names else " ",
        text,
    )


def _marked_task(task: str, spec: TemplateSpec, resolved: Mapping[str, Any]) -> str:
    for i, name in enumerate(_number_params(spec)):
        value = resolved.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            spelled = {str(value), str(int(value))} if float(value).is_integer() else {str(value)}
            for text in sorted(spelled, key=len, reverse=True):
                task, n = re.subn(rf"(?<![\w.-]){re.escape(text)}(?![\w.])", f" {_NUMBER_MARKS[i]} ", task, count=1)
                if n:
                    break
    return task


def _task_name_words(task: str, resolved: Mapping[str, Any]) -> set[str]:
    """Words of the bound names that the task itself spells (as opposed to learned ones)."""
    out: set[str] = set()
    for value in _given(task, resolved):
        out |= value_words(value)
    return _canon(out)


def _without_signature(task: str, resolved: Mapping[str, Any]) -> str:
    """``task`` without the one-letter parameter list of a bound name it spells as a call
    ("merge_dicts(a, b): merge two dicts"): parameter names, not requirements."""
    for value in _given(task, resolved):
        if value.isidentifier():
            task = re.sub(rf"(?<![\w.]){re.escape(value)}\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])*\s*\)", value, task)
    return task


def _without_names(task: str, resolved: Mapping[str, Any]) -> str:
    """``task`` with the first occurrence of each bound name taken out: a name fills a slot, so
    its words ("function chunk: split a list into chunks") say nothing about the wording's order."""
    for value in _given(task, resolved):
        if value.isidentifier():
            task = re.sub(rf"(?<![\w.]){re.escape(value)}(?![\w])", " ", task, count=1)
    return task


def guard_problem(
    spec: TemplateSpec, pattern: TaskPattern, bindings: Mapping[str, Any], task: str, code: str
) -> str | None:
    """Why a router's "yes" must not be served (see the module docstring), or None."""
    try:
        resolved = spec.resolve(bindings)
    except Exception as exc:  # noqa: BLE001 - BindingError or a coercion failure
        return f"bindings do not type-check: {exc}"
    problem = binding_problem(spec.params, pattern.surface_words, resolved)
    if problem is not None:
        return problem
    bound: set[str] = set()
    for value in resolved.values():
        if isinstance(value, str):
            bound |= value_words(value)
    wording_f, task_f = set(_ordered(pattern.text, canon=False)), set(_ordered(task, canon=False))
    if meaning_words(task_f) - wording_f - bound or meaning_words(wording_f) - task_f - bound:
        return "meaning-bearing words differ"
    bound = _canon(bound)
    wording = set(_ordered(pattern.text))
    known = wording | bound | _canon(set(prose_words(code)))
    if (_raw_words(task) & NEGATIONS) != (_raw_words(pattern.text) & NEGATIONS):
        return "a negation differs"
    if _notations(task) != _notations(pattern.text):
        return "a notation differs"
    # a word of the wording must be in the task's own words, not only in a name the task gives
    # ("capitalize_words ... every letter" does not say "every word")
    prose = _without_names(task, resolved)
    dropped = sorted(wording - set(_ordered(prose)) - (bound - _task_name_words(task, resolved)) - _canon(neutral()))
    if dropped:
        return f"the task leaves out words of the template's wording: {', '.join(dropped[:5])}"
    extra = sorted(set(_ordered(_without_signature(task, resolved))) - known - _canon(neutral()))
    if extra:
        return f"the task asks for words the template never mentions: {', '.join(extra[:5])}"
    # numbers the slots take keep their place among the words ("chunks of 5 items" is not "5 chunks")
    wording_order = set(wording) | set(_NUMBER_MARKS)
    shared = [w for w in _ordered(_marked_task(prose, spec, resolved)) if w in wording_order]
    in_pattern = [w for w in _ordered(_marked_pattern(pattern.text, spec)) if w in set(shared)]
    if _dedupe(shared) != _dedupe(in_pattern):
        return "the shared words come in another order"
    return None


def _dedupe(words: list[str]) -> list[str]:
    seen: set[str] = set()
    return [w for w in words if not (w in seen or seen.add(w))]  # type: ignore[func-returns-value]


def router_messages(task: str, pattern: str, bindings: Mapping[str, Any]) -> list[dict[str, str]]:
    user = (
        ROUTER_PROMPT.replace("{pattern}", pattern)
        .replace("{bindings}", json.dumps(dict(bindings), ensure_ascii=False, default=str))
        .replace("{task}", task)
    )
    return [{"role": "system", "content": ROUTER_SYSTEM}, {"role": "user", "content": user}]


def said_yes(text: str) -> bool:
    return text.strip().lower().lstrip("\"'*` ").startswith("yes")


def estimated_usd(messages: list[dict[str, str]], price: tuple[float, float] | None, out_tokens: int = 3) -> float:
    """A generous estimate of the router call (4 characters per token, rounded up)."""
    if price is None:
        return float("inf")
    chars = sum(len(m["content"]) for m in messages)
    return micros_to_usd(cost_micros(chars // 3 + 8, out_tokens, price[0], price[1]))


__all__ = [
    "ROUTER_SYSTEM",
    "RouteCandidate",
    "candidate_bindings",
    "estimated_usd",
    "guard_problem",
    "router_messages",
    "said_yes",
    "task_values",
]
