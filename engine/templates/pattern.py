"""Task patterns: literal words and typed slots, matched against a whole task.

Pattern syntax (see :mod:`engine.templates.slots` for slot types)::

    dataclass {name:identifier} with (fields|attributes) {fields:field_list}
    enum [class] [named|called] {name:identifier} with members {members:identifier_list}

* ``word``           a required literal word (compared case-folded)
* ``(a|b)``          a required literal: one of the alternatives
* ``[a]``, ``[a|b]`` an optional literal word
* ``{name:type}``    a typed slot; slot names are unique identifiers
* ``"text"``         a required quoted string literal: the task's quoted string of that value
  (either quote); :func:`engine.templates.escapes.quoted_literal` writes one (syntax escaped)

Filler words (:data:`engine.templates.normalize.FILLER_WORDS`) are dropped from patterns. A
pattern needs at least one required literal word, and a slot that can span several tokens may
not be directly followed by another slot (that would be ambiguous by construction).

Canonical wording (:mod:`engine.templates.canonical`) applies to the pattern's words exactly as
to a task's: synonyms and singular forms, canonical fillers, a leading request phrase and "in
Python" are dropped. Punctuation a task may contain is spelled in the pattern as it is: ``,``
and ``:`` are skippable, a hyphen inside a word and a possessive ``'s`` are word breaks, ``&``
reads ``and``, trailing ``. ! ? ;`` are ignored, and any other character (``/ . ' - + ( )``...)
is a required literal. A ``( ... )`` group that is not a list of single-word alternatives is
literal text (``(rounded down)``).

Matching is anchored at both ends: after normalisation every token of the task must be consumed,
in order, by a literal word, a slot, or a skippable filler/punctuation. Slots are type-checked
as they bind. If two different sets of bindings both fit, the pattern does NOT match (ambiguous).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.templates.canonical import CANONICAL_FILLERS, canonical_word, phrase_drops
from engine.templates.errors import PatternError, SlotError
from engine.templates.escapes import encode_task_string, quoted_value
from engine.templates.normalize import (
    FILLER_WORDS,
    SKIPPABLE_PUNCT,
    TRAILING_PUNCT,
    NormalizedTask,
)
from engine.templates.slots import SlotType, check_identifier, parse_slot_type

if TYPE_CHECKING:
    from engine.templates.spec import TemplateSpec

_PART_RE = re.compile(
    r"\{(?P<slot>[^{}]*)\}|\[(?P<opt>[^\[\]]*)\]|\((?P<alt>[^()]*)\)"
    r"""|(?P<quoted>(?<!\w)(?:"(?:[^"\\\n{}\[\]()|]|\\[^\n])*"|'(?:[^'\\\n{}\[\]()|]|\\[^\n])*'))"""
    r"|(?P<word>[^\W\d]\w*|\d+)|(?P<space>\s+)|(?P<bad>.)"
)
_LITERAL_RE = re.compile(r"[^\W\d]\w*|\d+")
MAX_STEPS = 20_000
_FAIL = object()
# Literal/Slot objects are immutable and shared between patterns (memory at 100k templates).
_LITERALS: dict[tuple[frozenset[str], bool, frozenset[str]], Literal] = {}
_SYNTAX = frozenset("{}[]|")
_SLOTS: dict[tuple[str, str], Slot] = {}


_WORDSETS: dict[str, frozenset[str]] = {}


def word_set(word: str) -> frozenset[str]:
    """A shared ``frozenset([word])`` (one per vocabulary word, not per pattern)."""
    found = _WORDSETS.get(word)
    if found is None:
        found = _WORDSETS[word] = frozenset([sys.intern(word)])
    return found


def _literal(words: frozenset[str], optional: bool, surface: frozenset[str] | None = None) -> Literal:
    surface = words if surface is None else surface
    key = (words, optional, surface)
    found = _LITERALS.get(key)
    if found is None:
        words = frozenset(sys.intern(w) for w in words)
        found = _LITERALS[key] = Literal(words, optional, surface)
    return found


