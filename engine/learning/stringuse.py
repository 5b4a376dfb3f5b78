"""What the code does with a string parameter, and the slot type that follows (accept time).

A string slot is typed from the ORIGINAL value AND from how the code uses it. The code is read
with :mod:`ast` (never run): every str literal equal to the value is found, then followed
through simple names (``SEP = ";"`` then ``line.split(SEP)``; a parameter default
``def f(sep=SEP)``; a class attribute read as ``self.SEP``; an argument of a function or
class defined in the code, to that parameter's uses). Each place the value reaches is a
use:

    x.strftime(V)  datetime.strptime(s, V)                      -> strftime
    re.compile(V)  re.search(V, s)  re.sub(V, ...)  ...         -> regex; regex(groups=N,names=..)
                                                                   when the code reads groups
                                                                   (group(), findall, sub, re.split);
                                                                   regex(literal) for a
                                                                   separator like "," or ";"
    glob(V)  Path.glob(V)  rglob(V)  fnmatch(name, V)           -> glob
    V % args   logger.info(V, arg, ...)                         -> printf(signature)
    V.format(...)                                               -> format(signature)
    encoding=V  s.encode(V)  b.decode(V)                        -> encoding
    content_type=V  media_type=V  mimetype=V                    -> mime
    requests.get(V)  httpx.post(V)  urlopen(V)  url=V           -> url
    os.getenv(V)  os.environ.get(V)  os.environ[V]              -> envvar
    ZoneInfo(V)  pytz.timezone(V)  tz.gettz(V)                  -> timezone
    logging.Formatter(V)  basicConfig(format=V)                 -> logfmt
    format(x, V)  f"{x:{V}}"                                    -> format_spec(n|s)
    open(V)  Path(V)                                            -> path
    s.split(V)  s.partition(V)                                  -> non-empty
    s.startswith(V)  removeprefix(V)  replace(V, ..)  V in s    -> non-empty, not blank, and not
                                                                   written as a glob or regex
    s.strip(V)                                                  -> non-empty
    delimiter=V  quotechar=V  s.center(n, V)                    -> exactly one character
    V.join(...)  print(sep=V, end=V)  s.replace(x, V)           -> anything, even "" or " "
    anything else (a message, a label, a constant, a key)       -> not empty, not blank;
                                                                   and a unit of measure
                                                                   ("MB", "ms") -> unit(MB):
                                                                   the code's factors fit it

A value that is only PART of a glob, regex, path or date format (``os.path.join(d, V)``,
``d + V``, ``f"{d}/{V}"``, ``V.lower()``) takes that notation too.

A notation use makes the slot that notation's type (the original value must be valid in it,
else the suggestion stays pending: the code would not work either); other uses tighten
``string(MIN..MAX,!blank)``. Two different notations for one value are refused.

:func:`string_probe_problems` is the generalisation check for degenerate values: it renders
the template with an empty, a blank, a tab, a newline, a quote and a backslash value -- every
one the slot accepts -- and each rendering must validate. So a degenerate value is served only
if the slot accepts it AND it rendered and validated at accept time; the slot refuses the rest
at match time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from engine.learning.body import Param
from engine.templates.errors import SlotError
from engine.templates.escapes import decode_task_string
from engine.templates.notation import (
    format_signature,
    format_spec_kind,
    has_regex_metachar,
    looks_like_pattern,
    printf_signature,
    unit_of,
)
from engine.templates.slots import parse_slot_type
from engine.templates.stringslots import (
    DEFAULT_MAX,
    STRING_KINDS,
    FormatSlot,
    PrintfSlot,
    RegexSlot,
    StringSlot,
)

PROBES = ("", " ", "\t", "\n", 'say "hi"', "it's", "back\\slash", "C:\\temp\\new")
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical"})
_RE_FUNCS = frozenset({"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"})
_NEEDLE_METHODS = frozenset(
    {"startswith", "endswith", "removeprefix", "removesuffix", "replace", "find", "rfind", "index", "rindex", "count"}
)
_GROUP_READERS = frozenset(
    {"group", "groups", "groupdict", "findall", "expand", "lastindex", "lastgroup", "sub", "subn"}
)
_URL_KEYWORDS = frozenset({"url", "base_url", "endpoint"})
_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
_HTTP_RECEIVERS = frozenset({"requests", "httpx", "session", "client", "http"})
_CARRIED = frozenset({"glob", "regex", "path", "strftime"})
_CARRYING_CALLS = frozenset({("join", "path"), ("str", ""), ("Path", ""), ("PurePath", "")})
_CARRYING_METHODS = frozenset({"lower", "upper", "casefold", "strip", "lstrip", "rstrip"})
_ONE_CHAR_KEYWORDS = frozenset({"delimiter", "quotechar", "escapechar", "fillchar"})
_MIME_KEYWORDS = frozenset({"content_type", "media_type", "mimetype", "mime_type"})


@dataclass(frozen=True)
class Uses:
    """What the code does with one string value."""

    notations: tuple[tuple[str, str], ...] = ()  # (notation kind, signature or "")
    min_len: int = 0
    max_len: int = DEFAULT_MAX
    nonblank: bool = False
    group_sensitive: bool = False  # the code reads regex groups (group(), findall, sub, re.split)
    empty_ok: bool = False  # a use where "" means something (joiner, sep=, end=, replacement)
    blank_ok: bool = False  # a use where whitespace means something (separator, fill, joiner)
    literal: bool = False  # compared literally (a prefix, a needle): not a glob or regex

    @property
    def plain(self) -> bool:
        """No use that says anything about the value (a constant, a label, a message)."""
        return self == Uses(group_sensitive=self.group_sensitive)


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_docstring(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    return isinstance(parents.get(node), ast.Expr)


def _bound_names(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> Iterator[str]:
    """Names a value expression is bound to: assignment targets and parameter defaults."""
    parent = parents.get(node)
    if isinstance(parent, ast.Assign) and parent.value is node:
        for target in parent.targets:
            if isinstance(target, ast.Name):
                yield target.id
            elif isinstance(target, ast.Attribute):
                yield target.attr
    elif isinstance(parent, ast.AnnAssign) and parent.value is node:
        if isinstance(parent.target, ast.Name):
            yield parent.target.id
        elif isinstance(parent.target, ast.Attribute):
            yield parent.target.attr
    elif isinstance(parent, ast.arguments):
        positional = parent.posonlyargs + parent.args
        if node in parent.defaults:
            offset = len(positional) - len(parent.defaults)
            yield positional[offset + parent.defaults.index(node)].arg
        for arg, default in zip(parent.kwonlyargs, parent.kw_defaults):
            if default is node:
                yield arg.arg


def _parameter_names(call: ast.Call, node: ast.AST, functions: dict[str, ast.arguments]) -> Iterator[str]:
    """The parameter of a function defined in the code that ``node`` is passed to."""
    name = (
        call.func.id
        if isinstance(call.func, ast.Name)
        else (call.func.attr if isinstance(call.func, ast.Attribute) else "")
    )
    args = functions.get(name)
    if args is None:
        return
    positional = [a.arg for a in args.posonlyargs + args.args]
    if positional and positional[0] in ("self", "cls"):
        positional = positional[1:]  # a method call or a class instantiation (via __init__)
    if node in call.args and call.args.index(node) < len(positional):
        yield positional[call.args.index(node)]
    for keyword in call.keywords:
        if keyword.value is node and keyword.arg:
            yield keyword.arg


def occurrences(tree: ast.AST, value: str) -> tuple[list[ast.AST], dict[ast.AST, ast.AST]]:
    """The expressions that carry ``value``: equal literals and reads of names bound to them."""
    parents = _parents(tree)
    found: list[ast.AST] = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and n.value == value
        and isinstance(n.value, str)
        and not _is_docstring(n, parents)
    ]
    functions: dict[str, ast.arguments] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.setdefault(n.name, n.args)
        elif isinstance(n, ast.ClassDef):
            init = next((b for b in n.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
            if init is not None:
                functions.setdefault(n.name, init.args)
    names: set[str] = set()
    frontier = list(found)
    for _ in range(4):  # a few hops: LIT -> CONST -> default parameter -> ...
        new = {name for node in frontier for name in _bound_names(node, parents)}
        for node in frontier:
            call = parents.get(node)
            call = parents.get(call) if isinstance(call, ast.keyword) else call
            if isinstance(call, ast.Call):
                new |= set(_parameter_names(call, node, functions))
        new -= names
        if not new:
            break
        names |= new
        frontier = [
            n
            for n in ast.walk(tree)
            if (isinstance(n, ast.Name) and n.id in new and isinstance(n.ctx, ast.Load))
            or (isinstance(n, ast.Attribute) and n.attr in new and isinstance(n.ctx, ast.Load))
        ]
        found += frontier
    return found, parents


def _call_name(call: ast.Call) -> tuple[str, str]:
    """(method or function name, the receiver's last name: ``os.environ.get`` -> environ)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        value = func.value
        receiver = value.id if isinstance(value, ast.Name) else value.attr if isinstance(value, ast.Attribute) else ""
        return func.attr, receiver
    if isinstance(func, ast.Name):
        return func.id, ""
    return "", ""


def _argument_uses(node: ast.AST, call: ast.Call, value: str) -> Iterator[tuple[str, str]]:
    """Uses of ``node`` as an argument of ``call``: (use, signature)."""
    name, receiver = _call_name(call)
    keyword = next((k.arg for k in call.keywords if k.value is node), None)
    pos = call.args.index(node) if node in call.args else None
    if keyword == "encoding" or (name in ("encode", "decode") and pos == 0):
        yield "encoding", ""
    if keyword in _ONE_CHAR_KEYWORDS or (name in ("center", "ljust", "rjust") and pos == 1):
        yield "onechar", ""
    if keyword in _MIME_KEYWORDS:
        yield "mime", ""
    if keyword in ("datefmt", "date_format") or (name == "strftime" and pos == 0) or (name == "strptime" and pos == 1):
        yield "strftime", ""
    if receiver == "re" and name in _RE_FUNCS and (pos == 0 or keyword == "pattern"):
        yield "regex", ""
    if (
        (name in ("glob", "iglob", "rglob") and (pos == 0 or keyword in ("pattern", "pathname")))
        or (name in ("fnmatch", "fnmatchcase") and (pos == 1 or keyword == "pat"))
        or (receiver == "fnmatch" and name == "filter" and pos == 1)
    ):
        yield "glob", ""
    if name in ("open", "Path", "PurePath") and pos == 0 and receiver in ("", "pathlib", "io", "builtins"):
        yield "path", ""
    if name in ("split", "rsplit", "partition", "rpartition") and receiver != "re" and (pos == 0 or keyword == "sep"):
        yield "separator", ""
    if name in _NEEDLE_METHODS and pos == 0 and receiver != "re":
        yield "needle", ""
    if name in ("strip", "lstrip", "rstrip") and pos == 0:
        yield "chars", ""
    if (
        (keyword in ("sep", "end") and name == "print")
        or (name == "replace" and pos == 1)
        or (receiver == "re" and name in ("sub", "subn") and (pos == 1 or keyword == "repl"))
    ):
        yield "anything", ""
    if (name in ("getenv", "putenv", "unsetenv") and pos == 0) or (
        receiver == "environ" and name in ("get", "pop", "setdefault") and pos == 0
    ):
        yield "envvar", ""
    if (name == "Formatter" and (pos == 0 or keyword == "fmt")) or (name == "basicConfig" and keyword == "format"):
        yield "logfmt", ""
    if name in ("ZoneInfo", "timezone", "gettz") and pos == 0 and receiver != "datetime":
        yield "timezone", ""
    if name == "format" and receiver == "" and pos == 1:
        yield "format_spec", _safe(format_spec_kind, value)
    if keyword in _URL_KEYWORDS or (
        pos == 0 and (name == "urlopen" or (name in _HTTP_METHODS and receiver in _HTTP_RECEIVERS))
    ):
        yield "url", ""
    extra = len(call.args) - (pos or 0) - 1
    if pos is not None and extra > 0 and ((name in _LOG_METHODS and pos == 0) or (name == "log" and pos == 1)):
        yield "printf", _safe(printf_signature, value)


def _safe(signature: Callable[[str], str], value: str) -> str:
    try:
        return signature(value)
    except SlotError:
        return "?"


def _uses_of(node: ast.AST, parents: dict[ast.AST, ast.AST], value: str) -> Iterator[tuple[str, str]]:
    parent = parents.get(node)
    if isinstance(parent, ast.Attribute) and parent.value is node:
        call = parents.get(parent)
        if isinstance(call, ast.Call) and call.func is parent:
            if parent.attr in ("format", "format_map"):
                yield "format", _safe(format_signature, value)
            elif parent.attr == "join":
                yield "anything", ""
    elif isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Mod) and parent.left is node:
        yield "printf", _safe(printf_signature, value)
    elif isinstance(parent, ast.Call):
        yield from _argument_uses(node, parent, value)
    elif isinstance(parent, ast.keyword):
        call = parents.get(parent)
        if isinstance(call, ast.Call):
            yield from _argument_uses(node, call, value)
    elif isinstance(parent, ast.FormattedValue) and parent.value is node:
        joined = parents.get(parent)
        outer = parents.get(joined) if joined is not None else None
        if isinstance(outer, ast.FormattedValue) and outer.format_spec is joined:
            yield "format_spec", _safe(format_spec_kind, value)
    elif isinstance(parent, ast.Dict) and node in parent.values:
        key = parent.keys[parent.values.index(node)]
        if isinstance(key, ast.Constant) and str(key.value).lower() in ("content-type", "accept"):
            yield "mime", ""
    elif isinstance(parent, ast.Subscript) and parent.slice is node:
        if isinstance(parent.value, ast.Attribute) and parent.value.attr == "environ":
            yield "envvar", ""
    elif isinstance(parent, ast.Compare) and parent.left is node:
        if parent.ops and isinstance(parent.ops[0], (ast.In, ast.NotIn)):
            yield "needle", ""


