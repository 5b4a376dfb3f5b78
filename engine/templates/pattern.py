"""Task patterns: literal words and typed slots, matched against a whole task.

Pattern syntax (see :mod:`engine.templates.slots` for slot types)::

    dataclass {name:identifier} with (fields|attributes) {fields:field_list}
    enum [class] [named|called] {name:identifier} with members {members:identifier_list}

* ``word``           a required literal word (compared case-folded)
* ``(a|b)``          a required literal: one of the alternatives
* ``[a]``, ``[a|b]`` an optional literal word
* ``{name:type}``    a typed slot; slot names are unique identifiers

Filler words (:data:`engine.templates.normalize.FILLER_WORDS`) are dropped from patterns. A
pattern needs at least one required literal word, and a slot that can span several tokens may
not be directly followed by another slot (that would be ambiguous by construction).

Matching is anchored at both ends: after normalisation every token of the task must be consumed,
in order, by a literal word, a slot, or a skippable filler/punctuation. Slots are type-checked
as they bind. If two different sets of bindings both fit, the pattern does NOT match (ambiguous).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.templates.errors import PatternError, SlotError
from engine.templates.normalize import FILLER_WORDS, NormalizedTask
from engine.templates.slots import SlotType, check_identifier, parse_slot_type

if TYPE_CHECKING:
    from engine.templates.spec import TemplateSpec

_PART_RE = re.compile(
    r"\{(?P<slot>[^{}]*)\}|\[(?P<opt>[^\[\]]*)\]|\((?P<alt>[^()]*)\)"
    r"|(?P<word>[^\W\d]\w*|\d+)|(?P<space>\s+)|(?P<bad>.)"
)
_LITERAL_RE = re.compile(r"[^\W\d]\w*|\d+")
MAX_STEPS = 20_000
_FAIL = object()
# Literal/Slot objects are immutable and shared between patterns (memory at 100k templates).
_LITERALS: dict[tuple[frozenset[str], bool], Literal] = {}
_SLOTS: dict[tuple[str, str], Slot] = {}


_WORDSETS: dict[str, frozenset[str]] = {}


def word_set(word: str) -> frozenset[str]:
    """A shared ``frozenset([word])`` (one per vocabulary word, not per pattern)."""
    found = _WORDSETS.get(word)
    if found is None:
        found = _WORDSETS[word] = frozenset([sys.intern(word)])
    return found


def _literal(words: frozenset[str], optional: bool) -> Literal:
    key = (words, optional)
    found = _LITERALS.get(key)
    if found is None:
        words = frozenset(sys.intern(w) for w in words)
        found = _LITERALS[(words, optional)] = Literal(words, optional)
    return found


class Literal:
    """A literal position: one of ``words`` (case-folded), possibly optional."""

    __slots__ = ("words", "optional")
    is_slot = False

    def __init__(self, words: frozenset[str], optional: bool) -> None:
        """Store the accepted words."""
        self.words = words
        self.optional = optional

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
    solutions: list[tuple[dict[str, object], int, tuple[str, ...]]] = field(default_factory=list)
    steps: int = 0


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
    )

    def __init__(self, text: str, types: Mapping[str, str] | None = None) -> None:
        """Parse ``text``; raise :class:`PatternError` if it is malformed.

        A slot may be written ``{name}`` without a type when ``types`` (e.g. a template's
        parameter types) gives it one.
        """
        self.text = text
        elements: list[Literal | Slot] = []
        names: set[str] = set()
        for m in _PART_RE.finditer(text):
            kind = m.lastgroup
            if kind == "space":
                continue
            if kind == "bad":
                raise PatternError(f"unexpected {m.group()!r} in pattern {text!r}")
            if kind == "slot":
                elements.append(self._slot(m.group("slot"), names, text, types or {}))
            elif kind == "word":
                word = m.group().casefold()
                if word not in FILLER_WORDS:
                    elements.append(_literal(word_set(word), optional=False))
            else:
                optional = kind == "opt"
                words = self._alternatives(m.group(kind), text)
                kept = frozenset(w for w in words if w not in FILLER_WORDS)
                if not optional and kept != words:
                    raise PatternError(f"filler word in required alternatives of {text!r}")
                if kept:
                    elements.append(_literal(kept, optional=optional))
        self.elements: tuple[Literal | Slot, ...] = tuple(elements)
        self._check(text)
        required = [e.words for e in elements if isinstance(e, Literal) and not e.optional]
        # plain tuples: a frozenset costs 200-700 bytes per pattern; ``set.issuperset`` and
        # ``set.intersection`` accept any iterable
        self.required_words: tuple[str, ...] = tuple(
            sorted({next(iter(w)) for w in required if len(w) == 1})
        )
        self.alt_groups: tuple[frozenset[str], ...] = tuple(w for w in required if len(w) > 1)
        every = {w for e in elements if isinstance(e, Literal) for w in e.words}
        self.literal_words: tuple[str, ...] = (
            self.required_words if len(every) == len(self.required_words) else tuple(sorted(every))
        )
        self.required_count = len(required)
        self.slot_weight = sum(e.type.weight for e in elements if isinstance(e, Slot))

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
        if not any(isinstance(e, Literal) and not e.optional for e in self.elements):
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
        return words.issuperset(self.required_words) and all(
            not g.isdisjoint(words) for g in self.alt_groups
        )

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
        binds, lits, skipped = max(search.solutions, key=lambda s: s[1])
        return Match(self, binds, self.explain(binds, skipped), lits, skipped)

    def explain(self, bindings: Mapping[str, object], skipped: tuple[str, ...] = ()) -> str:
        """Human-readable account of why a task matched."""
        literals = [str(e) for e in self.elements if isinstance(e, Literal)]
        parts = [f"pattern {self.canonical!r}: literal words {', '.join(literals)} in order"]
        if bindings:
            typed = {s.name: s.type.spec for s in self.slots}
            bound = ", ".join(
                f"{k}={v!r} ({typed.get(k, 'default')})" for k, v in bindings.items()
            )
            parts.append(f"bindings {bound}")
        if skipped:
            parts.append(f"dropped {', '.join(repr(s) for s in skipped)}")
        return "; ".join(parts)

    def _record(self, search: _Search, lits: int) -> None:
        used = set(search.used)
        tokens = search.task.tokens
        skipped = tuple(t.text for i, t in enumerate(tokens) if i not in used)
        search.solutions.append((dict(search.binds), lits, skipped))
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
                    search.used.append(j)
                    self._align(search, ei + 1, j + 1, lits + 1)
                    search.used.pop()
            if element.optional:
                self._align(search, ei + 1, ti, lits)
            return
        self._align_slot(search, element, ei, ti, last, lits)

    def _align_slot(
        self, search: _Search, slot: Slot, ei: int, ti: int, last: int, lits: int
    ) -> None:
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
        groups = [e.words for e in self.elements if isinstance(e, Literal) and not e.optional]
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
            if isinstance(e, Literal) and not e.optional and not e.words & task.words
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
