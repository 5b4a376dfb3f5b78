"""Indented JSON for ``--json`` output: the same text as ``json.dumps(data, indent=2,
default=str, ensure_ascii=False)``, written faster when it holds long lists of flat rows.

With ``indent`` set, the standard library encodes in Python, item by item (``templar stats
--json`` at 1M ledger rows prints 5,000 false-hit rows: 0.023 s CPU). Here the C encoder writes
every container whose values are all plain scalars, with the indented line break as its item
separator; a list of such dicts is one C call, its row boundaries re-indented after. Other
containers are walked; anything else (a key that is not a string, a value ``default=str`` turns
into text) is left to ``json.dumps`` and shifted to its depth.

Why the text is the same: JSON strings hold no raw line break, so every line break in the
output is a separator the encoder wrote, and ``},<line break>`` can only end a row.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # None without the C accelerator

_SCALARS = frozenset((str, int, float, bool, type(None)))
_encoders: dict[str, Any] = {}


def dumps(data: Any, indent: int = 2) -> str:
    """``json.dumps(data, indent=indent, default=str, ensure_ascii=False)``."""
    if _c_make_encoder is not None:
        try:
            return _encode(data, 0, indent)
        except TypeError:  # the accelerator's private signature changed in this Python: the plain way
            pass
    return json.dumps(data, indent=indent, default=str, ensure_ascii=False)


def _c(separator: str) -> Any:
    """A C encoder (``default=str``, not ASCII-only) writing ``separator`` between items."""
    encoder = _encoders.get(separator)
    if encoder is None:
        encoder = _encoders[separator] = _c_make_encoder(
            None, str, json.encoder.encode_basestring, None, ": ", separator, False, False, True
        )
    return encoder


def _scalars(values: Any) -> bool:
    return set(map(type, values)) <= _SCALARS


def _encode(o: Any, level: int, indent: int) -> str:
    kind = type(o)
    if kind is not dict and kind is not list and kind is not tuple:
        return _slow(o, level, indent)
    if not o:
        return "{}" if kind is dict else "[]"
    if kind is dict and not set(map(type, o)) <= {str}:
        return _slow(o, level, indent)
    pad, inner = " " * (indent * level), "\n" + " " * (indent * (level + 1))
    values = o.values() if kind is dict else o
    if _scalars(values):
        body = "".join(_c("," + inner)(o, 0))[1:-1]
    elif kind is not dict and _flat_rows(o):
        deeper = inner + " " * indent
        text = "".join(_c("," + deeper)(o, 0))[2:-2]  # without the outer "[{" and "}]"
        body = "{" + deeper + text.replace("}," + deeper + "{", inner + "}," + inner + "{" + deeper) + inner + "}"
    elif kind is dict:
        body = ("," + inner).join(
            json.dumps(k, ensure_ascii=False) + ": " + _encode(v, level + 1, indent) for k, v in o.items()
        )
    else:
        body = ("," + inner).join(_encode(v, level + 1, indent) for v in o)
    opening, closing = ("{", "}") if kind is dict else ("[", "]")
    return opening + inner + body + "\n" + pad + closing


def _flat_rows(items: Any) -> bool:
    """Every item a non-empty dict of string keys and scalar values."""
    return (
        set(map(type, items)) == {dict}
        and all(items)
        and set(map(type, chain.from_iterable(items))) == {str}
        and _scalars(chain.from_iterable(map(dict.values, items)))
    )


def _slow(o: Any, level: int, indent: int) -> str:
    text = json.dumps(o, indent=indent, default=str, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * (indent * level)) if level else text
