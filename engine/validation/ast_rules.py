"""Templar's AST security rules: what Bandit misses when generated code uses indirection.

One walk over the module (``scan(tree)``), in source order. Names are resolved by
:class:`engine.validation.ast_names.NameResolver` (aliases, ``getattr``/``attrgetter`` with
constant strings, ``__import__``/``import_module``, ``__builtins__``/``globals()``/``vars()``
subscripts, ``sys.modules[...]``), so ``ev = eval; ev(x)`` is ``builtins.eval`` and
``getattr(os, "sys" + "tem")`` is ``os.system``. Rules (ids, severities and fix hints in
engine/validation/ast_tables.py):

=======  ==========================================================================
TPL101   shell command functions (os.system, os.popen, subprocess.getoutput, ...)
TPL102   a shell/interpreter in an argument list (["sh", "-c", cmd]) or shell=True, also
         through ``**{"shell": True}``
TPL103   process replacement/spawn (os.exec*, os.spawn*, os.posix_spawn, pty.spawn)
TPL104   subprocess with a command or program that is not constant (medium)
TPL105   reverse shell: a socket's file descriptor wired to a process or to fds 0-2
TPL106   a member of os/subprocess/builtins/ctypes/... picked by a run-time name
TPL107   interpreter internals: frames, __globals__, __subclasses__ after __base__/__mro__
TPL110   dynamic code: eval/exec/compile, runpy, code.InteractiveInterpreter/Console
TPL120   native code: ctypes library loading, cffi dlopen
TPL130   deserialisation that can run code: pickle/marshal/shelve/dill/yaml.unsafe_load
TPL140   rmtree/remove/unlink (or rm -rf) on home, root, cwd, ``~`` or a cwd-wide glob;
         mkfs, dd to a device
TPL141   os.kill(-1 or 0, ...)
TPL150   credential files or an environment dump in a module that uses the network
TPL151   credential file access without network (low: reported, not blocking)
TPL152   writes to shell startup files, authorized_keys, cron, sudoers, /etc/passwd
TPL160   md5/sha1 for passwords, tokens or signatures (medium)
TPL161   random/uuid1 for passwords, tokens, codes (medium)
TPL170   TLS verification disabled (verify=False, CERT_NONE, check_hostname=False, ...)
=======  ==========================================================================

Paths (broad targets, credential and startup files) are judged by the PathFacts mixin in
engine/validation/ast_paths.py, process starts and argument lists by the ProcessChecks mixin
in engine/validation/ast_process.py.

A dangerous callable used as a VALUE (``partial(os.system, c)``, ``Thread(target=os.system)``,
``map(os.system, cmds)``, ``s = os.system``) counts like calling it. "Secret context" for
TPL160/161 means a word such as password/token/secret/otp/session/salt in the enclosing
function's name, the assigned name or the hashed expression's names. Docstrings are not
scanned for markers. Nothing here executes the code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from engine.validation import ast_tables as T
from engine.validation.ast_names import NameResolver
from engine.validation.ast_paths import PathFacts
from engine.validation.ast_process import ProcessChecks
from engine.validation.ast_rule_catalog import RULES

#: Shown in the report's checkers list; bump when the rules change what they find.
VERSION = "templar-rules 1"


@dataclass(frozen=True)
class AstIssue:
    """One finding of the AST layer."""

    rule_id: str
    severity: str
    line: int | None
    message: str
    hint: str


_EGRESS_PREFIXES = tuple(m + "." for m in T.EGRESS_MODULES)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def words(name: str) -> set[str]:
    """Lower-case words of an identifier (``newSessionToken`` / ``new_session_token``), plus
    each pair of neighbours joined (``api_key`` -> ``api``, ``key``, ``apikey``)."""
    parts = [w.lower() for w in _WORD.findall(name)]
    return set(parts) | {a + b for a, b in zip(parts, parts[1:])}


class _Walk(ProcessChecks, PathFacts, ast.NodeVisitor):
    def __init__(self) -> None:
        self.names = NameResolver()
        self.issues: dict[tuple[str, int | None], AstIssue] = {}
        self.functions: list[str] = []
        self.target_words: set[str] = set()
        self.target_names: frozenset[str] = frozenset()
        self.consumed: set[int] = set()
        self.name_loads: dict[str, int] = {}
        self.name_env_uses: dict[str, int] = {}
        self.env_dumps: list[tuple[int, frozenset[str]]] = []
        self.called: set[int] = set()
        self.inner: set[int] = set()
        self.environ_single: set[int] = set()
        self.broad_names: set[str] = set()
        self.listed_names: set[str] = set()
        self.credentials: list[tuple[int, str]] = []
        self.egress: list[tuple[int, str]] = []
        self.persistence: list[tuple[int, str]] = []
        self.writes: list[int] = []
        self.fd_links: list[int] = []

    # -- reporting ---------------------------------------------------------------------------

    def report(self, rule_id: str, node: ast.AST, detail: str) -> None:
        rule = RULES[rule_id]
        line = getattr(node, "lineno", None)
        self.issues.setdefault(
            (rule_id, line), AstIssue(rule_id, rule.severity, line, f"{rule.title}: {detail}", rule.hint)
        )

    # -- scopes and bindings -----------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        self.names.bind_import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.names.bind_import(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        if not self.functions:
            self.names.bind_definition(node.name)
        self.functions.append(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            body = body[1:]  # the docstring
        for child in ast.iter_child_nodes(node):
            if child not in body and not isinstance(child, ast.stmt):
                self.visit(child)
        for statement in body:
            self.visit(statement)
        self.functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _visit_function

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring or bare string: prose, not code
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assign(node.targets, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assign([node.target], node.value)

    def _assign(self, targets: list[ast.expr], value: ast.expr) -> None:
        saved = self.target_words, self.target_names
        names = frozenset(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        self.target_words = set().union(*(words(n) for n in names))
        self.target_names = names
        self.visit(value)
        self.target_words, self.target_names = saved
        self.names.bind_assign(targets, value)
        broad = self.is_broad(value)
        for target in targets:
            if isinstance(target, ast.Name) and broad:
                self.broad_names.add(target.id)
            if isinstance(target, ast.Attribute):
                self._check_attribute_store(target, value)
            if isinstance(target, ast.Subscript) and "os.environ" in self.names.resolve(target.value):
                self.check_tls_variable(target, target.slice, value)
            self.visit(target)

    def check_tls_variable(self, node: ast.AST, key: ast.expr | None, value: ast.expr | None) -> None:
        """``os.environ["PYTHONHTTPSVERIFY"] = "0"`` and friends switch verification off."""
        name = (self.names.const_str(key) or "").upper()
        text = self.names.const_str(value)
        if name in T.TLS_OFF_VARIABLES and text is not None and text.lower() in T.TLS_OFF_VARIABLES[name]:
            self.report("TPL170", node, f"{name}={text!r} in the environment")

    def _check_attribute_store(self, target: ast.Attribute, value: ast.expr) -> None:
        false = isinstance(value, ast.Constant) and value.value in (False, 0, None)
        if target.attr in ("verify", "check_hostname", "verify_ssl") and false:
            self.report("TPL170", target, f"{target.attr} set to {value.value!r}")  # type: ignore[attr-defined]
        if "ssl._create_default_https_context" in self.names.resolve(target):
            self.report("TPL170", target, "replaces ssl's default HTTPS context")

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        if self.is_broad_listing(node.iter):
            self.listed_names |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        self.names.bind_assign(
            [node.target], ast.Call(func=ast.Name("iter", ast.Load()), args=[node.iter], keywords=[])
        )
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def _visit_comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        for generator in node.generators:  # bind targets before the element that uses them
            self.visit(generator.iter)
            if self.is_broad_listing(generator.iter):
                self.listed_names |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
            for condition in generator.ifs:
                self.visit(condition)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            self.visit(part)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _visit_comprehension

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self.names.bind_assign([node.optional_vars], node.context_expr)

    # -- references --------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.name_loads[node.id] = self.name_loads.get(node.id, 0) + 1
            self.note_reference(node, self.names.resolve(node))

    def _env_use(self, node: ast.Name) -> None:
        """A use of a name that keeps it an environment for a child process (``env=e``,
        ``e["K"] = v``, ``e.update(...)``)."""
        self.name_env_uses[node.id] = self.name_env_uses.get(node.id, 0) + 1

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.inner.add(id(node.value))
        if isinstance(node.value, ast.Name) and node.attr in ("update", "setdefault", "pop"):
            self._env_use(node.value)
        if node.attr in T.INTERNAL_ATTRIBUTES or (
            node.attr == "__subclasses__"
            and any(
                isinstance(n, ast.Attribute) and n.attr in ("__base__", "__bases__", "__mro__")
                for n in ast.walk(node.value)
            )
        ):
            self.report("TPL107", node, f".{node.attr}")
        if isinstance(node.ctx, ast.Load):
            if node.attr in T.ENVIRON_SINGLE_READS:
                self.environ_single.add(id(node.value))
            self.note_reference(node, self.names.resolve(node))
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self.inner.add(id(node.value))
        if isinstance(node.ctx, ast.Load) and self.names.const_str(node.slice) is None:
            self.check_dynamic_member(node, node.value)
        if isinstance(node.value, ast.Name) and not isinstance(node.ctx, ast.Load):
            self._env_use(node.value)
        self.environ_single.add(id(node.value))
        if isinstance(node.ctx, ast.Load):
            self.note_reference(node, self.names.resolve(node))
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                self.environ_single.add(id(right))
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg == "env":
            self.environ_single.add(id(node.value))
            if isinstance(node.value, ast.Name):
                self._env_use(node.value)
        if node.arg in T.KEY_FILE_KEYWORDS:  # a key handed to an SSH client to log in with
            self.consumed |= {id(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant)}
        self.generic_visit(node)

    def note_reference(self, node: ast.expr, qualnames: set[str]) -> None:
        line = node.lineno
        as_value = id(node) not in self.called and id(node) not in self.inner
        for q in qualnames:
            if q in T.EGRESS_MODULES or q.startswith(_EGRESS_PREFIXES):
                self.egress.append((line, q))
            if q in ("os.environ", "os.environb") and id(node) not in self.environ_single:
                self.env_dumps.append((line, self.target_names))
            if q.startswith(("keyring.get_", "win32cred.", "secretstorage.")):
                self.credentials.append((line, q))
            if q in ("ssl.CERT_NONE", "ssl._create_unverified_context", "ssl._create_stdlib_context"):
                self.report("TPL170", node, q)
            if as_value:
                self._check_value(node, q)

    def _check_value(self, node: ast.expr, q: str) -> None:
        if q in T.SHELL_CALLS:
            self.report("TPL101", node, f"{q} used as a value (it runs a shell when called)")
        elif q in T.SPAWN_CALLS:
            self.report("TPL103", node, f"{q} used as a value")
        elif q in T.DYNAMIC_CODE:
            self.report("TPL110", node, f"{q} used as a value")
        elif q.startswith(T.NATIVE_PREFIXES):
            self.report("TPL120", node, q)
        elif q in T.DESERIALISE:
            self.report("TPL130", node, f"{q} used as a value")
        elif q in T.SUBPROCESS_CALLS:
            self.report("TPL104", node, f"{q} used as a value, so its command cannot be checked")

    # -- calls -------------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        self.called.add(id(node.func))
        callees = self.names.resolve(node.func)
        for q in callees | self.methodcaller_targets(node):
            self.check_call(node, q)
        if "builtins.getattr" in callees and len(node.args) >= 2 and self.names.const_str(node.args[1]) is None:
            self.check_dynamic_member(node, node.args[0])
        if isinstance(node.func, ast.Attribute):
            self.check_method(node, node.func)
            if node.func.attr in T.KEY_FILE_METHODS:
                self.consumed |= {id(n) for a in node.args for n in ast.walk(a) if isinstance(n, ast.Constant)}
        if "os.path.join" in callees:
            self.check_path_parts(list(node.args))
        self.check_keywords(node)
        values = {q for q in self.names.resolve(node) if not q.endswith("()")}
        if values:  # getattr(os, "system"), import_module("os"), attrgetter(...)(os)
            self.note_reference(node, values)
        self.generic_visit(node)

    def methodcaller_targets(self, node: ast.Call) -> set[str]:
        """``operator.methodcaller("system", cmd)(os)`` calls ``os.system``."""
        func = node.func
        if not (
            isinstance(func, ast.Call)
            and func.args
            and node.args
            and "operator.methodcaller" in self.names.resolve(func.func)
        ):
            return set()
        name = self.names.const_str(func.args[0])
        if name is None:
            self.check_dynamic_member(node, node.args[0])
            return set()
        return {f"{owner}.{name}" for owner in self.names.resolve(node.args[0])}

    def check_dynamic_member(self, node: ast.expr, owner: ast.expr) -> None:
        """``getattr(os, name)``, ``vars(builtins)[name]``: a member picked at run time (TPL106)."""
        modules = self.names.resolve(owner) & T.DANGEROUS_MODULES
        if modules:
            self.report("TPL106", node, f"a member of {sorted(modules)[0]} named by a run-time value")

    def check_call(self, node: ast.Call, q: str) -> None:
        if q in T.SHELL_CALLS:
            self.report("TPL101", node, f"{q}() runs its argument in a shell")
        elif q in T.SPAWN_CALLS:
            self.report("TPL103", node, f"{q}() starts or replaces a process")
        elif q in T.SUBPROCESS_CALLS:
            self.check_subprocess(node, q)
        elif q in T.DYNAMIC_CODE:
            self.report("TPL110", node, f"{q}() runs code built at run time")
        elif q.startswith(T.NATIVE_PREFIXES):
            self.report("TPL120", node, f"{q}() loads native code")
        elif q in T.DESERIALISE:
            self.report("TPL130", node, f"{q}() can run code while loading data")
        elif q in ("yaml.load", "yaml.load_all"):
            loader = node.args[1] if len(node.args) > 1 else self.keyword(node, "Loader")
            if loader is None or not (self.names.resolve(loader) & T.YAML_LOADERS_SAFE):
                self.report("TPL130", node, f"{q}() without a safe Loader")
        elif q == "numpy.load" and self.is_true(self.keyword(node, "allow_pickle")):
            self.report("TPL130", node, "numpy.load(allow_pickle=True)")
        elif q in T.DELETE_CALLS and node.args and self.is_broad(node.args[0]):
            self.report("TPL140", node, f"{q}() on {ast.unparse(node.args[0])[:60]}")
        elif q in ("os.kill", "os.killpg") and node.args and self.int_value(node.args[0]) in (-1, 0):
            self.report("TPL141", node, f"{q}({ast.unparse(node.args[0])}, ...) signals every process")
        elif q in ("os.putenv", "os.environ.setdefault") and len(node.args) == 2:
            self.check_tls_variable(node, node.args[0], node.args[1])
        elif q == "os.environ.update":
            for kw in node.keywords:
                self.check_tls_variable(node, ast.Constant(kw.arg), kw.value)
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    for key, value in zip(arg.keys, arg.values):
                        self.check_tls_variable(node, key, value)
        elif q == "os.dup2":
            self.fd_links.append(node.lineno)
        elif q in ("builtins.open", "io.open", "codecs.open"):
            mode = node.args[1] if len(node.args) > 1 else self.keyword(node, "mode")
            if self.is_write_mode(mode):
                self.writes.append(node.lineno)
        self.check_crypto(node, q)

    def check_crypto(self, node: ast.Call, q: str) -> None:
        algorithm = node.args[0] if node.args else self.keyword(node, "name")
        weak = q in T.WEAK_HASHES or (
            q == "hashlib.new" and (self.names.const_str(algorithm) or "").lower() in T.WEAK_HASH_NAMES
        )
        if weak and not self.is_false(self.keyword(node, "usedforsecurity")) and self.secret_context(node):
            self.report("TPL160", node, f"{q}() hashes a secret")
        if q in ("hmac.new", "hmac.HMAC", "hmac.digest"):
            digest = (
                node.args[2] if len(node.args) > 2 else self.keyword(node, "digestmod") or self.keyword(node, "digest")
            )
            name = (self.names.const_str(digest) or "").lower()
            if name in T.WEAK_HASH_NAMES or self.names.resolve(digest) & T.WEAK_HASHES:
                self.report("TPL160", node, "HMAC with md5/sha1 signs with a weak hash")
        if q in T.INSECURE_RANDOM and self.secret_context(node):
            self.report("TPL161", node, f"{q}() is predictable; it makes a secret here")

    def check_method(self, node: ast.Call, func: ast.Attribute) -> None:
        if func.attr in T.DELETE_METHODS and self.is_broad(func.value):
            self.report("TPL140", node, f".{func.attr}() on {ast.unparse(func.value)[:60]}")
        if func.attr in T.WRITE_METHODS or (func.attr == "open" and node.args and self.is_write_mode(node.args[0])):
            self.writes.append(node.lineno)
        if func.attr == "open" and self.is_write_mode(self.keyword(node, "mode")):
            self.writes.append(node.lineno)

    def check_keywords(self, node: ast.Call) -> None:
        for kw in node.keywords:
            if kw.arg in ("verify", "verify_ssl", "ssl", "check_hostname") and self.is_false(kw.value):
                self.report("TPL170", node, f"{kw.arg}=False")
            elif kw.arg == "cert_reqs" and (self.names.const_str(kw.value) or "").upper() in ("CERT_NONE", "NONE"):
                self.report("TPL170", node, "cert_reqs=CERT_NONE")
            elif kw.arg in ("stdin", "stdout", "stderr") and (
                self.is_fileno(kw.value) or any(q.startswith("socket.") for q in self.names.resolve(kw.value))
            ):
                self.fd_links.append(node.lineno)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def keyword(node: ast.Call, name: str) -> ast.expr | None:
        return next((kw.value for kw in node.keywords if kw.arg == name), None)

    @staticmethod
    def is_false(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Constant) and node.value in (False, 0, None, "")

    @staticmethod
    def is_true(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Constant) and bool(node.value)

    @staticmethod
    def int_value(node: ast.expr) -> int | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            value = node.operand.value
            return -value if isinstance(value, int) else None
        return None

    def is_write_mode(self, node: ast.expr | None) -> bool:
        mode = self.names.const_str(node)
        return mode is not None and any(c in mode for c in "wax+")

    @staticmethod
    def is_fileno(node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("fileno", "makefile")
        )

    def secret_context(self, node: ast.Call) -> bool:
        found = set(self.target_words)
        for name in self.functions:
            found |= words(name)
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                found |= words(child.id)
            elif isinstance(child, ast.Attribute):
                found |= words(child.attr)
        return bool(found & T.SECRET_WORDS)

    # -- module-wide facts -------------------------------------------------------------------

    def finish(self) -> list[AstIssue]:
        for line, names in self.env_dumps:  # a copy used ONLY as a child's environment is fine
            if not (names and all(self.name_env_uses.get(n, 0) == self.name_loads.get(n, 0) > 0 for n in names)):
                self.credentials.append((line, "the whole environment (os.environ)"))
        self.credentials.sort()
        if self.egress:
            egress_line, egress_name = self.egress[0]
            for line, what in self.credentials[:1]:
                node = ast.Pass(lineno=line)
                self.report(
                    "TPL150", node, f"reads {what} and sends over the network ({egress_name}, line {egress_line})"
                )
            if any(q.startswith("socket") for _, q in self.egress):
                for line in self.fd_links[:1]:
                    self.report(
                        "TPL105",
                        ast.Pass(lineno=line),
                        "a socket's file descriptor is wired to a process or to stdin/stdout/stderr",
                    )
        else:
            for line, what in self.credentials[:1]:
                if what != "the whole environment (os.environ)":
                    self.report("TPL151", ast.Pass(lineno=line), f"reads {what}")
        if self.writes:
            for line, what in self.persistence[:1]:
                self.report("TPL152", ast.Pass(lineno=line), f"writes to {what} (line {self.writes[0]})")
        return sorted(self.issues.values(), key=lambda i: (i.line or 0, i.rule_id))


def scan(tree: ast.Module) -> list[AstIssue]:
    """The AST layer's findings for a parsed module (one walk; raises RecursionError on
    absurdly deep trees, which the validator turns into a blocking scan failure)."""
    walk = _Walk()
    walk.visit(tree)
    return walk.finish()
