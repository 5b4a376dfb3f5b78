"""Meaning-bearing words and slot relations: what a match may not change.

Three checks run on every candidate match, after the slots were parsed and type-checked:

* **Words of an identifier.** A value is split into words (snake_case, camelCase, PascalCase,
  digits; ``sha256`` stays one word when the vocabulary knows it), folded to lower case,
  singular and a canonical synonym (``asc`` -> ``ascending``); a prefixed negation of a
  vocabulary word counts as ``not`` plus the word (``unsorted``, ``nonblocking``). An ``identifier`` slot learned
  with ``fixed=w1+w2`` matches only values whose vocabulary words (kinds, algorithms,
  orderings, protocols, formats, modifiers, negations: ``vocabulary.toml``) are exactly
  ``w1, w2`` in this order, apart from words the pattern itself states literally; ``keep=w3`` words (the
  code's prose repeats them) must all be present.
* **Relations.** A number slot learned with ``>=lo`` (or ``>``, ``<=``, ``<``) matches only when
  its value compares so with the value bound to slot ``lo``.
* Ranges are checked earlier, by the slot type itself (``integer(1..)``).

Invariant: the vocabulary is data, loaded once per process, and never changes the outcome of a
slot without ``fixed=``/``keep=``/a relation (built-in and older learned templates match as
before).
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_VOCABULARY_FILE = Path(__file__).with_name("vocabulary.toml")
_SPLIT_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
RELATIONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}
#: Words too common in prose to carry meaning on their own.
STOPWORDS: frozenset[str] = frozenset(
    "a an the of to in on at by for from with and or is are be was it its this that as if then "
    "else return returns when while into onto up out over under one two get set new old use "
    "using value values item items x y n i self cls".split()
)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The curated words (word -> category) and spellings that stand for them."""

    words: Mapping[str, str]
    synonyms: Mapping[str, str]
    phrases: Mapping[tuple[str, ...], str] = field(default_factory=dict)

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` (already folded) is a meaning-bearing word."""
        return word in self.words


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The vocabulary shipped in ``vocabulary.toml`` (read once)."""
    data = tomllib.loads(_VOCABULARY_FILE.read_text(encoding="utf-8"))
    words: dict[str, str] = {}
    for category, members in data["categories"].items():
        for word in members:
            words.setdefault(str(word).lower(), category)
    synonyms = {str(k).lower(): str(v).lower() for k, v in data.get("synonyms", {}).items()}
    phrases = {tuple(str(k).lower().split()): str(v).lower() for k, v in data.get("phrases", {}).items()}
    for canonical in (*synonyms.values(), *phrases.values()):
        words.setdefault(canonical, "synonym")
    return Vocabulary(words, synonyms, phrases)


def fold(word: str) -> str:
    """Lower case, singular, canonical synonym: ``Stacks`` -> ``stack``, ``ASC`` -> ``ascending``."""
    vocab = vocabulary()
    word = word.lower()
    for candidate in (word, _singular(word)):
        if candidate in vocab.synonyms:
            return vocab.synonyms[candidate]
        if candidate in vocab.words:
            return candidate
    return _singular(word)


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def split_value(value: str) -> list[str]:
    """The raw words of an identifier, joining a word with its digits when the vocabulary knows
    the joined form (``sha256``, ``base64``, ``ipv4``)."""
    parts = _SPLIT_RE.findall(value)
    vocab = vocabulary()
    out: list[str] = []
    for part in parts:
        if out and part.isdigit() and (out[-1] + part).lower() in vocab.words:
            out[-1] = out[-1] + part
        else:
            out.append(part)
    return out


_NEGATING_PREFIXES = ("non", "un")  # "in", "dis", "im" start too many plain words (index, dispatch, import)


def fold_all(word: str) -> tuple[str, ...]:
    """:func:`fold`, and a negated vocabulary word split in two: ``unsorted`` -> ``not``, ``sort``."""
    folded = fold(word)
    vocab = vocabulary()
    if folded in vocab.words:
        return (folded,)
    lower = word.lower()
    for prefix in _NEGATING_PREFIXES:
        rest = lower[len(prefix) :].lstrip("-")
        if lower.startswith(prefix) and len(rest) >= 4 and fold(rest) in vocab.words:
            return ("not", fold(rest))
    return (folded,)


def fold_sequence(raw: Iterable[str]) -> list[str]:
    """Each word through :func:`fold_all`, then every run that ``[phrases]`` names replaced by
    its canonical word, longest run first (``greatest common divisor`` -> ``gcd``)."""
    words = [f for w in raw for f in fold_all(w)]
    phrases = vocabulary().phrases
    if not phrases or len(words) < 2:
        return words
    longest = max(len(k) for k in phrases)
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 1, -1):
            canonical = phrases.get(tuple(words[i : i + n]))
            if canonical is not None:
                out.append(canonical)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out


def value_words(value: str) -> frozenset[str]:
    """The folded words of an identifier value (negated words add ``not``; phrases folded)."""
    return frozenset(fold_sequence(split_value(value)))


def meaning_words(words: Iterable[str]) -> frozenset[str]:
    """The folded words that the vocabulary lists."""
    vocab = vocabulary()
    return frozenset(w for w in words if w in vocab)


def prose_words(text: str) -> frozenset[str]:
    """Folded content words of prose (docstrings, comments, messages), without stopwords."""
    return frozenset(f for f in fold_sequence(split_value(text)) if f not in STOPWORDS and not f.isdigit())


def ordered_meaning_words(value: str) -> tuple[str, ...]:
    """The vocabulary words of an identifier value, in order of first appearance."""
    vocab = vocabulary()
    out: list[str] = []
    for word in fold_sequence(split_value(value)):
        if word in vocab and word not in out:
            out.append(word)
    return tuple(out)


def identifier_problem(
    value: str, fixed: tuple[str, ...] | None, keep: frozenset[str], pattern_words: frozenset[str]
) -> str | None:
    """Why ``value`` may not fill a slot learned with ``fixed``/``keep`` (``None``: it may).

    ``fixed`` words must all be there, no other vocabulary word may be (except words the pattern
    states), and they keep their order: ``celsius_to_fahrenheit`` is not ``fahrenheit_to_celsius``.
    """
    words = value_words(value)
    # the stored words in today's spelling: a template learned before a synonym was added
    # (``keep=fib``, ``fixed=lifo+stack``) reads as one learned after it (``fibonacci``, ``stack``).
    # ``keep`` is a set, so it is folded word by word, and a kept word may stand in the value
    # inside a phrase (``keep=remove`` and ``remove_duplicates``, whose phrase reads ``dedupe``)
    keep = frozenset(f for w in keep for f in fold_all(w))
    lost = sorted(keep - words - {f for w in split_value(value) for f in fold_all(w)})
    if lost:
        return f"{value!r} drops {', '.join(lost)} (the template's code is about it)"
    if fixed is None:
        return None
    # a word the pattern states is in every task it matches: the name need not repeat it
    fixed = tuple(dict.fromkeys(w for w in fold_sequence(fixed) if w not in pattern_words))
    lost = sorted(set(fixed) - words)
    if lost:
        return f"{value!r} drops the meaning word(s) {', '.join(lost)}"
    sequence = tuple(w for w in ordered_meaning_words(value) if w not in pattern_words or w in fixed)
    added = sorted(set(sequence) - set(fixed))
    if added:
        return f"{value!r} adds the meaning word(s) {', '.join(added)}"
    if sequence != fixed:
        return f"{value!r} puts the meaning words in another order ({', '.join(sequence)})"
    return None


def relation_problem(
    name: str, value: object, relations: Iterable[tuple[str, str]], bindings: Mapping[str, object]
) -> str | None:
    """Why ``value`` breaks a learned order against another slot (``None``: it does not)."""
    for op, other in relations:
        other_value = bindings.get(other)
        if not isinstance(other_value, (int, float)) or not isinstance(value, (int, float)):
            continue
        if not RELATIONS[op](value, other_value):
            return f"{name}={value!r} must be {op} {other}={other_value!r}"
    return None


def pattern_words(literal_words: Iterable[str]) -> frozenset[str]:
    """The folded literal words of a pattern (words the task states outright). The words come
    as a set (order unknown), so a ``[phrases]`` entry counts when all its words are there."""
    words = {fold(w) for w in literal_words}
    words.update(canonical for phrase, canonical in vocabulary().phrases.items() if words.issuperset(phrase))
    return frozenset(words)


def has_constraints(params: Iterable[object]) -> bool:
    """Whether any parameter carries fixed/keep words or a relation (else no check is needed)."""
    for param in params:
        slot = param.slot  # type: ignore[attr-defined]
        if getattr(slot, "relations", ()) or getattr(slot, "fixed", None) is not None or getattr(slot, "keep", None):
            return True
    return False


def binding_problem(
    params: Iterable[object], literal_words: Iterable[str], bindings: Mapping[str, object]
) -> str | None:
    """Why these bindings may not be served by a template (``None``: they may).

    ``params`` are the template's :class:`~engine.templates.spec.ParamSpec` (anything with
    ``name`` and ``slot``); ``literal_words`` the matched pattern's literal words.
    """
    folded: frozenset[str] | None = None
    for param in params:
        slot = param.slot  # type: ignore[attr-defined]
        name = param.name  # type: ignore[attr-defined]
        value = bindings.get(name)
        if getattr(slot, "relations", ()):
            problem = relation_problem(name, value, slot.relations, bindings)
            if problem:
                return problem
        if isinstance(value, str) and (getattr(slot, "fixed", None) is not None or getattr(slot, "keep", None)):
            if folded is None:
                folded = pattern_words(literal_words)
            problem = identifier_problem(value, slot.fixed, slot.keep, folded)
            if problem:
                return problem
    return None


def describe_constraints(slot: object) -> str:
    """What a slot's learned constraints mean, in words ("" when it has none)."""
    parts: list[str] = []
    fixed = getattr(slot, "fixed", None)
    if fixed is not None:
        parts.append(
            f"kind/modifier words fixed: {', '.join(fixed)}" if fixed else "no kind/modifier words may be added"
        )
    keep: frozenset[str] = getattr(slot, "keep", frozenset())
    if keep:
        parts.append(f"must keep: {', '.join(sorted(keep))}")
    lo, hi = getattr(slot, "lo", None), getattr(slot, "hi", None)
    if getattr(slot, "kind", "") in ("integer", "number") and (lo is not None or hi is not None):
        parts.append(f"range {'' if lo is None else lo}..{'' if hi is None else hi}")
    for op, other in getattr(slot, "relations", ()):
        parts.append(f"{op} {other}")
    return "; ".join(parts)
