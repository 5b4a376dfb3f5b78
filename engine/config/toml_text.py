"""Reading TOML with errors that name the file and line, and finding where a key is written.

``tomllib`` reports syntax errors as "... (at line 3, column 5)"; we turn that into one
``ConfigError`` naming the file and line. ``locate_key`` finds the line that sets a key path so
that type and range errors can point at it too.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_AT_END = re.compile(r"\s*\(at end of document\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(
    r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)
MAX_CONFIG_BYTES = 1_000_000
MAX_DEPTH = 32  # tables and arrays; Templar's own settings nest 4 deep


def _too_deep(value: Any) -> bool:
    """True when ``value`` nests deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return False


def split_key(dotted: str) -> tuple[str, ...]:
    """Split a TOML dotted key (``a."b.c".d``) into its parts; raises ValueError when malformed."""
    try:
        node: Any = tomllib.loads(f"{dotted} = 0")
    except tomllib.TOMLDecodeError:
        raise ValueError(f"not a valid key: {dotted!r}") from None
    parts: list[str] = []
    while isinstance(node, dict):
        ((name, node),) = node.items()
        parts.append(name)
    return tuple(parts)


def _split_loose(dotted: str) -> tuple[str, ...]:
    try:
        return split_key(dotted)
    except ValueError:
        return ()


def _quote(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'


def join_key(path: tuple[str, ...] | list[str]) -> str:
    """The dotted display form of a key path, quoting parts that need it."""
    return ".".join(_quote(p) for p in path)


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """Parse TOML text; a syntax error becomes one ConfigError naming file and line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError(f"file is larger than {MAX_CONFIG_BYTES // 1000} kB", file=file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.search(message)
        line = int(found.group(1)) if found else None
        if line is None and _AT_END.search(message):
            line = len(text.rstrip().splitlines()) or 1
        message = _AT_END.sub(" (at end of file)", _AT_LINE.sub("", message))
        raise ConfigError(f"invalid TOML: {message}", file=file, line=line) from None
    except RecursionError:
        raise ConfigError("invalid TOML: nested too deeply", file=file) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConfigError(f"invalid TOML: {str(exc).split(';')[0]}", file=file) from None
    if _too_deep(data):
        raise ConfigError(f"invalid TOML: nested too deeply (more than {MAX_DEPTH} levels)", file=file)
    return data


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Read and parse a TOML file, returning the data and its text (for line lookups)."""
    from engine.safe_files import UnreadableFile, read_regular

    try:  # a FIFO, /dev/zero or a huge file is refused at once, never read or waited on
        raw = read_regular(path, MAX_CONFIG_BYTES, what="file", describe_limit=f"{MAX_CONFIG_BYTES // 1000} kB")
    except UnreadableFile as exc:
        raise ConfigError(exc.reason, file=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not valid UTF-8", file=str(path), line=line) from None
    return parse_toml(text, str(path)), text


def parse_value(text: str) -> Any:
    """Parse a TOML value written on a command line (``10``, ``true``, ``["a", "b"]``)."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        raise ValueError(f"not a TOML value: {text!r} (quote strings: '\"text\"')") from None
    except RecursionError:
        raise ValueError("not a TOML value: nested too deeply") from None
    if _too_deep(value):
        raise ValueError(f"not a TOML value: nested too deeply (more than {MAX_DEPTH} levels)")
    return value


def locate_key(text: str | None, path: tuple[str, ...]) -> int | None:
    """Best-effort line number (1-based) where ``path`` (or its nearest table) is set in ``text``."""
    if not text:
        return None
    table: tuple[str, ...] = ()
    best: int | None = None
    best_len = 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and "=" not in line.split("]")[0]:
            table = _split_loose(header.group(1))
            full = table
        else:
            keyline = _KEYLINE.match(line)
            if not keyline:
                continue
            full = table + _split_loose(keyline.group(1))
        common = 0
        for a, b in zip(full, path):
            if a != b:
                break
            common += 1
        if common == len(path) and len(full) >= len(path):
            return number
        if common == len(full) and common > best_len:
            best, best_len = number, common
    return best