def _is_word(text: str) -> bool:
    return bool(_LITERAL_RE.fullmatch(text))


class Literal:
    """A literal position: one of ``words`` (canonical spelling), possibly optional.

    ``surface`` holds the words as the pattern spells them (case-folded): a task token matching
    only through canonical wording marks the match ``canonical``. A literal of punctuation
    (``/``, ``.``) has ``punct`` set and is left out of the word sets used for indexing.
    """

    __slots__ = ("words", "optional", "surface", "punct")
    is_slot = False

    def __init__(self, words: frozenset[str], optional: bool, surface: frozenset[str] | None = None) -> None:
        """Store the accepted words."""
        self.words = words
        self.optional = optional
        self.surface = words if surface is None else surface
        self.punct = not any(_is_word(w) for w in words)

    def __str__(self) -> str:
        """Pattern spelling."""
        inner = "|".join(sorted(self.words))
        if self.optional:
            return f"[{inner}]"
        return f"({inner})" if len(self.words) > 1 else inner


class Slot:
    """A slot position: a name and a :class:`SlotType`."""

    __slots__ = ("name", "type")
    is_slot = True

    def __init__(self, name: str, type_: SlotType) -> None:
        """Store name and type."""
        self.name = name
        self.type = type_

    def __str__(self) -> str:
        """Pattern spelling."""
        return f"{{{self.name}:{self.type.spec}}}"


