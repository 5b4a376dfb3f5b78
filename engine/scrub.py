"""The one scrubber for every error path: text that may echo a credential is masked here.

``scrub(text)`` replaces

* any run of at least ``MIN_PIECE`` (6) characters that is a piece of a known secret value: the
  value of every environment variable a provider names in ``api_key_env`` (registered by the
  chain and the config loader), of the well-known key variables, and of every variable whose
  name says it holds a secret (``*_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*``, ...);
* common key shapes even when Templar never saw the value: ``sk-...``, ``sk-ant-...``,
  ``AIza...``, ``ghp_...``, ``xox?-...``, AWS access key ids and secret keys, ``Bearer <token>``,
  and ``api_key=...`` / ``x-api-key: ...`` style pairs.

Invariants: scrubbing happens on the whole text BEFORE any truncation (a cut-off key piece is
still a piece); the result never contains 6 consecutive characters of a known secret; the
replacement (``[redacted]``) cannot itself be mistaken for a key. Callers: provider failure
classification (events, ledger, chain errors), the CLI's error lines and ``--json``, the batch
results log, the app's notifications and log.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping

MIN_PIECE = 6
MASK = "[redacted]"

# Variables that hold provider credentials whatever the configuration says.
WELL_KNOWN_KEY_VARS = frozenset(
    {
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "MISTRAL_API_KEY",
        "GROQ_API_KEY",
        "DEEPSEEK_API_KEY",
        "TOGETHERAI_API_KEY",
        "TOGETHER_API_KEY",
        "OPENROUTER_API_KEY",
        "FIREWORKS_API_KEY",
        "XAI_API_KEY",
        "COHERE_API_KEY",
        "PERPLEXITYAI_API_KEY",
        "AZURE_API_KEY",
        "HUGGINGFACE_API_KEY",
        "HF_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
    }
)
# A variable whose NAME ends like this holds a secret (``*_API_KEY``, ``GITHUB_TOKEN``, ...) ...
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|_PAT)S?$", re.IGNORECASE)
# ... unless its value is a path or prose (``SSH_KEY=~/.ssh/id_ed25519``): masking pieces of
# those would mangle every file name in error text.
_NOT_A_KEY_VALUE = re.compile(r"^[/~.]|\s")

_SHAPES = re.compile(
    r"sk-ant-[A-Za-z0-9_-]{8,}"
    r"|sk-[A-Za-z0-9_-]{12,}"
    r"|AIza[0-9A-Za-z_-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
# "Bearer X", "api_key=X", "x-api-key: X", "key=X" (Gemini's query parameter), "token: X" ...
_PAIRS = re.compile(
    r"(?P<name>\bbearer\s+|\b(?:x-goog-api-key|x-api-key|api[_-]?key|access[_-]?token|secret|password|token|key|authorization)"
    r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)(?P<value>[^\s\"'&,;()\[\]{}]{6,})",
    re.IGNORECASE,
)

_lock = threading.Lock()
_names: set[str] = set()
_values: set[str] = set()
_grams_cache: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())


def remember_names(names: Iterable[str]) -> None:
    """Treat the values of these environment variables as secrets (from ``api_key_env``)."""
    with _lock:
        _names.update(n for n in names if n)


def remember_value(value: str | None) -> None:
    """Treat ``value`` as a secret (a key the chain is about to send)."""
    if value and len(value) >= MIN_PIECE:
        with _lock:
            _values.add(value)


def secret_values(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Every value the scrubber masks pieces of, read from the environment now."""
    env = os.environ if environ is None else environ
    with _lock:
        names = set(_names) | WELL_KNOWN_KEY_VARS
        values = set(_values)
    for name, value in env.items():
        if _SECRET_NAME.search(name) and len(value) >= 8 and not _NOT_A_KEY_VALUE.search(value):
            values.add(value)
    for name in names:
        named = env.get(name)
        if named and len(named) >= MIN_PIECE:
            values.add(named)
    return frozenset(values)


def _grams(values: frozenset[str]) -> frozenset[str]:
    global _grams_cache
    cached_values, grams = _grams_cache
    if cached_values == values:
        return grams
    grams = frozenset(v[i : i + MIN_PIECE] for v in values for i in range(len(v) - MIN_PIECE + 1))
    _grams_cache = (values, grams)
    return grams


def _mask_pieces(text: str, grams: frozenset[str]) -> str:
    """Replace every maximal run covered by secret 6-grams with the mask."""
    if not grams or len(text) < MIN_PIECE:
        return text
    covered = bytearray(len(text))
    for i in range(len(text) - MIN_PIECE + 1):
        if text[i : i + MIN_PIECE] in grams:
            covered[i : i + MIN_PIECE] = b"\x01" * MIN_PIECE
    if not any(covered):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def scrub(text: object, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every known secret piece and key-shaped token masked. Safe on any object."""
    value = text if isinstance(text, str) else str(text)
    value = _mask_pieces(value, _grams(secret_values(environ)))
    value = _SHAPES.sub(MASK, value)
    return _PAIRS.sub(lambda m: m.group("name") + MASK, value)


def scrub_data(data: object, environ: Mapping[str, str] | None = None) -> object:
    """``scrub`` applied to every string inside JSON-like data (dicts, lists, tuples)."""
    if isinstance(data, str):
        return scrub(data, environ)
    if isinstance(data, dict):
        return {k: scrub_data(v, environ) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [scrub_data(v, environ) for v in data]
    return data


__all__ = ["MASK", "MIN_PIECE", "remember_names", "remember_value", "scrub", "scrub_data", "secret_values"]
