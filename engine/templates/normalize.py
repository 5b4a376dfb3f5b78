"""Task text normalisation and tokenisation, shared by patterns and the matcher.

A task is normalised before matching:

1. Unicode NFKC, typographic quotes become ASCII quotes.
2. Surrounding whitespace and trailing punctuation (``. ! ? ; , :``) are stripped.
3. The text is split into tokens. Whitespace between tokens is insignificant (equivalent to
   collapsing it). Token kinds: a quoted string (``'...'`` or ``"..."`` on one line; a
   backslash escapes the next character, see :mod:`engine.templates.escapes`), an
   http(s) URL, a number (``-12``, ``0.5``, ``1e3``), a word (letters, digits, ``_``), or a
   single punctuation character.
4. Literal words compare in their canonical spelling (:mod:`engine.templates.canonical`:
   case-folded, synonyms, singular); slot values keep the task's original spelling.
5. :data:`FILLER_WORDS` and the punctuation in :data:`SKIPPABLE_PUNCT` may be dropped from the
   task wherever a pattern does not consume them. Filler words are also dropped from patterns,
   so they never carry meaning on either side. So are the canonical fillers and phrases (a
   leading request such as "Can you write", "in Python"), a hyphen inside a word (``n-th``,
   ``run-length``: a word break) and a possessive ``'s``. Any other punctuation is a token a
   pattern must spell out (``DD/MM/YYYY``, ``.txt``, ``(rounded down)``); ``&`` reads ``and``.

Tasks longer than :data:`MAX_TASK_CHARS` never match (nothing sensible is that long, and it
bounds matching time).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from engine.templates.canonical import CANONICAL_FILLERS, canonical_word, phrase_drops

#: Words that may be dropped from a task: articles, politeness, the language name, and request
#: verbs. Deliberately small: anything that can change meaning (not, without, and, with, for,
#: to, async, ...) is NOT here.
FILLER_WORDS: frozenset[str] = frozenset(
    {"a", "an", "the", "please", "python", "write", "create", "generate", "make", "me"}
)

#: Punctuation that may separate words without meaning (``enum Color with members: red``).
SKIPPABLE_PUNCT: frozenset[str] = frozenset({",", ":"})

TRAILING_PUNCT = ".!?;,:"
MAX_TASK_CHARS = 2000

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})

_TOKEN_RE = re.compile(
    r"""
    (?P<possessive>(?<=[^\W\d_])(?<!\b[rRbBfFuU])'s\b)
    |(?P<apostrophe>(?<=[^\W\d_])(?<!\b[rRbBfFuU])'(?=[^\W\d_]))
    |(?P<quoted>"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*')
    |(?P<url>https?://[^\s"'<>`{}|\\^]+)
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    |(?P<word>[^\W\d]\w*|\d\w*)
    |(?P<punct>\S)
    """,
    re.VERBOSE,
)


class Token:
    """One token of a normalised task."""

    __slots__ = ("kind", "text", "fold", "plain", "start", "end", "skippable", "canonical_skip")

    def __init__(self, kind: str, text: str, start: int, end: int) -> None:
        """Build a token; ``fold`` is the canonical spelling of words, ``plain`` the case-folded one.

        ``canonical_skip`` marks a token that only canonical wording makes skippable.
        """
        if kind in ("possessive", "apostrophe"):
            kind = "punct"
        elif kind == "punct" and text == "&":
            kind = "word"
        self.kind = kind
        self.text = text
        self.plain = "and" if text == "&" else text.casefold() if kind in ("word", "number") else text
        self.fold = canonical_word(self.plain) if kind == "word" else self.plain
        self.start = start
        self.end = end
        self.canonical_skip = (kind == "word" and self.fold in CANONICAL_FILLERS) or text == "'s"
        self.skippable = (
            (kind == "word" and self.plain in FILLER_WORDS)
            or (kind == "punct" and text in SKIPPABLE_PUNCT)
            or self.canonical_skip
        )

    def __repr__(self) -> str:
        """Debug representation."""
        return f"Token({self.kind}, {self.text!r})"


class NormalizedTask:
    """A task ready for matching: text, tokens and the set of its content words.

    ``skip_to[i]`` is the first index >= i whose token is not skippable (``len(tokens)`` if
    none), which lets patterns skip fillers in O(1). ``cache`` memoises slot parses across all
    the patterns tried against this task.
    """

    __slots__ = ("original", "text", "tokens", "words", "skip_to", "too_long", "cache")

    def __init__(self, task: str) -> None:
        """Normalise ``task``."""
        self.original = task
        self.cache: dict[tuple[str, int, int], object] = {}
        self.too_long = len(task) > MAX_TASK_CHARS
        if self.too_long:
            self.text = ""
            self.tokens: tuple[Token, ...] = ()
        else:
            self.text = normalize_text(task)
            self.tokens = tuple(
                Token(m.lastgroup or "punct", m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(self.text)
            )
            _canonical_skips(self.text, self.tokens)
        self.words: frozenset[str] = frozenset(
            t.fold for t in self.tokens if t.kind in ("word", "number") and not t.skippable
        )
        n = len(self.tokens)
        skip_to = [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            skip_to[i] = skip_to[i + 1] if self.tokens[i].skippable else i
        self.skip_to = skip_to

    def span_text(self, start: int, end: int) -> str:
        """The task's text from token ``start`` to token ``end - 1`` inclusive."""
        return self.text[self.tokens[start].start : self.tokens[end - 1].end]


@lru_cache(maxsize=256)
def normalized(task: str) -> NormalizedTask:
    """``NormalizedTask(task)``, shared: one request normalises its task once for the anchor
    lookup and every index it is matched against (learned, built-in). Safe to share: a
    normalised task never changes after construction except for its ``cache`` of slot parses,
    which are pure functions of the task."""
    return NormalizedTask(task)


def _canonical_skips(text: str, tokens: tuple[Token, ...]) -> None:
    """Mark intra-word hyphens and canonical phrases (a leading request, "in Python") skippable."""
    for i, t in enumerate(tokens):
        if (
            t.text == "-"
            and 0 < i < len(tokens) - 1
            and tokens[i - 1].end == t.start == tokens[i + 1].start - 1
            and tokens[i - 1].kind in ("word", "number")
            and tokens[i + 1].kind == "word"
        ):
            t.skippable = t.canonical_skip = True
    kept = [i for i, t in enumerate(tokens) if not (t.kind == "punct" and t.skippable)]
    words = [tokens[i].plain if tokens[i].kind == "word" else None for i in kept]
    for k in phrase_drops(words):
        t = tokens[kept[k]]
        if not t.skippable:
            t.skippable = t.canonical_skip = True


def normalize_text(task: str) -> str:
    """NFKC, ASCII quotes, and no surrounding whitespace or trailing punctuation."""
    text = unicodedata.normalize("NFKC", task).translate(_QUOTES).strip()
    while text and text[-1] in TRAILING_PUNCT:
        text = text[:-1].rstrip()
    return text