@dataclass(frozen=True, slots=True)
class Match:
    """A successful match of a task against a pattern (and, from an index, a template).

    ``bindings`` hold the plain-data slot values (from a :class:`TemplateIndex`, also the
    defaults of parameters the pattern does not mention). ``specificity`` is the number of
    literal words matched; ``skipped`` lists the filler words and punctuation that were dropped.
    """

    pattern: TaskPattern
    bindings: Mapping[str, object]
    explanation: str
    specificity: int
    skipped: tuple[str, ...] = ()
    template: TemplateSpec | None = None
    canonical: bool = False  # matched only through canonical wording (not word for word)

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key: literal words matched, then how constraining the slot types are."""
        return (self.specificity, self.pattern.slot_weight)

    def render(self) -> str:
        """Render the matched template with the bindings."""
        if self.template is None:
            raise PatternError("this match has no template to render")
        return self.template.render(self.bindings)


@dataclass(slots=True)
class _Search:
    task: NormalizedTask
    binds: dict[str, object] = field(default_factory=dict)
    used: list[int] = field(default_factory=list)
    solutions: list[tuple[dict[str, object], int, tuple[str, ...], bool]] = field(default_factory=list)
    steps: int = 0
    canonical: int = 0  # literal words matched only through canonical wording, on this path


class _Stop(Exception):
    pass


class TaskPattern:
    """A parsed task pattern. Equal patterns have equal :attr:`canonical` text."""

    __slots__ = (
        "text",
        "elements",
        "required_words",
        "alt_groups",
        "literal_words",
        "required_count",
        "slot_weight",
        "surface_words",
    )

    def __init__(self, text: str, types: Mapping[str, str] | None = None) -> None:
        """Parse ``text``; raise :class:`PatternError` if it is malformed.

        A slot may be written ``{name}`` without a type when ``types`` (e.g. a template's
        parameter types) gives it one.
        """
        self.text = text
        names: set[str] = set()
        parts = list(self._parts(text, names, types or {}))
        drops = phrase_drops([value if kind == "word" else None for kind, value in parts])
        elements: list[Literal | Slot] = []
        for i, (kind, value) in enumerate(parts):
            if kind == "slot":
                elements.append(value)
            elif kind == "punct":
                elements.append(_literal(word_set(value), optional=False))
            elif kind == "quoted":  # the task's token is the quoted text: either quote, canonical escapes
                spellings = frozenset({encode_task_string(value, '"'), encode_task_string(value, "'")})
                elements.append(_literal(spellings, optional=False))
            elif kind == "word":
                canon = canonical_word(value)
                if value not in FILLER_WORDS and canon not in CANONICAL_FILLERS and i not in drops:
                    elements.append(_literal(word_set(canon), optional=False, surface=word_set(value)))
            else:
                optional, words = value
                kept = frozenset(
                    w for w in words if w not in FILLER_WORDS and canonical_word(w) not in CANONICAL_FILLERS
                )
                if not optional and kept != words:
                    raise PatternError(f"filler word in required alternatives of {text!r}")
                if kept:
                    elements.append(_literal(frozenset(canonical_word(w) for w in kept), optional, kept))
        self.elements: tuple[Literal | Slot, ...] = tuple(elements)
        self._check(text)
        required = [e.words for e in elements if isinstance(e, Literal) and not e.optional and not e.punct]
        # plain tuples: a frozenset costs 200-700 bytes per pattern; ``set.issuperset`` and
        # ``set.intersection`` accept any iterable
        self.required_words: tuple[str, ...] = tuple(sorted({next(iter(w)) for w in required if len(w) == 1}))
        self.alt_groups: tuple[frozenset[str], ...] = tuple(w for w in required if len(w) > 1)
        every = {w for e in elements if isinstance(e, Literal) and not e.punct for w in e.words}
        self.literal_words: tuple[str, ...] = (
            self.required_words if len(every) == len(self.required_words) else tuple(sorted(every))
        )
        surface = tuple(sorted({w for e in elements if isinstance(e, Literal) and not e.punct for w in e.surface}))
        # the words as written (case-folded), for checks that fold words their own way (meaning)
        self.surface_words: tuple[str, ...] = self.literal_words if surface == self.literal_words else surface
        self.required_count = len(required)
        self.slot_weight = sum(e.type.weight for e in elements if isinstance(e, Slot))

    def _parts(self, text: str, names: set[str], types: Mapping[str, str]) -> Iterator[tuple[str, Any]]:
        """The pattern's parts: ("word", folded), ("punct", char), ("slot", Slot), ("alt", (optional, words))."""
        body = text.rstrip()
        while body and body[-1] in TRAILING_PUNCT:
            body = body[:-1].rstrip()
        skip_s = False
        for m in _PART_RE.finditer(body):
            kind, part = m.lastgroup, m.group()
            if kind == "space":
                continue
            before = body[m.start() - 1] if m.start() else " "
            after = body[m.end()] if m.end() < len(body) else " "
            if kind == "word":
                if skip_s and part == "s":
                    skip_s = False
                    continue
                yield "word", part.casefold()
            elif kind == "slot":
                yield "slot", self._slot(m.group("slot"), names, text, types)
            elif kind == "quoted":
                yield "quoted", quoted_value(part)
            elif kind == "alt" and "|" not in part and not _is_word(m.group("alt").strip()):
                yield "punct", "("  # literal text in parentheses, e.g. "(rounded down)"
                yield from self._parts(m.group("alt"), names, types)
                yield "punct", ")"
            elif kind in ("alt", "opt"):
                yield "alt", (kind == "opt", self._alternatives(m.group(kind), text))
            elif part in SKIPPABLE_PUNCT:
                continue
            elif part == "-" and before.isalnum() and after.isalpha():
                continue  # a hyphen inside a word is a word break ("n-th", "run-length")
            elif part == "'" and before.isalpha() and after == "s" and not body[m.end() + 1 : m.end() + 2].isalnum():
                skip_s = True  # a possessive 's
            elif part == "&":
                yield "word", "and"
            elif part in _SYNTAX or part.isspace():
                raise PatternError(f"unexpected {part!r} in pattern {text!r}")
            else:
                yield "punct", part

    @staticmethod
    def _alternatives(inner: str, text: str) -> frozenset[str]:
        words = [w.strip().casefold() for w in inner.split("|")]
        if not words or not all(_LITERAL_RE.fullmatch(w) for w in words):
            raise PatternError(f"alternatives must be single words in {text!r}")
        return frozenset(words)

    @staticmethod
    def _slot(inner: str, names: set[str], text: str, types: Mapping[str, str]) -> Slot:
        name, sep, type_spec = inner.partition(":")
        name = name.strip()
        if not sep:
            if name not in types:
                raise PatternError(f"slot {{{inner}}} needs a type: {{name:type}} in {text!r}")
            type_spec = types[name]
        try:
            check_identifier(name, "slot name")
            slot_type = parse_slot_type(type_spec.strip())
        except SlotError as exc:
            raise PatternError(f"{exc} in pattern {text!r}") from exc
        if name in names:
            raise PatternError(f"duplicate slot {name!r} in {text!r}")
        names.add(name)
        key = (name, slot_type.spec)
        found = _SLOTS.get(key)
        if found is None:
            found = _SLOTS[key] = Slot(sys.intern(name), slot_type)
        return found

    def _check(self, text: str) -> None:
        if not any(isinstance(e, Literal) and not e.optional and not e.punct for e in self.elements):
            raise PatternError(f"pattern {text!r} needs at least one required literal word")
        previous: Slot | None = None
        for element in self.elements:
            if isinstance(element, Slot):
                if previous is not None and previous.type.max_tokens != 1:
                    raise PatternError(
                        f"slot {element.name!r} follows multi-token slot {previous.name!r} "
                        f"without a required word between them in {text!r}"
                    )
                previous = element
            elif not element.optional:
                previous = None

    # -- matching ---------------------------------------------------------------------------

    def could_match(self, task: NormalizedTask) -> bool:
        """Cheap pre-filter: every required literal word occurs somewhere in the task."""
        words = task.words
        return words.issuperset(self.required_words) and all(not g.isdisjoint(words) for g in self.alt_groups)

    def match(self, task: str | NormalizedTask) -> Match | None:
        """Match a whole task; ``None`` if it does not match or is ambiguous."""
        nt = task if isinstance(task, NormalizedTask) else NormalizedTask(task)
        if nt.too_long or not nt.tokens or not self.could_match(nt):
            return None
        search = _Search(nt)
        try:
            self._align(search, 0, 0, 0)
        except _Stop:
            return None
        if not search.solutions:
            return None
        first = search.solutions[0][0]
        if any(s[0] != first for s in search.solutions[1:]):
            return None  # two different readings of the task: refuse
        binds, lits, skipped, canonical = max(search.solutions, key=lambda s: s[1])
        explanation = self.explain(binds, skipped) + ("; [canonical] wording" if canonical else "")
        return Match(self, binds, explanation, lits, skipped, canonical=canonical)

    def explain(self, bindings: Mapping[str, object], skipped: tuple[str, ...] = ()) -> str:
        """Human-readable account of why a task matched."""
        literals = [str(e) for e in self.elements if isinstance(e, Literal)]
        parts = [f"pattern {self.canonical!r}: literal words {', '.join(literals)} in order"]
        if bindings:
            typed = {s.name: s.type.spec for s in self.slots}
            bound = ", ".join(f"{k}={v!r} ({typed.get(k, 'default')})" for k, v in bindings.items())
            parts.append(f"bindings {bound}")
        if skipped:
            parts.append(f"dropped {', '.join(repr(s) for s in skipped)}")
        return "; ".join(parts)

    def _record(self, search: _Search, lits: int) -> None:
        used = set(search.used)
        tokens = search.task.tokens
        skipped = tuple(t.text for i, t in enumerate(tokens) if i not in used)
        canonical = search.canonical > 0 or any(t.canonical_skip for i, t in enumerate(tokens) if i not in used)
        search.solutions.append((dict(search.binds), lits, skipped, canonical))
        first = search.solutions[0][0]
        if any(s[0] != first for s in search.solutions):
            raise _Stop  # ambiguous: stop searching, caller sees two readings

    def _align(self, search: _Search, ei: int, ti: int, lits: int) -> None:
        search.steps += 1
        if search.steps > MAX_STEPS:
            raise _Stop
        task = search.task
        tokens = task.tokens
        n = len(tokens)
        skip_to = task.skip_to
        if ei == len(self.elements):
            if skip_to[ti] == n:
                self._record(search, lits)
            return
        element = self.elements[ei]
        last = min(skip_to[ti], n - 1)
        if isinstance(element, Literal):
            for j in range(ti, last + 1):
                if tokens[j].fold in element.words:
                    canon = tokens[j].plain not in element.surface
                    search.used.append(j)
                    search.canonical += canon
                    self._align(search, ei + 1, j + 1, lits + 1)
                    search.canonical -= canon
                    search.used.pop()
            if element.optional:
                self._align(search, ei + 1, ti, lits)
            return
        self._align_slot(search, element, ei, ti, last, lits)

    def _align_slot(self, search: _Search, slot: Slot, ei: int, ti: int, last: int, lits: int) -> None:
        task = search.task
        tokens = task.tokens
        n = len(tokens)
        skip_to = task.skip_to
        nxt = self.elements[ei + 1] if ei + 1 < len(self.elements) else None
        need = nxt.words if isinstance(nxt, Literal) and not nxt.optional else None
        max_tokens = slot.type.max_tokens or n
        for s in range(ti, last + 1):
            for e in range(s + 1, min(n, s + max_tokens) + 1):
                if nxt is None:
                    if skip_to[e] != n:
                        continue
                elif need is not None:
                    k = skip_to[e]
                    if k >= n or tokens[k].fold not in need:
                        continue
                value = self._parse(task, slot.type, s, e)
                if value is _FAIL:
                    continue
                search.binds[slot.name] = value
                search.used.extend(range(s, e))
                self._align(search, ei + 1, e, lits)
                del search.used[len(search.used) - (e - s) :]
                del search.binds[slot.name]

    @staticmethod
    def _parse(task: NormalizedTask, slot_type: SlotType, s: int, e: int) -> object:
        key = (slot_type.spec, s, e)
        cached = task.cache.get(key, None)
        if cached is not None or key in task.cache:
            return cached
        try:
            value = slot_type.parse(task.span_text(s, e))
        except SlotError:
            value = _FAIL
        task.cache[key] = value
        return value

    # -- near misses ------------------------------------------------------------------------

    def similarity(self, task: str | NormalizedTask) -> float:
        """How close a task is to this pattern's literal words, in [0, 1].

        ``0.75 * coverage + 0.25 * precision`` where coverage is the fraction of the pattern's
        required literal positions whose word occurs in the task, and precision the fraction of
        the task's content words (fillers excluded) that are literal words of the pattern.
        Order and slots are ignored: this ranks "similar templates", it never serves code.
        """
        nt = task if isinstance(task, NormalizedTask) else NormalizedTask(task)
        words = nt.words
        groups = [e.words for e in self.elements if isinstance(e, Literal) and not e.optional and not e.punct]
        if not groups or not words:
            return 0.0
        coverage = sum(1 for g in groups if g & words) / len(groups)
        precision = len(words.intersection(self.literal_words)) / len(words)
        return round(0.75 * coverage + 0.25 * precision, 4)

    def missing_words(self, task: NormalizedTask) -> tuple[str, ...]:
        """Required literal positions the task lacks (spelled as in the pattern)."""
        return tuple(
            str(e)
            for e in self.elements
            if isinstance(e, Literal) and not e.optional and not e.punct and not e.words & task.words
        )

    # -- value semantics --------------------------------------------------------------------

    @property
    def slots(self) -> tuple[Slot, ...]:
        """The slots, in order."""
        return tuple(e for e in self.elements if isinstance(e, Slot))

    @property
    def canonical(self) -> str:
        """Normalised spelling: fillers dropped, literals case-folded, slot types canonical."""
        return " ".join(str(e) for e in self.elements)

    def __eq__(self, other: object) -> bool:
        """Patterns are equal when their canonical forms are."""
        return isinstance(other, TaskPattern) and other.canonical == self.canonical

    def __hash__(self) -> int:
        """Hash of the canonical form."""
        return hash(self.canonical)

    def __repr__(self) -> str:
        """Debug representation."""
        return f"TaskPattern({self.text!r})"

    def __str__(self) -> str:
        """The pattern as written."""
        return self.text
