"""An index of many templates: precise ``match`` and "similar templates" near misses.

Scaling. Every pattern is filed under ONE anchor: the required literal position whose word(s)
are rarest among all indexed patterns (a pattern can only match a task that contains its
rarest required word). ``match`` normalises the task once, collects the patterns anchored
under the task's content words, drops those missing any required word (a frozenset test),
and aligns only the survivors. Anchors are chosen with the word frequencies known when a
pattern is added and re-balanced whenever the index doubles in size.

Selection. ``match`` returns the most specific match: most literal words matched, then the
most constraining slot types. If two different templates (or two different bindings) tie for
the top, the task is ambiguous and ``match`` returns ``None`` -- precision over recall.

Meaning. A match whose bindings change what the code must do (a different kind or modifier
word in a name, numbers in the wrong order: :mod:`engine.templates.meaning`) is dropped; the
template can still be offered by ``similar``.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from threading import RLock

from engine.templates.errors import BindingError
from engine.templates.meaning import binding_problem, has_constraints
from engine.templates.normalize import normalized
from engine.templates.pattern import Match, TaskPattern, word_set
from engine.templates.spec import TemplateSpec


@dataclass(frozen=True, slots=True)
class Similar:
    """A near miss: offered to the user, never served.

    ``missing`` lists the pattern's required literal words the task lacks; ``extra`` the task's
    content words that are not literal words of the pattern (slot values show up here too).
    """

    template: TemplateSpec
    pattern: TaskPattern
    score: float
    missing: tuple[str, ...]
    extra: tuple[str, ...]


class TemplateIndex:
    """Many templates (built-in and learned), indexed by literal words."""

    def __init__(self, specs: Iterable[TemplateSpec] = ()) -> None:
        """Index ``specs``; a later spec with the same name replaces an earlier one."""
        self._lock = RLock()
        self._specs: dict[str, TemplateSpec] = {}
        # An entry id is a position in these parallel lists; ``None`` once removed. Posting
        # lists are compact arrays of entry ids (memory at 100k templates).
        self._spec_of: list[TemplateSpec | None] = []
        self._pattern_of: list[TaskPattern | None] = []
        self._live = 0
        self._first_entry: dict[str, int] = {}
        self._anchor: dict[str, array[int]] = {}
        self._anchor_of: list[frozenset[str] | None] = []
        self._postings: dict[str, array[int]] = {}
        self._df: Counter[str] = Counter()
        self._balanced_at = 0
        self._constrained: set[str] = set()  # templates with meaning constraints (checked per match)
        self.add_many(specs)

    # -- collection -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of templates."""
        return len(self._specs)

    def __iter__(self) -> Iterator[TemplateSpec]:
        """The templates, in insertion order."""
        return iter(list(self._specs.values()))

    def __contains__(self, name: object) -> bool:
        """Whether a template of that name is indexed."""
        return name in self._specs

    def get(self, name: str) -> TemplateSpec | None:
        """The template called ``name``, if any."""
        return self._specs.get(name)

    @property
    def pattern_count(self) -> int:
        """Number of indexed patterns."""
        return self._live

    def add(self, spec: TemplateSpec) -> None:
        """Index one template (replacing a template of the same name)."""
        self.add_many([spec])

    def add_many(self, specs: Iterable[TemplateSpec]) -> None:
        """Index several templates at once (word frequencies are counted before anchoring)."""
        with self._lock:
            new: list[int] = []
            for spec in specs:
                key = spec.key  # an alias is indexed beside its template (engine.learning.aliases)
                if key in self._specs:
                    self.remove(key)
                self._specs[key] = spec
                if has_constraints(spec.params):
                    self._constrained.add(key)
                self._first_entry[key] = len(self._spec_of)
                for pattern in spec.patterns:
                    eid = len(self._spec_of)
                    self._spec_of.append(spec)
                    self._pattern_of.append(pattern)
                    self._anchor_of.append(None)
                    self._live += 1
                    new.append(eid)
                    for group in _required_groups(pattern):
                        self._df.update(group)
                    for word in pattern.literal_words:
                        self._postings.setdefault(word, array("I")).append(eid)
            if self._live >= 2 * max(self._balanced_at, 512):
                self._rebalance()
            else:
                for eid in new:
                    self._file_anchor(eid)

    def remove(self, name: str) -> bool:
        """Drop a template; ``False`` if it was not indexed."""
        with self._lock:
            spec = self._specs.pop(name, None)
            if spec is None:
                return False
            self._constrained.discard(name)
            first = self._first_entry.pop(name)
            for eid in range(first, first + len(spec.patterns)):
                pattern = self._pattern_of[eid]
                if pattern is None:
                    continue
                self._spec_of[eid] = self._pattern_of[eid] = None
                self._live -= 1
                for group in _required_groups(pattern):
                    self._df.subtract(group)
                for word in pattern.literal_words:
                    _discard(self._postings, word, eid)
                for word in self._anchor_of[eid] or ():
                    _discard(self._anchor, word, eid)
                self._anchor_of[eid] = None
            return True

    def _file_anchor(self, eid: int) -> None:
        pattern = self._pattern_of[eid]
        if pattern is None:
            return
        df = self._df
        group = min(_required_groups(pattern), key=lambda g: (sum(df[w] for w in g), sorted(g)))
        self._anchor_of[eid] = group
        for word in group:
            self._anchor.setdefault(word, array("I")).append(eid)

    def _rebalance(self) -> None:
        self._anchor = {}
        for eid in range(len(self._pattern_of)):
            self._file_anchor(eid)
        self._balanced_at = self._live

    # -- matching ---------------------------------------------------------------------------

    def match_all(self, task: str) -> list[Match]:
        """Every template match of ``task``, best first (bindings include defaults)."""
        nt = normalized(task)
        if nt.too_long or not nt.words:
            return []
        anchor, specs, patterns = self._anchor, self._spec_of, self._pattern_of
        seen: set[int] = set()
        found: list[Match] = []
        for word in nt.words:
            for eid in anchor.get(word, ()):
                if eid in seen:
                    continue
                seen.add(eid)
                pattern = patterns[eid]
                spec = specs[eid]
                if pattern is None or spec is None or not pattern.could_match(nt):
                    continue
                m = pattern.match(nt)
                if m is None:
                    continue
                try:
                    bindings = spec.resolve(m.bindings)
                except BindingError:
                    continue
                if (
                    spec.key in self._constrained
                    and binding_problem(spec.params, pattern.surface_words, bindings) is not None
                ):
                    continue  # a kind/modifier word or an order the template was not learned for
                defaults = sorted(set(bindings) - set(m.bindings))
                explanation = f"template {spec.name!r} v{spec.version}, {m.explanation}"
                if defaults:
                    explanation += f"; defaults for {', '.join(defaults)}"
                found.append(replace(m, template=spec, bindings=bindings, explanation=explanation))
        found.sort(key=lambda m: m.rank, reverse=True)
        return found

    def match(self, task: str) -> Match | None:
        """The most specific match, or ``None`` (no match, or an ambiguous tie at the top)."""
        found = self.match_all(task)
        if not found:
            return None
        best = found[0]
        for other in found[1:]:
            if other.rank != best.rank:
                break
            same_template = (
                other.template is not None and best.template is not None and other.template.name == best.template.name
            )
            if not same_template or other.bindings != best.bindings:
                return None
        return best

    def similar(self, task: str, limit: int = 5, min_score: float = 0.25) -> list[Similar]:
        """Templates whose literal words resemble the task but that do not match it.

        Templates that match the task (through any pattern) are never listed.

        One entry per template (its closest pattern), best first, scored by
        :meth:`TaskPattern.similarity`.
        """
        nt = normalized(task)
        if nt.too_long or not nt.words or limit <= 0:
            return []
        postings = self._postings
        cap = max(2000, self._live // 20)
        counts: Counter[int] = Counter()
        common: list[str] = []
        for word in nt.words:
            post = postings.get(word)
            if not post:
                continue
            if len(post) > cap:
                common.append(word)
            else:
                counts.update(post)
        if not counts:
            for word in common:
                counts.update(postings[word][:cap])
        served = {m.template.name for m in self.match_all(task) if m.template is not None}
        best: dict[str, Similar] = {}
        for eid, _ in counts.most_common(limit * 20):
            spec, pattern = self._spec_of[eid], self._pattern_of[eid]
            if spec is None or pattern is None or spec.name in served:
                continue
            score = pattern.similarity(nt)
            if score < min_score:
                continue
            missing = pattern.missing_words(nt)
            previous = best.get(spec.name)
            if previous is None or score > previous.score:
                extra = tuple(sorted(nt.words.difference(pattern.literal_words)))
                best[spec.name] = Similar(spec, pattern, score, missing, extra)
        ranked = sorted(best.values(), key=lambda s: (-s.score, s.template.name))
        return ranked[:limit]


def _required_groups(pattern: TaskPattern) -> list[frozenset[str]]:
    return [word_set(w) for w in pattern.required_words] + list(pattern.alt_groups)


def _discard(index: dict[str, array[int]], word: str, eid: int) -> None:
    ids = index.get(word)
    if ids is None:
        return
    try:
        ids.remove(eid)
    except ValueError:
        return
    if not ids:
        del index[word]
