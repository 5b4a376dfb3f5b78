"""Canonical wording: one deterministic rewrite of words, shared by task patterns and tasks.

Both sides of a match go through the same rules, so a rule can never make a pattern take a
task its own wording would not canonicalise to:

* **word forms** (:func:`canonical_word`): case-folded; a small synonym table (``which`` ->
  ``that``, ``into`` -> ``to``, ``whether`` -> ``if``, ``called`` -> ``named``, ``each`` ->
  ``every``, ``two`` -> ``2`` (zero to ten), ``dictionary`` -> ``dict``, ``integer`` -> ``int``, ``str`` -> ``string``...)
  and plural -> singular (``strings`` -> ``string``, ``classes`` -> ``class``, ``entries`` ->
  ``entry``; ``ss``/``us``/``is`` endings and words of three letters or fewer are kept);
* **dropped words** (:data:`CANONICAL_FILLERS`): ``named``, ``python3`` -- on top of the
  matcher's filler words (articles, politeness, ``python``, ``write/create/...``);
* **dropped phrases** (:func:`phrase_drops`): a leading request ("Define", "Build me",
  "Implement", "Give me", "I need", "I want", "Can you (please) write", "Could you build me"),
  and "in/using Python".

Deliberately NOT rewritten, because they carry meaning: negations (not, no, without, never),
with/without, and/or, to/from and the order of words (``celsius to fahrenheit`` stays apart
from ``fahrenheit to celsius``), numbers, quoted strings, and any word not in the tables.
Punctuation rules (hyphens inside words, possessive ``'s``) live with the tokeniser in
:mod:`engine.templates.normalize` and the pattern parser in :mod:`engine.templates.pattern`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

#: One spelling per meaning. Keys and values are case-folded single words.
SYNONYMS: dict[str, str] = {
    "which": "that",
    "into": "to",
    "whether": "if",
    "called": "named",
    "each": "every",
    "dictionary": "dict",
    "integer": "int",
    "str": "string",
    "boolean": "bool",
    "directory": "dir",
    "folder": "dir",
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}

#: Dropped wherever they occur, on both sides (they never carry meaning in a request).
CANONICAL_FILLERS: frozenset[str] = frozenset({"named", "python3"})

_POLITE = frozenset({"please", "kindly", "hey", "hi", "hello"})
_ASK = frozenset({"can", "could", "would", "will"})
_VERBS = frozenset({"define", "build", "implement", "write", "create", "generate", "make"})
_VERBS_ME = frozenset({"give", "show", "get", "build", "write", "make"})  # only before "me"
_OBJECT = frozenset({"me", "us"})
_LANGUAGE = frozenset({"python", "python3"})
_KEEP_S = ("ss", "us", "is", "'s")
#: Words ending in s that are not plurals of another word (news is not new, means not mean).
_IRREGULAR = {"caches": "cache", "niches": "niche", "headaches": "headache", "moustaches": "moustache"}
_NOT_PLURAL = frozenset(
    {
        "news",
        "series",
        "species",
        "means",
        "always",
        "perhaps",
        "sometimes",
        "whereas",
        "towards",
        "afterwards",
        "physics",
        "mathematics",
        "statistics",
        "analytics",
        "economics",
        "politics",
    }
)


@lru_cache(maxsize=8192)
def singular(word: str) -> str:
    """The singular of an English plural (or 3rd-person verb); other words unchanged."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_KEEP_S) or not word.isalpha() or word in _NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    return word[:-1]


@lru_cache(maxsize=8192)
def canonical_word(word: str) -> str:
    """The canonical spelling of one case-folded word."""
    word = SYNONYMS.get(word, word)
    return SYNONYMS.get(singular(word), singular(word))


def request_prefix(words: Sequence[str | None]) -> int:
    """How many leading words form a request phrase ("Can you please write me", "I need").

    ``words`` are case-folded words in order (``None`` for a slot or another non-word, which
    ends the phrase). The phrase is optional politeness, then optionally "can/could/would/will
    you [please]", then optionally "I need/want/would like", "give/show me" or a request verb
    (define, build, implement, write, create, generate, make). A lone word is never dropped when nothing follows it.
    """
    i, n = 0, len(words)

    def at(k: int) -> str | None:
        return words[k] if k < n else None

    while at(i) in _POLITE:
        i += 1
    if at(i) in _ASK and at(i + 1) == "you":
        i += 2
        while at(i) in _POLITE:
            i += 1
    if at(i) == "i":
        if at(i + 1) in ("need", "want"):
            i += 2
        elif at(i + 1) in ("would", "d") and at(i + 2) == "like":
            i += 3
        elif at(i + 1) == "like":
            i += 2
    elif at(i) in _VERBS_ME and at(i + 1) in _OBJECT:
        i += 2
    elif at(i) in _VERBS:
        i += 1
    return i if i < n else 0


def phrase_drops(words: Sequence[str | None]) -> frozenset[int]:
    """Positions of words that canonical wording drops as phrases (see the module docstring)."""
    drops = set(range(request_prefix(words)))
    for k in range(len(words) - 1):
        if words[k] in ("in", "using") and words[k + 1] in _LANGUAGE:
            drops.update((k, k + 1))
    return frozenset(drops)


def canonical_text(task: str) -> str:
    """The canonical wording of a task, as one string (for tests, docs and zero-slot patterns).

    Words that matching may drop (fillers, request phrases, skippable punctuation) are left
    out; the rest is spelled canonically and joined with single spaces.
    """
    from engine.templates.normalize import NormalizedTask

    nt = NormalizedTask(task)
    return " ".join(t.fold for t in nt.tokens if not t.skippable)
