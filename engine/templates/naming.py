"""Name helpers used as Jinja2 filters: case conversions and a simple English plural."""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_PASCAL_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_VOWELS = frozenset("aeiou")


def split_words(name: str) -> list[str]:
    """Split ``InvoiceLine``, ``invoice_line``, ``invoice-line`` or ``HTTPClient`` into words."""
    return _WORD_RE.findall(name)


def snake(name: str) -> str:
    """``InvoiceLine`` -> ``invoice_line``."""
    return "_".join(w.lower() for w in split_words(name))


def constant(name: str) -> str:
    """``InvoiceLine`` -> ``INVOICE_LINE``."""
    return snake(name).upper()


def kebab(name: str) -> str:
    """``InvoiceLine`` -> ``invoice-line``."""
    return "-".join(w.lower() for w in split_words(name))


def camel(name: str) -> str:
    """``invoice_line`` -> ``invoiceLine``."""
    words = split_words(name)
    if not words:
        return name
    return words[0].lower() + "".join(w.capitalize() for w in words[1:])


def pascal(name: str) -> str:
    """``invoice_line`` -> ``InvoiceLine``; a name already in PascalCase is kept as written."""
    if _PASCAL_RE.match(name):
        return name
    return "".join(w.capitalize() for w in split_words(name))


def humanize(name: str) -> str:
    """``InvoiceLine`` -> ``invoice line`` (for docstrings and messages)."""
    return " ".join(w.lower() for w in split_words(name))


def plural(word: str) -> str:
    """Simple English plural of the last word: box -> boxes, category -> categories, user -> users.

    Irregular nouns are not handled (person -> persons); the result stays an identifier when the
    input is one.
    """
    if not word:
        return word
    lower = word.lower()
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in _VOWELS:
        return word[:-1] + ("IES" if word[-1] == "Y" else "ies")
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + ("ES" if word[-1].isupper() else "es")
    return word + ("S" if word.isupper() and len(word) > 1 else "s")