def analyse(code: str, value: str) -> Uses:
    """What ``code`` does with the str ``value`` (empty :class:`Uses` if it does not parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return Uses()
    nodes, parents = occurrences(tree, value)
    notations: list[tuple[str, str]] = []
    lo, hi, nonblank, empty_ok, blank_ok, literal = 0, DEFAULT_MAX, False, False, False, False
    for node in nodes:
        for carrier in _carriers(node, parents):
            if isinstance(carrier, ast.BinOp) and isinstance(carrier.op, ast.Div) and ("path", "") not in notations:
                notations.append(("path", ""))  # Path(d) / V: a path component
            for use, _signature in _uses_of(carrier, parents, value):
                if use in _CARRIED and (use, "") not in notations:
                    notations.append((use, ""))  # the value is part of a glob, regex, path or date format
        for use, signature in _uses_of(node, parents, value):
            if use in ("separator", "chars"):
                lo, blank_ok = max(lo, 1), True
            elif use == "needle":
                lo, nonblank, literal = max(lo, 1), True, True
            elif use == "onechar":
                lo, hi, blank_ok = max(lo, 1), min(hi, 1), True
            elif use == "anything":
                empty_ok = blank_ok = True
            elif (use, signature) not in notations:
                notations.append((use, signature))
    return Uses(tuple(notations), lo, hi, nonblank, _reads_groups(tree), empty_ok, blank_ok, literal)


def _carriers(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    """Expressions that contain the value as a part: ``os.path.join(d, V)``, ``d + V``,
    ``Path(d) / V``, ``f"{d}/{V}"``, ``str(...)``, ``V.lower()`` (a few levels up)."""
    current = node
    for _ in range(3):
        parent = parents.get(current)
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add | ast.Div):
            current = parent
        elif isinstance(parent, ast.FormattedValue) and parent.value is current:
            joined = parents.get(parent)
            if not isinstance(joined, ast.JoinedStr) or isinstance(parents.get(joined), ast.FormattedValue):
                return  # a format spec, not a part of the text
            current = joined
        elif isinstance(parent, ast.Call) and current in parent.args and _call_name(parent) in _CARRYING_CALLS:
            current = parent
        elif isinstance(parent, ast.Attribute) and parent.attr in _CARRYING_METHODS:
            call = parents.get(parent)
            if not isinstance(call, ast.Call) or call.func is not parent:
                return
            current = call
        else:
            return
        yield current


def _reads_groups(tree: ast.AST) -> bool:
    """Whether the code reads regex groups anywhere (precision first: anywhere at all)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in _GROUP_READERS:
                return True
            if node.attr == "split" and isinstance(node.value, ast.Name) and node.value.id == "re":
                return True
    return False


