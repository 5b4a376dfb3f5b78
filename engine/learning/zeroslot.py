"""Zero-slot templates: a task with nothing to parameterise is learned by its canonical wording.

"function that checks whether a string is a palindrome" names no identifier, number, string or
URL, so there is nothing a slot could vary. Its template has no parameters: the pattern is the
task's canonical wording (:func:`engine.templates.canonical.canonical_text`) and the body is the
validated code, escaped. It answers every wording that canonicalises the same, and nothing else.

Invariants:
* :func:`has_no_values` is conservative: any token that could be a value (a number, a quoted
  string, a URL, a word with ``_``, a digit or an inner capital, a capitalised word after the
  first, a word right after "function/class/named/..." that is not a connector such as "that")
  makes the task parameterisable, and the usual suggestion path runs instead;
* :func:`zero_slot_pattern` returns a pattern only when it parses, matches its own task, and
  carries no pattern syntax (``{ } [ ] |``, a one-word ``( )`` group) that could make it wider
  than the task's wording; otherwise ``None`` and nothing is learned.
"""

from __future__ import annotations

import re

from engine.templates.canonical import canonical_text
from engine.templates.errors import PatternError
from engine.templates.normalize import NormalizedTask
from engine.templates.pattern import TaskPattern

_SYNTAX_RE = re.compile(r"[{}\[\]|]|\(\s*[^\s()]+\s*\)")
_NAME_LIKE_RE = re.compile(r"_|\d|[a-z][A-Z]")
#: Nouns a name may follow ("function dedupe that ...", "class stack with ...").
_KIND_NOUNS = frozenset(
    {
        "function",
        "func",
        "method",
        "class",
        "decorator",
        "variable",
        "constant",
        "module",
        "enum",
        "dataclass",
        "model",
        "type",
        "exception",
        "error",
        "script",
        "cli",
        "command",
        "program",
        "tool",
        "helper",
        "named",
        "called",
        "def",
        "coroutine",
        "generator",
        "test",
        "fixture",
        "endpoint",
        "route",
        "handler",
        "field",
        "property",
        "attribute",
    }
)
#: Words that may follow such a noun without being a name.
_CONNECTORS = frozenset(
    {
        "that",
        "which",
        "to",
        "for",
        "with",
        "of",
        "in",
        "returning",
        "taking",
        "implementing",
        "representing",
        "using",
        "from",
        "on",
        "who",
        "whose",
        "and",
        "or",
        "as",
        "by",
        "accepting",
        "checking",
        "computing",
        "where",
        "when",
        "if",
        "whether",
        "is",
        "are",
        "can",
        "should",
        "will",
        "must",
        "the",
        "a",
        "an",
    }
)


def has_no_values(task: str) -> bool:
    """Whether the task holds nothing a slot could bind (see the module docstring)."""
    nt = NormalizedTask(task)
    if nt.too_long or not nt.words:
        return False
    first_word = True
    previous = ""
    for token in nt.tokens:
        if token.kind in ("quoted", "url", "number"):
            return False
        if token.kind != "word":
            continue
        if _NAME_LIKE_RE.search(token.text):
            return False
        if not first_word and token.text[:1].isupper() and not token.skippable:
            return False
        if previous in _KIND_NOUNS and token.plain not in _CONNECTORS and token.plain not in _KIND_NOUNS:
            return False  # "function dedupe that ...": a name follows the noun
        if not token.skippable or token.plain in ("named", "called"):
            first_word = False
            previous = token.plain
    return True


def zero_slot_pattern(task: str) -> str | None:
    """The task's canonical wording as a pattern, or ``None`` if it cannot serve as one safely."""
    text = canonical_text(task)
    if not text or _SYNTAX_RE.search(text):
        return None
    try:
        pattern = TaskPattern(text)
    except PatternError:
        return None
    if pattern.slots or pattern.match(task) is None:
        return None
    return text


def zero_slot_name(task: str) -> str:
    """A short snake_case name for the template (its first content words)."""
    words = [w for w in canonical_text(task).split() if w.isalpha()][:5]
    return "_".join(words)[:60] or "learned"
