"""Reading a number slot's valid range, and the order between two number slots, from the code.

Pure and static: the code is parsed (``ast``), never run. For each number parameter the
literal that holds its original value is found; if it initialises a name (a default argument,
``NAME = 3``, ``NAME: int = 3``) the rules below read every use of that name, else the uses of
the literal itself:

====================================================  =========================================
code                                                  learned
====================================================  =========================================
``if n < 1: raise ...`` (also ``<=``, ``>``, ``>=``,   the complement of the raising condition:
``if not n: raise``; ``self.n`` counts as ``n``)
``==``, ``not (...)``, ``or`` of such tests)           ``n >= 1``
``assert 0 < n <= 10``                                 the asserted condition
``range(a, b, n)``, ``x[::n]``, ``x / n``, ``x // n``,  ``n != 0``; with the learned value's sign
``x % n``                                              (``n >= 1`` for a positive integer)
``range(n)``, ``[0] * n``, ``islice(xs, n)``,          ``n >= 1`` when learned >= 1 (a count: 0
``most_common(n)``, ``token_hex(n)``                   gives nothing); else ``n >= 0``
``range(n + 1)``, ``x[n:]``, ``x[:n]``                 ``n >= 0`` (not ``range(n, m)``: any start)
``time.sleep(n)``, ``math.sqrt(n)``, ``n <= len(x)``
``deque(maxlen=n)``, ``timeout=n``, ``max_workers=n``   ``n > 0`` (0 means unbounded, never, or fails)
====================================================  =========================================

Two number parameters are **related** when their names pair up (lo/hi, min_x/max_x, start/stop,
...) or they meet in one comparison, slice or call. A related pair gets the order of its learned
values (``hi >= lo``) unless the code handles both orders: ``min(a, b)``/``max(a, b)``/
``sorted((a, b))``, a swap, or a guard that raises on the wrong order.

A bound the learned value itself would break is ignored (the reading was wrong, not the code).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from dataclasses import dataclass

_PAIRS = (
    ("lo", "hi"),
    ("low", "high"),
    ("min", "max"),
    ("minimum", "maximum"),
    ("start", "stop"),
    ("start", "end"),
    ("begin", "end"),
    ("first", "last"),
    ("from", "to"),
    ("lower", "upper"),
    ("floor", "ceiling"),
    ("floor", "ceil"),
    ("least", "most"),
    ("left", "right"),
    ("a", "b"),
)
_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.Gt,
    ast.Gt: ast.Lt,
    ast.LtE: ast.GtE,
    ast.GtE: ast.LtE,
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
}
_NEGATE = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
#: Keyword arguments whose value must be positive (0 means "unbounded", "never" or an error):
#: ``Queue(maxsize=0)`` is unbounded, ``deque(maxlen=0)`` always empty, ``timeout=0`` non-blocking.
_POSITIVE_KEYWORDS = frozenset(
    {
        "maxsize",
        "maxlen",
        "max_workers",
        "processes",
        "workers",
        "capacity",
        "chunksize",
        "chunk_size",
        "batch_size",
        "page_size",
        "pool_size",
        "timeout",
        "interval",
        "max_retries",
        "retries",
        "max_size",
    }
)
_NONNEGATIVE_CALLS = frozenset({"range", "sleep", "sqrt", "ljust", "rjust", "zfill", "center"})
_COUNT_CALLS = frozenset(
    {
        "islice",
        "most_common",
        "nlargest",
        "nsmallest",
        "sample",
        "token_hex",
        "token_urlsafe",
        "token_bytes",
        "choices",
        "repeat",
    }
)


@dataclass(frozen=True)
class Bounds:
    """An inclusive range; ``None`` is open."""

    lo: float | None = None
    hi: float | None = None

    def tighten(self, lo: float | None = None, hi: float | None = None) -> Bounds:
        new_lo = self.lo if lo is None or (self.lo is not None and self.lo >= lo) else lo
        new_hi = self.hi if hi is None or (self.hi is not None and self.hi <= hi) else hi
        return Bounds(new_lo, new_hi)

    def contains(self, value: float) -> bool:
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)


def parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def _literal(tree: ast.AST, value: object) -> ast.Constant | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is type(value) and node.value == value:
            return node
    return None


def bound_name(tree: ast.AST, value: object) -> tuple[str | None, ast.Constant | None]:
    """The name the literal ``value`` initialises (or ``None``), and the literal node."""
    node = _literal(tree, value)
    if node is None:
        return None, None
    for parent in ast.walk(tree):
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = parent.args
            positional = args.posonlyargs + args.args
            for arg, default in zip(positional[len(positional) - len(args.defaults) :], args.defaults):
                if default is node:
                    return arg.arg, node
            for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
                if kw_default is node:
                    return arg.arg, node
        elif isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1:
            if isinstance(parent.targets[0], ast.Name):
                return parent.targets[0].id, node
        elif isinstance(parent, ast.AnnAssign) and parent.value is node and isinstance(parent.target, ast.Name):
            return parent.target.id, node
    return None, node


def is_used(tree: ast.AST, value: object) -> bool:
    """Whether the literal ``value`` takes part in the code's logic: the name it initialises is
    read somewhere, or (not initialising a name) the literal sits inside an expression."""
    name, literal = bound_name(tree, value)
    if literal is None:
        return False
    if name is None:
        return True
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(tree))


def _is(node: ast.AST | None, name: str | None, literal: ast.AST | None) -> bool:
    if node is None:
        return False
    if literal is not None and node is literal:
        return True
    if name is None:
        return False
    if isinstance(node, ast.Name):
        return node.id == name
    # self.capacity, set from the argument capacity, is the same number
    return (
        isinstance(node, ast.Attribute)
        and node.attr == name
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def _comparisons(test: ast.AST, negate: bool) -> Iterable[tuple[ast.AST, type, ast.AST]]:
    """(left, op, right) comparisons that must hold, from an asserted (or negated) test."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        yield from _comparisons(test.operand, not negate)
    elif isinstance(test, ast.BoolOp):
        conjunction = isinstance(test.op, ast.And) != negate
        if conjunction:  # every part must hold
            for value in test.values:
                yield from _comparisons(value, negate)
    elif isinstance(test, ast.Compare):
        parts = [test.left, *test.comparators]
        if negate and len(test.ops) > 1:
            return  # not (a <= x <= b) is a disjunction: nothing certain about one side
        for left, op, right in zip(parts, test.ops, parts[1:]):
            kind = type(op)
            if negate:
                kind = _NEGATE.get(kind, kind)
            yield left, kind, right


