"""Resolve what an expression in generated code refers to, through the usual indirections.

:class:`NameResolver` is fed the statements of one module in source order (by the single walk
in engine/validation/ast_rules.py) and answers ``resolve(expr)``: the set of dotted qualified
names the expression may denote, e.g. ``{"os.system"}`` for each of

    os.system                      import os as o; o.system        from os import system as s; s
    s = os.system; s               getattr(os, "sys" + "tem")      operator.attrgetter("system")(os)
    __import__("os").system        importlib.import_module("os").system
    sys.modules["os"].system       os.__dict__["system"]           os.__getattribute__("system")

and ``{"builtins.eval"}`` for ``eval``, ``ev = eval; ev``, ``builtins.eval``,
``vars(builtins)["eval"]``, ``__builtins__["eval"]``, ``globals()["__builtins__"]["eval"]``.

Conventions: a call's result is its callee's name plus ``()`` (``ctypes.CDLL(None).system`` ->
``ctypes.CDLL().system``, ``Path.home()`` -> ``pathlib.Path.home()``); ``globals()``,
``locals()`` and ``vars()`` are ``<globals>``. Bindings are flow-insensitive and accumulate (a
name assigned twice may denote either value), which errs towards finding more. Constant
strings are folded through ``+``, f-strings of constants, ``"".join([...])``, ``[::-1]`` and
names bound to constants. Nothing here evaluates code.
"""

from __future__ import annotations

import ast
import builtins

#: Modules that are another name for a module we know.
MODULE_ALIASES = {
    "posix": "os",
    "nt": "os",
    "__builtin__": "builtins",
    "_pickle": "pickle",
    "cPickle": "pickle",
    "_io": "io",
}
#: Qualified names that behave as ``__import__`` / ``import_module`` (first argument = module).
IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module", "importlib.__import__"})
NAMESPACE_CALLS = frozenset({"builtins.globals", "builtins.locals", "builtins.vars"})
GLOBALS = "<globals>"
_BUILTIN_NAMES = frozenset(dir(builtins))


def canonical(qualname: str) -> str:
    """Map module aliases (``posix.system`` -> ``os.system``)."""
    head, dot, rest = qualname.partition(".")
    head = MODULE_ALIASES.get(head, head)
    return head + dot + rest


