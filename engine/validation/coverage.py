"""Type-hint and docstring coverage from one walk over the ``ast`` of the code.

Rule ids mirror ruff's flake8-annotations (ANN) and pydocstyle (D) codes so a reader can look
them up; on the 164 HumanEval solutions plus a class/nesting sample they matched ruff 0.17.6
(``--select ANN001,ANN002,ANN003,ANN201,ANN202,ANN204,ANN205,ANN206,D100,D101,D102,D103,D106``)
finding for finding, except the ``__init__`` rule below (ruff's default wants ``-> None``).
The walk is our own because it yields the denominators that coverage needs (ruff only
lists what is missing) and runs in well under a millisecond, where a ruff subprocess costs
about 4 ms (measured in bench/validation_scores.py's notes).

Definitions (documented in the package docstring too):

* Type-hint coverage = fully annotated functions / all functions (``def`` and ``async def``,
  nested ones and methods included; lambdas excluded). Fully annotated means every parameter has
  an annotation (``*args`` and ``**kwargs`` included; the first parameter of a method, ``self`` or
  ``cls``, is exempt unless the method is a ``@staticmethod``) and the return is annotated.
  As in mypy, ``__init__`` without a return annotation counts as annotated when at least one of
  its other parameters is annotated. No functions -> 1.0.
* Docstring coverage = documented public items / public items. Public items: the module itself
  (if it has any statement), module-level classes and functions whose name does not start with
  ``_``, and methods and nested classes without a leading ``_`` inside public classes. Dunder
  methods and anything defined inside a function are not public. A blank docstring counts as
  missing. No public items -> 1.0.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

_CONTAINER_NODES = (ast.stmt, ast.excepthandler, ast.match_case)
_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class Missing:
    """One missing annotation or docstring."""

    rule_id: str
    line: int | None
    message: str


@dataclass
class CoverageResult:
    """Counts and the missing items behind them."""

    functions: int = 0
    annotated_functions: int = 0
    public_items: int = 0
    documented_items: int = 0
    missing_types: list[Missing] = field(default_factory=list)
    missing_docs: list[Missing] = field(default_factory=list)

    @property
    def type_hint_coverage(self) -> float:
        """Share of fully annotated functions; 1.0 when there are none."""
        return 1.0 if self.functions == 0 else self.annotated_functions / self.functions

    @property
    def docstring_coverage(self) -> float:
        """Share of documented public items; 1.0 when there are none."""
        return 1.0 if self.public_items == 0 else self.documented_items / self.public_items


def _has_docstring(node: ast.AST) -> bool:
    doc = ast.get_docstring(node, clean=False)  # type: ignore[arg-type]
    return doc is not None and doc.strip() != ""


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    names = set()
    for dec in node.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _check_function(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    in_class: bool,
    public: bool,
    result: CoverageResult,
) -> None:
    name = node.name
    decorators = _decorator_names(node)
    is_static = in_class and "staticmethod" in decorators
    is_classmethod = in_class and "classmethod" in decorators
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    if in_class and not is_static and positional:
        positional = positional[1:]  # self / cls
    missing: list[Missing] = []
    annotated_params = 0
    for arg in [*positional, *args.kwonlyargs]:
        if arg.annotation is None:
            missing.append(
                Missing(
                    "ANN001",
                    arg.lineno,
                    f"Missing type annotation for function argument `{arg.arg}` of `{name}`",
                )
            )
        else:
            annotated_params += 1
    if args.vararg is not None:
        if args.vararg.annotation is None:
            missing.append(
                Missing(
                    "ANN002",
                    args.vararg.lineno,
                    f"Missing type annotation for `*{args.vararg.arg}` of `{name}`",
                )
            )
        else:
            annotated_params += 1
    if args.kwarg is not None:
        if args.kwarg.annotation is None:
            missing.append(
                Missing(
                    "ANN003",
                    args.kwarg.lineno,
                    f"Missing type annotation for `**{args.kwarg.arg}` of `{name}`",
                )
            )
        else:
            annotated_params += 1
    init_exempt = in_class and name == "__init__" and annotated_params > 0
    if node.returns is None and not init_exempt:
        if in_class and _is_dunder(name):
            rule, kind = "ANN204", "special method"
        elif is_static:
            rule, kind = "ANN205", "staticmethod"
        elif is_classmethod:
            rule, kind = "ANN206", "classmethod"
        elif not public:  # leading underscore, nested in a function, or in a non-public class
            rule, kind = "ANN202", "private function"
        else:
            rule, kind = "ANN201", "public function"
        missing.append(Missing(rule, node.lineno, f"Missing return type annotation for {kind} `{name}`"))
    result.functions += 1
    if missing:
        result.missing_types.extend(missing)
    else:
        result.annotated_functions += 1


def measure(tree: ast.Module) -> CoverageResult:
    """Walk the statements of ``tree`` (iteratively: deep expressions are never visited)."""
    result = CoverageResult()
    if tree.body:
        result.public_items += 1
        if _has_docstring(tree):
            result.documented_items += 1
        else:
            result.missing_docs.append(Missing("D100", 1, "Missing docstring in public module"))

    # (node, scope, parent_public) where scope is "module" | "class" | "function"
    stack: list[tuple[ast.AST, str, bool]] = [(stmt, "module", True) for stmt in reversed(tree.body)]
    while stack:
        node, scope, parent_public = stack.pop()
        child_scope, child_public = scope, parent_public
        if isinstance(node, _FUNCTION_NODES):
            public = scope in ("module", "class") and parent_public and not node.name.startswith("_")
            _check_function(node, scope == "class", public, result)
            if public:
                result.public_items += 1
                if _has_docstring(node):
                    result.documented_items += 1
                else:
                    rule, kind = ("D102", "method") if scope == "class" else ("D103", "function")
                    result.missing_docs.append(
                        Missing(rule, node.lineno, f"Missing docstring in public {kind} `{node.name}`")
                    )
            child_scope, child_public = "function", False
        elif isinstance(node, ast.ClassDef):
            public = scope in ("module", "class") and parent_public and not node.name.startswith("_")
            if public:
                result.public_items += 1
                if _has_docstring(node):
                    result.documented_items += 1
                else:
                    rule, kind = ("D106", "nested class") if scope == "class" else ("D101", "class")
                    result.missing_docs.append(
                        Missing(rule, node.lineno, f"Missing docstring in public {kind} `{node.name}`")
                    )
            child_scope, child_public = "class", public
        children: list[ast.AST] = []
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                children.extend(item for item in value if isinstance(item, _CONTAINER_NODES))
        stack.extend((child, child_scope, child_public) for child in reversed(children))
    return result
