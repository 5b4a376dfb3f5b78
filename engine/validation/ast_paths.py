"""Paths in generated code: broad deletion targets, credential stores and startup files.

:class:`PathFacts` is a mixin of the AST rules' walk (engine/validation/ast_rules.py). It needs
the walk's ``names`` (a NameResolver), ``broad_names`` / ``listed_names`` (names bound to a
broad path / to entries of a broad listing), ``consumed`` (ids of string constants already
checked as part of a longer path) and appends to ``credentials`` / ``persistence``
(``(line, what)`` pairs that the walk turns into TPL150/151/152 at the end).

A path built from pieces (``Path.home() / ".ssh" / "id_rsa"``, ``os.path.join(...)``) is
checked as one path, so ``~/.ssh/known_hosts`` (public) differs from ``~/.ssh/id_rsa``.
"""

from __future__ import annotations

import ast
from typing import Any

from engine.validation import ast_tables as T


class PathFacts:
    """What string constants and path expressions say about credentials and broad targets."""

    names: Any
    broad_names: set[str]
    listed_names: set[str]
    consumed: set[int]
    credentials: list[tuple[int, str]]
    persistence: list[tuple[int, str]]
    generic_visit: Any  # from ast.NodeVisitor, the walk's other base

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Div):  # Path.home() / ".ssh" / "id_rsa": check the whole path
            parts: list[ast.expr] = []
            chain: ast.expr = node
            while isinstance(chain, ast.BinOp) and isinstance(chain.op, ast.Div):
                parts.insert(0, chain.right)
                chain = chain.left
            parts.insert(0, chain)
            self.check_path_parts(parts)
        self.generic_visit(node)

    def check_path_parts(self, parts: list[ast.expr]) -> None:
        """Check the constant parts of a path built from pieces as ONE path."""
        constants = [
            p for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str) and id(p) not in self.consumed
        ]
        if constants:
            self.consumed |= {id(c) for c in constants}
            self.check_text("/".join(str(c.value) for c in constants), constants[0].lineno)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value and id(node) not in self.consumed:
            self.check_text(node.value, node.lineno)

    def check_text(self, text: str, line: int) -> None:
        low = text.lower()
        marker = next((m for m in T.CREDENTIAL_MARKERS if m in low), None)
        last = low.rstrip("/").rsplit("/", 1)[-1]
        if marker is None and (last in T.CREDENTIAL_NAMES or (low.endswith("/environ") and "proc" in low)):
            marker = last
        if marker == ".ssh" and (last in T.SSH_PUBLIC_FILES or last.endswith(".pub")):
            marker = None  # known_hosts, config, public keys: not secrets
        if marker == ".aws" and last in T.AWS_PUBLIC_FILES:
            marker = None
        if marker:
            self.credentials.append((line, marker))
        marker = next((m for m in T.PERSISTENCE_MARKERS if m in low), None)
        if marker:
            self.persistence.append((line, marker))

    def is_broad(self, node: ast.expr | None, depth: int = 0) -> bool:
        if node is None or depth > 10:
            return False
        text = self.names.const_str(node)
        if text is not None:
            return text.strip() in T.BROAD_STRINGS
        if isinstance(node, ast.Name) and (node.id in self.broad_names or node.id in self.listed_names):
            return True
        resolved = self.names.resolve(node)
        if resolved & T.BROAD_VALUES:
            return True
        if isinstance(node, ast.Subscript) and "os.environ" in self.names.resolve(node.value):
            return (self.names.const_str(node.slice) or "") in T.HOME_VARIABLES
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return self.is_broad(node.left, depth + 1) and (self.names.const_str(node.right) or "") in T.BROAD_STRINGS
        if not isinstance(node, ast.Call):
            return False
        callees = self.names.resolve(node.func)
        first = node.args[0] if node.args else None
        if callees & {"os.getenv", "os.environ.get"}:
            return (self.names.const_str(first) or "") in T.HOME_VARIABLES
        if "os.path.join" in callees and node.args:
            if any(isinstance(a, ast.Name) and a.id in self.listed_names for a in node.args):
                return True  # an entry of a broad listing, joined back to its directory
            return self.is_broad(first, depth + 1) and all(
                (self.names.const_str(a) or "") in T.BROAD_STRINGS for a in node.args[1:]
            )
        if callees & T.PATH_WRAPPERS:
            if first is None:  # Path() is the working directory
                return bool(callees & {"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})
            return self.is_broad(first, depth + 1)
        if isinstance(node.func, ast.Attribute) and node.func.attr in T.PATH_METHODS:
            return self.is_broad(node.func.value, depth + 1)
        return False

    def is_broad_listing(self, node: ast.expr) -> bool:
        if not isinstance(node, ast.Call):
            return False
        callees = self.names.resolve(node.func)
        first = node.args[0] if node.args else None
        if callees & {"builtins.sorted", "builtins.list", "builtins.reversed", "builtins.enumerate"}:
            return first is not None and self.is_broad_listing(first)
        if callees & T.LISTING_CALLS:
            if first is None:
                return True
            text = self.names.const_str(first)
            if text is not None:
                return text in T.BROAD_STRINGS or any(
                    text.endswith(s) and text[: -len(s)] in T.BROAD_STRINGS | {""} for s in ("/*", "/**", "/**/*")
                )
            return self.is_broad(first)
        if isinstance(node.func, ast.Attribute) and node.func.attr in T.LISTING_METHODS:
            pattern = self.names.const_str(first) if first is not None else "*"
            return self.is_broad(node.func.value) and pattern in T.BROAD_STRINGS
        return False
