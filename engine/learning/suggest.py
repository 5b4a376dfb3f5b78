"""Asking a cheap model which parts of a solved task are parameters, and reading its answer.

The answer is untrusted JSON. It is parsed defensively: unknown slot types, names that are
not identifiers, values absent from the task, or a pattern that does not parse are reported
as the suggestion's reason and leave it pending for a person to fix in review.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from engine.learning.body import Param

SLOT_TYPES = ("identifier", "string", "integer", "number", "identifier_list", "field_list", "word", "choice")
#: String notation types a suggestion may also use. Not listed in the prompt (every prompt token
#: is paid on every suggestion): the review check types string slots from the code anyway.
NOTATION_TYPES = (
    "strftime",
    "regex",
    "glob",
    "printf",
    "format",
    "encoding",
    "mime",
    "path",
    "envvar",
    "logfmt",
    "format_spec",
    "unit",
    "timezone",
)
#: The types as offered to the model: a number the code only supports within limits gets a
#: range, either end optional ("integer(1..)" for a chunk size the code needs >= 1).
PROMPT_TYPES = ", ".join(
    "integer, integer(lo..hi)" if t == "integer" else "number, number(lo..hi)" if t == "number" else t
    for t in SLOT_TYPES
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

SYSTEM_PROMPT = (
    "You turn a solved programming task into a reusable template. Reply with one JSON object "
    "and nothing else. Never include secrets, keys or environment variables."
)

#: Compact on purpose (issue 13 item 5): it is asked only when deterministic parameterisation
#: (engine.learning.literals) could not decide, and every token is paid. The code is not sent,
#: only its names and literals: which task words are parameters is decided by what the code uses.
USER_PROMPT = """Which parts of the task are parameters (names, quoted strings, numbers, lists of names,
field lists "a: int, b: str")? Reply with JSON only:
{{"name": "snake_name", "pattern": "the task with each parameter as {{p:type}}, other words unchanged",
  "params": [{{"name": "p", "type": "one of {types}", "value": "exact text from the task (field_list:
  [[name, type], ...], identifier_list: [names])", "confidence": 0.0-1.0}}]}}

<task>
{task}
</task>
Names and literals in the code: {code}"""
MAX_CODE_WORDS = 80


@dataclass
class ParsedSuggestion:
    name: str
    pattern: str
    params: list[Param]
    confidence: float
    problems: list[str] = field(default_factory=list)


def code_words(code: str) -> str:
    """The code's distinct names (keywords aside) and literals, in order of appearance, capped."""
    import io
    import keyword
    import tokenize

    seen: dict[str, None] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            text = tok.string
            name = tok.type == tokenize.NAME and not keyword.iskeyword(text)
            short = (
                tok.type == tokenize.STRING and len(text) <= 60 and text.lstrip("rRbBuUfF")[:3] not in ('"""', "'''")
            )
            if name or short or tok.type == tokenize.NUMBER:
                seen.setdefault(text, None)
            if len(seen) >= MAX_CODE_WORDS:
                break
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(code.split()[:MAX_CODE_WORDS])
    return ", ".join(seen)


def build_messages(task: str, code: str) -> list[dict[str, str]]:
    user = USER_PROMPT.format(types=PROMPT_TYPES, task="{task}", code="{code}")
    values = {"{task}": task, "{code}": code_words(code)}
    user = re.sub(r"\{task\}|\{code\}", lambda m: values[m.group(0)], user)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _first_object(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    while start != -1:
        depth = 0
        in_string = False
        escape = False
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                if escape:
                    escape = False
                elif ch == "\\":
                    escape = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    try:
                        value = json.loads(text[start : i + 1])
                    except ValueError:
                        break
                    return value if isinstance(value, dict) else None
        start = text.find("{", start + 1)
    return None


def _value(type_: str, raw: Any) -> Any:
    base = type_.split("(", 1)[0]
    if base == "field_list":
        if not isinstance(raw, list) or not all(isinstance(x, (list, tuple)) and len(x) == 2 for x in raw):
            raise ValueError("a field_list value is a list of [name, type] pairs")
        return [(str(n), str(t)) for n, t in raw]
    if base == "identifier_list":
        if not isinstance(raw, list) or not raw:
            raise ValueError("an identifier_list value is a list of names")
        return [str(x) for x in raw]
    if base == "integer":
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ValueError("an integer value must be a whole number")
        return int(raw)
    if base == "number":
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError(f"a {base} value is text")
    return raw


def parse_suggestion(text: str) -> ParsedSuggestion:
    """Read the model's JSON; problems are collected, never raised."""
    data = _first_object(text)
    if data is None:
        return ParsedSuggestion("learned", "", [], 0.0, ["the suggestion was not a JSON object"])
    problems: list[str] = []
    name = str(data.get("name") or "learned")
    name = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:40] or "learned"
    pattern = data.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        problems.append("the suggestion has no pattern")
        pattern = ""
    params: list[Param] = []
    raw_params = data.get("params")
    if not isinstance(raw_params, list):
        raw_params = []
        problems.append("the suggestion has no params list")
    for item in raw_params[:20]:
        if not isinstance(item, dict):
            problems.append("a parameter is not an object")
            continue
        pname, ptype = str(item.get("name", "")), str(item.get("type", ""))
        if not _NAME.match(pname):
            problems.append(f"parameter name {pname!r} is not a snake_case identifier")
            continue
        if ptype.split("(", 1)[0] not in SLOT_TYPES + NOTATION_TYPES:
            problems.append(f"parameter {pname}: unknown type {ptype!r}")
            continue
        try:
            value = _value(ptype, item.get("value"))
        except (TypeError, ValueError) as exc:
            problems.append(f"parameter {pname}: {exc}")
            continue
        try:
            confidence = max(0.0, min(1.0, float(item.get("confidence", 0.0))))
        except (TypeError, ValueError):
            confidence = 0.0
        params.append(Param(pname, ptype, value, str(item.get("description", ""))[:200], confidence))
    confidence = min((p.confidence for p in params), default=0.0)
    return ParsedSuggestion(name, pattern.strip(), params, confidence, problems)