def _regex_spec(value: str, group_sensitive: bool) -> str:
    """``regex`` with the group shape the code relies on; a separator-like original value
    (a few punctuation characters, no metacharacter) stays a plain separator."""
    try:
        compiled = re.compile(value)
    except (re.error, OverflowError, RecursionError):
        return "regex"
    if len(value) <= 3 and not any(ch.isalnum() for ch in value) and not has_regex_metachar(value):
        return "regex(literal)"
    if not group_sensitive:
        return "regex"
    return RegexSlot(compiled.groups, frozenset(compiled.groupindex)).spec


def _type_for(param: Param, uses: Uses) -> tuple[str, list[str]]:
    """The refined slot type spelling of a string parameter, and problems."""
    kinds = {k for k, _ in uses.notations}
    if "path" in kinds and len(kinds) > 1:  # a glob or date format inside a path: the stronger notation
        uses = replace(uses, notations=tuple(n for n in uses.notations if n[0] != "path"))
        kinds.discard("path")
    if len(kinds) > 1:
        return param.type, [f"parameter {param.name}: the code uses its value as {' and '.join(sorted(kinds))}"]
    problems: list[str] = []
    current = parse_slot_type(param.type)
    if uses.notations:
        kind, signature = uses.notations[0]
        if signature == "?" or len(uses.notations) > 1 and kind in ("printf", "format"):
            return param.type, [f"parameter {param.name}: {param.value!r} is not a valid {kind} string"]
        spec = f"{kind}({signature})" if kind in ("printf", "format", "format_spec") else kind
        if kind == "regex":
            spec = _regex_spec(str(param.value), uses.group_sensitive)
        if param.base_type not in ("string", kind):
            problems.append(f"parameter {param.name}: typed {param.type} but the code uses it as {kind}")
        return spec, problems
    if isinstance(current, (PrintfSlot, FormatSlot)) and not current.signature:
        signature = _safe(printf_signature if current.kind == "printf" else format_signature, str(param.value))
        return f"{current.kind}({signature})", problems  # the original value's own arguments
    if type(current) is not StringSlot:
        return param.type, problems  # a notation chosen in review stays (checked below)
    value = str(param.value)
    unit = unit_of(value)
    if unit is not None and len(value) > 1 and uses.plain:
        return f"unit({unit})", problems  # a unit the code's factors are written for
    # an empty or blank value is served only where the code gives it a meaning (or it was
    # the original value): elsewhere (messages, labels, names, keys) it is a degenerate task
    lo = max(current.min_len, uses.min_len, 0 if uses.empty_ok or value == "" else 1)
    hi = min(current.max_len, uses.max_len)
    nonblank = current.nonblank or uses.nonblank or (not uses.blank_ok and bool(value.strip()))
    if lo > hi:
        return param.type, [f"parameter {param.name}: no string length fits how the code uses it"]
    literal = current.literal or (uses.literal and not looks_like_pattern(value))
    return StringSlot(lo, hi, nonblank, literal).spec, problems