class NameResolver:
    """Bindings seen so far in one module, and resolution of expressions against them."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}
        self.strings: dict[str, set[str]] = {}
        self.sequences: dict[str, list[ast.expr]] = {}
        self.dicts: dict[str, ast.Dict] = {}
        self.shadowed: set[str] = set()
        self.star_modules: list[str] = []

    # -- bindings --------------------------------------------------------------------------

    def bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """Record ``import a.b as c`` / ``from a import b as c``."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self._bind(alias.asname, {canonical(alias.name)})
                else:
                    head = alias.name.split(".")[0]
                    self._bind(head, {canonical(head)})
            return
        if node.level or not node.module:
            for alias in node.names:  # relative import: a local module, shadows builtins
                self.shadowed.add(alias.asname or alias.name)
            return
        module = canonical(node.module)
        for alias in node.names:
            if alias.name == "*":
                self.star_modules.append(module)  # any unbound name may come from it
            else:
                self._bind(alias.asname or alias.name, {f"{module}.{alias.name}"})

    def bind_assign(self, targets: list[ast.expr], value: ast.expr) -> None:
        """Record ``target = value`` (plain names only; tuples pair up element-wise)."""
        for target in targets:
            if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
                for sub_target, sub_value in zip(target.elts, value.elts):
                    self.bind_assign([sub_target], sub_value)
                continue
            if not isinstance(target, ast.Name):
                continue
            name = target.id
            text = self.const_str(value)
            if text is not None:
                self.strings.setdefault(name, set()).add(text)
            if isinstance(value, (ast.List, ast.Tuple)):
                self.sequences[name] = list(value.elts)
            if isinstance(value, ast.Dict):
                self.dicts[name] = value
            resolved = self.resolve(value)
            if resolved:
                self._bind(name, resolved)
            elif name in _BUILTIN_NAMES:
                self.shadowed.add(name)

    def bind_definition(self, name: str) -> None:
        """A module-level ``def``/``class`` with this name hides the builtin of that name."""
        self.shadowed.add(name)

    def _bind(self, name: str, qualnames: set[str]) -> None:
        self.names.setdefault(name, set()).update(qualnames)

    # -- constants -------------------------------------------------------------------------

    def const_str(self, node: ast.expr | None, depth: int = 0) -> str | None:
        """The string ``node`` always evaluates to, if it is built from constants only."""
        if node is None or depth > 20:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            values = self.strings.get(node.id)
            return next(iter(values)) if values and len(values) == 1 else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.const_str(node.left, depth + 1), self.const_str(node.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    text = self.const_str(value.value, depth + 1)
                    if text is None or value.format_spec is not None:
                        return None
                    parts.append(text)
                else:
                    text = self.const_str(value, depth + 1)
                    if text is None:
                        return None
                    parts.append(text)
            return "".join(parts)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            text = self.const_str(node.value, depth + 1)
            step = node.slice.step
            if (
                text is not None
                and node.slice.lower is None
                and node.slice.upper is None
                and isinstance(step, ast.UnaryOp)
                and isinstance(step.op, ast.USub)
                and isinstance(step.operand, ast.Constant)
                and step.operand.value == 1
            ):
                return text[::-1]
            return None
        if isinstance(node, ast.Call):
            decoded = self._decoded_str(node, depth)
            if decoded is not None:
                return decoded
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords:
            owner = self.const_str(node.func.value, depth + 1)
            if owner is None:
                return None
            if node.func.attr == "join" and len(node.args) == 1:
                items = node.args[0]
                chars = self._chr_sequence(items)
                if chars is not None:
                    return owner.join(chars)
                if isinstance(items, ast.Name) and items.id in self.sequences:
                    elements = self.sequences[items.id]
                elif isinstance(items, (ast.List, ast.Tuple)):
                    elements = list(items.elts)
                else:
                    return None
                texts = [self.const_str(e, depth + 1) for e in elements]
                return owner.join(texts) if all(t is not None for t in texts) else None  # type: ignore[arg-type]
            if node.func.attr in ("lower", "upper", "strip") and not node.args:
                return str(getattr(owner, node.func.attr)())
        return None

    def _decoded_str(self, node: ast.Call, depth: int) -> str | None:
        """``b"..".decode()``, ``base64.b64decode("..").decode()``, ``bytes.fromhex("..").decode()``,
        ``codecs.decode("..", "rot13")``, ``chr(101)``: pure decoding of constants, never code."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "decode" and not node.keywords:
            data = self.const_bytes(func.value, depth + 1)
            encoding = self.const_str(node.args[0], depth + 1) if node.args else "utf-8"
            if data is not None and encoding is not None:
                try:
                    return data.decode(encoding)
                except (LookupError, UnicodeError):
                    return None
        callees = self.resolve(func, depth + 1)
        if "codecs.decode" in callees and len(node.args) == 2:
            text, codec = self.const_str(node.args[0], depth + 1), self.const_str(node.args[1], depth + 1)
            if text is not None and codec in ("rot13", "rot_13"):
                import codecs

                return codecs.decode(text, "rot13")
        if "builtins.chr" in callees and len(node.args) == 1:
            value = node.args[0]
            if isinstance(value, ast.Constant) and isinstance(value.value, int) and 0 <= value.value < 0x110000:
                return chr(value.value)
        return None

    def _chr_sequence(self, node: ast.expr) -> list[str] | None:
        """``chr(c) for c in (101, 118)`` or ``map(chr, [101, 118])`` as characters."""
        numbers: ast.expr | None = None
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)) and len(node.generators) == 1:
            generator = node.generators[0]
            elt = node.elt
            if (
                not generator.ifs
                and isinstance(elt, ast.Call)
                and "builtins.chr" in self.resolve(elt.func)
                and len(elt.args) == 1
                and isinstance(elt.args[0], ast.Name)
                and isinstance(generator.target, ast.Name)
                and elt.args[0].id == generator.target.id
            ):
                numbers = generator.iter
        elif (
            isinstance(node, ast.Call)
            and "builtins.map" in self.resolve(node.func)
            and len(node.args) == 2
            and "builtins.chr" in self.resolve(node.args[0])
        ):
            numbers = node.args[1]
        if not isinstance(numbers, (ast.List, ast.Tuple)):
            return None
        values = [e.value for e in numbers.elts if isinstance(e, ast.Constant) and type(e.value) is int]
        if len(values) != len(numbers.elts) or not all(0 <= v < 0x110000 for v in values):
            return None
        return [chr(v) for v in values]

    def const_bytes(self, node: ast.expr | None, depth: int = 0) -> bytes | None:
        """The bytes ``node`` always evaluates to: literals, ``"..".encode()``, base64/hex decoding."""
        if node is None or depth > 20:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, bytes) else None
        if not isinstance(node, ast.Call) or len(node.args) != 1 or node.keywords:
            return None
        func, arg = node.func, node.args[0]
        if isinstance(func, ast.Attribute) and func.attr == "encode":
            text = self.const_str(func.value, depth + 1)
            return text.encode("utf-8", "surrogatepass") if text is not None else None
        callees = self.resolve(func, depth + 1)
        raw = self.const_str(arg, depth + 1)
        data = raw.encode() if raw is not None else self.const_bytes(arg, depth + 1)
        if data is None:
            if "builtins.bytes" in callees and isinstance(arg, (ast.List, ast.Tuple)):
                values = [e.value for e in arg.elts if isinstance(e, ast.Constant) and type(e.value) is int]
                if len(values) == len(arg.elts) and all(0 <= v < 256 for v in values):
                    return bytes(values)
            return None
        import base64
        import binascii

        decoders = {
            "base64.b64decode": base64.b64decode,
            "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
            "base64.b32decode": base64.b32decode,
            "base64.b16decode": base64.b16decode,
            "base64.b85decode": base64.b85decode,
            "base64.a85decode": base64.a85decode,
            "binascii.unhexlify": binascii.unhexlify,
            "binascii.a2b_base64": binascii.a2b_base64,
        }
        for name in callees:
            decoder = decoders.get(name)
            try:
                if decoder is not None:
                    return decoder(data)
                if name == "builtins.bytes.fromhex" and raw is not None:
                    return bytes.fromhex(raw)
            except (ValueError, binascii.Error):
                return None
        return None

    # -- resolution ------------------------------------------------------------------------

    def resolve(self, node: ast.expr | None, depth: int = 0) -> set[str]:
        """Qualified names ``node`` may denote (empty set: unknown)."""
        if node is None or depth > 30:
            return set()
        if isinstance(node, ast.Name):
            found = set(self.names.get(node.id, ()))
            if not found and node.id not in self.shadowed:
                found = {canonical(f"{m}.{node.id}") for m in self.star_modules}
            if node.id == "__builtins__":
                found.add("builtins")
            elif node.id in _BUILTIN_NAMES and node.id not in self.shadowed:
                found.add(f"builtins.{node.id}")
            return found
        if isinstance(node, ast.Attribute):
            owners = self.resolve(node.value, depth + 1)
            if node.attr == "__dict__":
                return owners
            return {canonical(f"{owner}.{node.attr}") for owner in owners}
        if isinstance(node, ast.Subscript):
            return self._resolve_subscript(node, depth)
        if isinstance(node, ast.Call):
            return self._resolve_call(node, depth)
        if isinstance(node, ast.IfExp):
            return self.resolve(node.body, depth + 1) | self.resolve(node.orelse, depth + 1)
        if isinstance(node, ast.BoolOp):
            out: set[str] = set()
            for value in node.values:
                out |= self.resolve(value, depth + 1)
            return out
        if isinstance(node, ast.NamedExpr):
            return self.resolve(node.value, depth + 1)
        if isinstance(node, ast.Await):
            return self.resolve(node.value, depth + 1)
        return set()

    def _resolve_subscript(self, node: ast.Subscript, depth: int) -> set[str]:
        key = self.const_str(node.slice)
        if key is None:
            return set()
        return {self._member(owner, key, depth) for owner in self.resolve(node.value, depth + 1)} - {""}

    def _member(self, owner: str, key: str, depth: int) -> str:
        """``owner[key]`` for a namespace: sys.modules, globals(), a module's __dict__."""
        if owner == "sys.modules":
            return canonical(key)
        if owner == GLOBALS:
            found = self.resolve(ast.Name(id=key, ctx=ast.Load()), depth + 1)
            return next(iter(sorted(found)), "")
        return canonical(f"{owner}.{key}")

    def _resolve_call(self, node: ast.Call, depth: int) -> set[str]:
        func = node.func
        # operator.attrgetter("name")(obj) / methodcaller is not followed
        if isinstance(func, ast.Call) and "operator.attrgetter" in self.resolve(func.func, depth + 1):
            attr = self.const_str(func.args[0]) if func.args else None
            if attr is not None and node.args:
                return {canonical(f"{owner}.{attr}") for owner in self.resolve(node.args[0], depth + 1)}
        # obj.__getattribute__("name") / obj.__getattr__("name")
        if isinstance(func, ast.Attribute) and func.attr in ("__getattribute__", "__getattr__") and node.args:
            attr = self.const_str(node.args[0])
            if attr is not None:
                return {canonical(f"{owner}.{attr}") for owner in self.resolve(func.value, depth + 1)}
        # namespace.get("name"): vars(os).get("system"), os.__dict__.get(...), globals().get(...)
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            key = self.const_str(node.args[0])
            owners = self.resolve(func.value, depth + 1) if key is not None else set()
            if owners and key is not None:
                return {self._member(owner, key, depth) for owner in owners} - {""}
        callees = self.resolve(func, depth + 1)
        out = set()
        for callee in callees:
            if callee in IMPORTERS:
                module = self.const_str(node.args[0]) if node.args else None
                if module is not None:
                    out.add(canonical(module))
                    if callee == "builtins.__import__" and "." in module:
                        out.add(canonical(module.split(".")[0]))
            elif callee == "builtins.getattr" and len(node.args) >= 2:
                attr = self.const_str(node.args[1])
                if attr is not None:
                    out |= {canonical(f"{owner}.{attr}") for owner in self.resolve(node.args[0], depth + 1)}
            elif callee in NAMESPACE_CALLS:
                out |= self.resolve(node.args[0], depth + 1) if node.args else {GLOBALS}
            else:
                out.add(f"{callee}()")
        return out