def _raises(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Raise)


def _exclusive(value: float, up: bool, integer: bool) -> float:
    if integer:
        return value + 1 if up else value - 1
    return math.nextafter(value, math.inf if up else -math.inf)


def infer_bounds(tree: ast.AST, value: float) -> Bounds:
    """The range the code supports for the number parameter learned with ``value``."""
    integer = isinstance(value, int)
    name, literal = bound_name(tree, value)
    if literal is None:
        return Bounds()
    parents = _parents(tree)
    bounds = Bounds()

    def count() -> None:
        """A number of repetitions or items: 0 gives nothing, so it keeps the learned value's floor."""
        nonlocal bounds
        bounds = bounds.tighten(lo=1 if value >= 1 else 0)

    def nonzero() -> None:
        nonlocal bounds
        bounds = (
            bounds.tighten(lo=_exclusive(0, True, integer))
            if value > 0
            else (bounds.tighten(hi=_exclusive(0, False, integer)) if value < 0 else bounds)
        )

    def learn(left: ast.AST, op: type[ast.cmpop], right: ast.AST) -> None:
        nonlocal bounds
        if _is(right, name, literal) and not _is(left, name, literal):
            left, right, op = right, left, _FLIP.get(op, op)
        if not _is(left, name, literal):
            return
        if isinstance(right, ast.Call) and isinstance(right.func, ast.Name) and right.func.id == "len":
            bounds = bounds.tighten(lo=0)
            return
        k = _number(right)
        if k is None:
            return
        if op is ast.GtE:
            bounds = bounds.tighten(lo=k)
        elif op is ast.Gt:
            bounds = bounds.tighten(lo=_exclusive(k, True, integer))
        elif op is ast.LtE:
            bounds = bounds.tighten(hi=k)
        elif op is ast.Lt:
            bounds = bounds.tighten(hi=_exclusive(k, False, integer))
        elif op is ast.NotEq and k == 0:
            nonzero()

    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _raises(node.body):
            test = node.test
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and _is(test.operand, name, literal):
                nonzero()  # if not n: raise
            for left, op, right in _comparisons(test, negate=True):
                learn(left, op, right)
        elif isinstance(node, ast.Assert):
            for left, op, right in _comparisons(node.test, negate=False):
                learn(left, op, right)
        elif isinstance(node, ast.Compare) and not isinstance(parents.get(id(node)), (ast.If, ast.Assert)):
            for left, right in zip([node.left, *node.comparators], node.comparators):
                for a, b in ((left, right), (right, left)):
                    if _is(a, name, literal) and isinstance(b, ast.Call) and getattr(b.func, "id", "") == "len":
                        bounds = bounds.tighten(lo=0)
        if not (_is(node, name, literal)):
            continue
        if _inside_nonnegative_call(node, parents):
            bounds = bounds.tighten(lo=0)
        parent = parents.get(id(node))
        if (
            isinstance(parent, ast.BinOp)
            and parent.right is node
            and isinstance(parent.op, (ast.Div, ast.FloorDiv, ast.Mod))
        ):
            nonzero()
        elif (
            isinstance(parent, ast.BinOp)
            and isinstance(parent.op, ast.Mult)
            and isinstance(parent.left if parent.right is node else parent.right, (ast.List, ast.Tuple, ast.Constant))
            and not isinstance(
                getattr(parent.left if parent.right is node else parent.right, "value", ""), (int, float)
            )
        ):
            count()  # [x] * n, "-" * n
        elif isinstance(parent, ast.keyword) and parent.arg in _POSITIVE_KEYWORDS:
            bounds = bounds.tighten(lo=_exclusive(0, True, integer))
        elif isinstance(parent, ast.Slice):
            if parent.step is node:
                nonzero()
            else:
                bounds = bounds.tighten(lo=0)
        elif isinstance(parent, ast.Call) and node in parent.args:
            func = parent.func
            fname = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if fname == "range":
                if len(parent.args) == 3 and parent.args[2] is node:
                    nonzero()
                elif len(parent.args) == 1:
                    count()  # range(n): n repetitions; range(a, b) takes any a
            elif fname in _COUNT_CALLS:
                count()
            elif fname in _NONNEGATIVE_CALLS:
                bounds = bounds.tighten(lo=0)
            elif fname == "log":
                bounds = bounds.tighten(lo=_exclusive(0, True, integer))
    lo, hi = bounds.lo, bounds.hi
    if lo is not None and value < lo:
        lo = None
    if hi is not None and value > hi:
        hi = None
    return Bounds(lo, hi)


