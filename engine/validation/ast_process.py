"""How generated code starts processes: shells, interpreters, spawned programs and their effects.

:class:`ProcessChecks` is a mixin of the AST rules' walk (engine/validation/ast_rules.py). It
needs the walk's ``names`` (NameResolver), ``report``, ``keyword``/``is_false``/``is_broad``
helpers and appends to ``persistence``/``writes``/``env_dumps``. Rules: TPL102 (a shell or an
interpreter with run-time code in an argument list, ``shell=True`` also through ``**kwargs``,
``executable=/bin/sh``), TPL104 (command or program not constant), TPL140 (``rm -rf`` on a
broad target, ``mkfs``/``dd of=/dev/...``), TPL152 (``crontab -``), and ``env``/``printenv``
output counted as an environment dump.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from engine.validation import ast_tables as T

_WRAPPERS = frozenset(
    {
        "env",
        "sudo",
        "doas",
        "nohup",
        "xargs",
        "timeout",
        "nice",
        "stdbuf",
        "setsid",
        "exec",
        "command",
        "su",
        "time",
        "chroot",
        "unbuffer",
    }
)


def _is_code_flag(flag: str) -> bool:
    """``-c``, ``-e``, ``--eval``, ``-Command``... or a short-option cluster with c/e (``-pe``)."""
    if flag in T.INTERPRETER_CODE_FLAGS:
        return True
    return (
        flag.startswith("-") and not flag.startswith("--") and 1 < len(flag) <= 4 and any(c in flag[1:] for c in "ce")
    )


def program_name(text: str) -> str:
    """``/usr/bin/Python3.11 -u`` -> ``python``: the program's base name, lower case."""
    base = text.strip().split()[0] if text.strip() else ""
    base = base.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower()
    return re.sub(r"[0-9.]+$", "", base) if base.startswith("python") else base


class ProcessChecks:
    """Checks of subprocess-style calls and their argument lists."""

    names: Any
    persistence: list[tuple[int, str]]
    writes: list[int]
    env_dumps: list[tuple[int, frozenset[str]]]
    target_names: frozenset[str]
    report: Any
    keyword: Any
    is_false: Any
    is_broad: Any

    def check_subprocess(self, node: ast.Call, q: str) -> None:
        executable = self.names.const_str(self.keyword(node, "executable"))
        if executable is not None and program_name(executable) in T.SHELL_PROGRAMS:
            self.report("TPL102", node, f"{q}(executable={executable!r}) runs a shell")
        shell = self.keyword(node, "shell")
        for kw in node.keywords:
            if kw.arg is None and isinstance(kw.value, ast.Name) and kw.value.id in self.names.dicts:
                literal = self.names.dicts[kw.value.id]
                for key, value in zip(literal.keys, literal.values):
                    if key is not None and self.names.const_str(key) == "shell":
                        shell = value
        if shell is not None and not self.is_false(shell):
            self.report("TPL102", node, f"{q}(..., shell=...) runs the command in a shell")
            return
        if q == "asyncio.create_subprocess_exec":
            argv: list[ast.expr] | None = list(node.args)
        else:
            first = node.args[0] if node.args else self.keyword(node, "args")
            argv = self.argv_of(first)
        if not argv:
            self.report("TPL104", node, f"{q}() with a command built at run time")
            return
        self.check_argv(node, q, argv)

    def argv_of(self, first: ast.expr | None) -> list[ast.expr] | None:
        if isinstance(first, (ast.List, ast.Tuple)):
            return list(first.elts)
        if isinstance(first, ast.Name) and first.id in self.names.sequences:
            sequence: list[ast.expr] = self.names.sequences[first.id]
            return sequence
        if self.names.const_str(first) is not None:
            return [first]  # type: ignore[list-item]
        return None

    def check_argv(self, node: ast.Call, q: str, argv: list[ast.expr]) -> None:
        position = 0
        wrapped_by_env = False
        while position < len(argv):
            element = argv[position]
            text = self.names.const_str(element)
            if text is None:
                if self.names.resolve(element) & T.SAFE_PROGRAM_EXPRS:
                    text = "python"
                else:
                    self.report("TPL104", node, f"{q}() runs a program chosen at run time")
                    return
            program = program_name(text)
            if program in _WRAPPERS or text.startswith("-") or "=" in text or text.isdigit():
                wrapped_by_env = wrapped_by_env or program == "env"
                position += 1
                continue
            rest = argv[position + 1 :]
            self.check_program_effects(node, program, rest)
            if program in T.SHELL_PROGRAMS:
                self.report("TPL102", node, f"{q}() runs {program}, a shell")
            elif program in T.INTERPRETERS:
                flags = [self.names.const_str(e) for e in rest]
                if any(_is_code_flag(f) for f in flags if f) and None in flags:
                    self.report("TPL102", node, f"{q}() runs {program} with code built at run time")
            elif program in T.SCHEDULER_PROGRAMS and not ({self.names.const_str(e) for e in rest} & {"-l", "/query"}):
                self.persistence.append((node.lineno, f"the {program} schedule"))
                self.writes.append(node.lineno)
            return
        if wrapped_by_env:  # `env` with no program prints the environment
            self.env_dumps.append((node.lineno, self.target_names))

    def check_program_effects(self, node: ast.Call, program: str, rest: list[ast.expr]) -> None:
        """What a constant program does with its arguments: deletes, wipes disks, dumps env."""
        if program in T.DELETE_PROGRAMS and any(self.is_broad(a) for a in rest):
            self.report("TPL140", node, f"{program} on a broad target")
        elif (
            program.startswith("mkfs")
            or program in T.DISK_PROGRAMS
            or (program == "dd" and any((self.names.const_str(a) or "").startswith("of=/dev/") for a in rest))
        ):
            self.report("TPL140", node, f"{program} wipes or repartitions a disk")
        elif program in T.ENV_DUMP_PROGRAMS:
            self.env_dumps.append((node.lineno, self.target_names))