def _decoded_value(code: str, param: Param) -> Param:
    """A value the suggester copied with its task escapes (``\\t``) becomes the decoded value,
    when the code holds the decoded one (the code is the ground truth of what was meant)."""
    value = param.value
    if not isinstance(value, str) or "\\" not in value:
        return param
    decoded = decode_task_string(value)
    if decoded == value:
        return param
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return param
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    if decoded in literals and value not in literals:
        return replace(param, value=decoded)
    return param


def refine_string_params(code: str, params: list[Param]) -> tuple[list[Param], list[str]]:
    """Params with string slots typed by their use in ``code``; problems found on the way."""
    out: list[Param] = []
    problems: list[str] = []
    for param in params:
        if param.base_type not in STRING_KINDS or not isinstance(param.value, str):
            out.append(param)
            continue
        if param.type.strip() in ("unit", "format_spec"):
            param = replace(param, type="string")  # their argument is read from the code and value
        try:
            parse_slot_type(param.type)
        except SlotError as exc:
            problems.append(f"parameter {param.name}: {exc}")
            out.append(param)
            continue
        param = _decoded_value(code, param)
        spec, found = _type_for(param, analyse(code, str(param.value)))
        problems += found
        refined = replace(param, type=spec)
        try:
            parse_slot_type(spec).coerce(param.value)
        except SlotError as exc:
            problems.append(f"parameter {param.name}: the original value does not fit {spec}: {exc}")
        out.append(refined)
    return out, problems