def _inside_nonnegative_call(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    """``sleep(min(cap, n * 2))``, ``sleep(ms / 1000)``: ``n`` flows, through + * / min max, into a
    call that needs >= 0."""
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.BinOp) and (
            isinstance(parent.op, (ast.Add, ast.Mult))
            or (isinstance(parent.op, (ast.Div, ast.FloorDiv)) and parent.left is child)
        ):
            child, parent = parent, parents.get(id(parent))
            continue
        if isinstance(parent, ast.Call) and child in parent.args:
            fname = getattr(parent.func, "id", None) or getattr(parent.func, "attr", "")
            if fname in ("min", "max"):
                child, parent = parent, parents.get(id(parent))
                continue
            return (fname in ("sleep", "sqrt") and parent.args[0] is child) or (
                fname == "range" and len(parent.args) == 1
            )
        return False
    return False


def _stem(name: str) -> tuple[str, str]:
    """Split ``max_delay`` into (``max``, ``delay``) and ``lo`` into (``lo``, ``)``."""
    parts = name.lower().split("_")
    for i, part in enumerate(parts):
        if any(part in pair for pair in _PAIRS):
            return part, "_".join(parts[:i] + parts[i + 1 :])
    return "", name.lower()


def names_pair(a: str, b: str) -> bool:
    """Whether two names look like the two ends of one range (``lo``/``hi``, ``min_x``/``max_x``)."""
    (wa, ra), (wb, rb) = _stem(a), _stem(b)
    return bool(wa and wb) and ra == rb and ((wa, wb) in _PAIRS or (wb, wa) in _PAIRS)


def _refs(node: ast.AST, name: str | None, literal: ast.AST | None) -> bool:
    return any(_is(n, name, literal) for n in ast.walk(node))


def related(tree: ast.AST, a: tuple[str | None, ast.AST | None], b: tuple[str | None, ast.AST | None]) -> bool:
    """Whether the two parameters meet in one comparison, slice, subtraction, or in different
    arguments of one call (``sample(range(n), k)``, ``randint(lo, hi)``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            if any(_is(p, *a) for p in parts) and any(_is(p, *b) for p in parts):
                return True
        elif isinstance(node, ast.Slice):
            ends = [node.lower, node.upper]
            if any(_is(p, *a) for p in ends) and any(_is(p, *b) for p in ends):
                return True
        elif isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            with_a = {i for i, arg in enumerate(args) if _refs(arg, *a)}
            with_b = {i for i, arg in enumerate(args) if _refs(arg, *b)}
            if with_a and with_b and (with_a - with_b or with_b - with_a):  # in different arguments
                return True
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
            if _refs(node, *a) and _refs(node, *b):
                return True
    return False


def handles_both_orders(
    tree: ast.AST, a: tuple[str | None, ast.AST | None], b: tuple[str | None, ast.AST | None]
) -> bool:
    """Whether the code normalises the pair (min/max/sorted, a swap) or raises on the wrong order."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("min", "max", "sorted"):
            args = list(node.args)
            if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
                args = list(args[0].elts)
            if any(_is(p, *a) for p in args) and any(_is(p, *b) for p in args):
                return True
        elif isinstance(node, (ast.If, ast.Assert)):
            test = node.test
            orders = (
                isinstance(test, ast.Compare)
                and len(test.ops) == 1
                and {
                    (_is(test.left, *a) and _is(test.comparators[0], *b)),
                    (_is(test.left, *b) and _is(test.comparators[0], *a)),
                }
                & {True}
            )
            if not orders:
                continue
            if isinstance(node, ast.Assert) or _raises(node.body):
                return True
            if any(isinstance(s, ast.Assign) and isinstance(s.value, ast.Tuple) for s in node.body):
                return True  # a, b = b, a
    return False
