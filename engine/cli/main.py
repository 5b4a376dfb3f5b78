"""``templar``: argument parsing and dispatch. Handlers live in sibling modules, imported lazily.

Exit codes (also in the README): 0 ok, 1 internal error, 2 bad input, 3 refused by budget,
4 no provider reachable, 5 validation failed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from engine import __version__
from engine.cli.progress_flags import add_progress_flags
from engine.errors import ExitCode, TemplarError

EPILOG = """\
examples:
  templar                                     open the full-screen app
  templar generate "dataclass Invoice with fields number: int, total: float" --json
  templar config explain chain.order --project acme
  templar config set budget.project.limit_usd 5 --project acme
  templar budget                              spend, reservations and alert level per budget
  templar doctor                              config files, database, provider keys

exit codes: 0 ok, 1 internal error, 2 bad input, 3 refused by budget (or --max-usd),
            4 no provider reachable, 5 validation failed, 130 interrupted
data lives in $TEMPLAR_HOME (or the platform's config and data dirs): see `templar doctor`.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): ``templar generate: error: ... (see --help)``."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _add_scope(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--project", "-p", required=required, help="project (client) name")
    parser.add_argument("--agent", "-a", help="agent inside the project")


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="templar",
        description="Code generation that gets cheaper every time it is used: learned and built-in "
        "templates and a response cache answer for $0; a budgeted LLM provider chain answers the rest.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"templar {__version__}")
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=["debug", "info", "warning", "error", "critical"],
        metavar="LEVEL",
        help="log at LEVEL (debug, info, warning, error, critical) to the log file AND stderr "
        "(default: TEMPLAR_LOG_LEVEL or warning, to the log file only; see `templar doctor`)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("tui", help="open the full-screen app (the default)", formatter_class=_Formatter)
    p.set_defaults(handler="engine.cli.commands:cmd_tui")

    p = sub.add_parser(
        "generate",
        help="generate code for a task",
        formatter_class=_Formatter,
        description="Answer TASK from the cheapest source: templates, the cache, then the provider chain.",
        epilog='example: templar generate "retry decorator with 5 attempts" --project acme --json\n'
        "exit 5 when the answer fails validation or, for critical work, is not approved: nothing is written "
        'to --output, stdout has no code (--json: "ok": false), stderr gives the reason and findings',
    )
    p.add_argument("task", help="what to write (use - to read it from stdin)")
    _add_scope(p)
    _add_json(p)
    p.add_argument("--stream", action="store_true", help="show the answer as it arrives (stderr)")
    add_progress_flags(p)
    p.add_argument("--max-tokens", type=int, metavar="N", help="output token limit for this call")
    p.add_argument("--yes", "-y", action="store_true", help="confirm paid calls at budget level L5 critical")
    p.add_argument("--no-cache", action="store_true", help="skip the response cache lookup")
    p.add_argument("--no-templates", action="store_true", help="skip learned and built-in templates")
    p.add_argument(
        "--critical",
        action="store_true",
        help="critical work: the answer needs an approving review by a second provider "
        "(tasks matching [critical.rules] are critical without it)",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="also write the code to FILE (only when it is deliverable)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="say which tier would answer and, for a paid call, the provider and worst-case cost; "
        "calls nothing, records nothing",
    )
    p.add_argument(
        "--max-usd",
        type=float,
        metavar="X",
        help="cap this request's total (answer + repairs + review + suggestion) at X dollars: exit 3 "
        "if the answer's worst case does not fit; later steps that do not fit are skipped",
    )
    p.add_argument(
        "--allow-invalid",
        action="store_true",
        help="print an answer that failed validation or review on stdout anyway (still exit 5; "
        "--output is never written)",
    )
    p.set_defaults(handler="engine.cli.commands:cmd_generate")

    p = sub.add_parser(
        "validate",
        help="check code for syntax, security, type hints and docstrings (never runs it)",
        formatter_class=_Formatter,
        epilog="exit code 5 when a finding blocks; example: templar validate app.py --json",
    )
    p.add_argument("path", help="a Python file, or - for stdin")
    _add_scope(p)
    _add_json(p)
    p.set_defaults(handler="engine.cli.validate_cmd:cmd_validate")

    cfg = sub.add_parser("config", help="show, explain and change settings", formatter_class=_Formatter)
    csub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    p = csub.add_parser("show", help="every effective setting and the level that set it")
    _add_scope(p)
    _add_json(p)
    p.set_defaults(handler="engine.cli.config_cmds:cmd_show")
    p = csub.add_parser("explain", help="one key: effective value, who set it, value at every level")
    p.add_argument("key", help="dotted key, e.g. chain.order or budget.project.limit_usd")
    _add_scope(p)
    _add_json(p)
    p.set_defaults(handler="engine.cli.config_cmds:cmd_explain")
    p = csub.add_parser(
        "set",
        help="override a key for a project or agent (written with tomli-w)",
        epilog='values are TOML: 5, 0.5, true, "text", ["gemini", "openai"]',
    )
    p.add_argument("key")
    p.add_argument("value")
    _add_scope(p, required=True)
    _add_json(p)
    p.add_argument(
        "--trust-providers",
        action="store_true",
        help="allow a change of where an API key is sent (api_base host, api_key_env, provider)",
    )
    p.set_defaults(handler="engine.cli.config_cmds:cmd_set")
    p = csub.add_parser("unset", help="remove a project or agent override")
    p.add_argument("key")
    _add_scope(p, required=True)
    _add_json(p)
    p.set_defaults(handler="engine.cli.config_cmds:cmd_unset")
    p = csub.add_parser("export", help="write a project's overrides to a versioned TOML file")
    p.add_argument("file")
    p.add_argument("--project", "-p", required=True)
    _add_json(p)
    p.set_defaults(handler="engine.cli.config_cmds:cmd_export")
    p = csub.add_parser("import", help="validate an export completely, then write it as a project")
    p.add_argument("file")
    p.add_argument("--project", "-p", help="import under this name instead of the one in the file")
    _add_json(p)
    p.add_argument(
        "--trust-providers",
        action="store_true",
        help="allow the file's provider endpoints and key variables (each is named; check the hosts)",
    )
    p.set_defaults(handler="engine.cli.config_cmds:cmd_import")
    p = csub.add_parser("trust", help="trust where a hand-edited project file sends API keys (variable -> host)")
    p.add_argument("--project", "-p", required=True)
    _add_json(p)
    p.set_defaults(handler="engine.cli.config_cmds:cmd_trust")
    p = csub.add_parser("projects", help="list projects and their agents")
    _add_json(p)
    p.set_defaults(handler="engine.cli.config_cmds:cmd_projects")

    tpl = sub.add_parser("templates", help="learned and built-in templates: list, show, review, retire, export, import")
    tsub = tpl.add_subparsers(dest="templates_command", metavar="ACTION", required=True)
    p = tsub.add_parser("list", help="learned templates with uses, failures, savings, quality")
    p.add_argument("--all", action="store_true", help="include retired templates")
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_list")
    p = tsub.add_parser("builtin", help="the built-in template pack")
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_builtin")
    p = tsub.add_parser("show", help="one template: pattern, parameters, body, versions")
    p.add_argument("id", type=int)
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_show")
    p = tsub.add_parser("similar", help="which templates match or nearly match a task (no LLM call)")
    p.add_argument("task")
    p.add_argument("--limit", type=int, default=5)
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_similar")
    p = tsub.add_parser(
        "review",
        help="review pending parameterization suggestions (interactive, or scripted with flags)",
        formatter_class=_Formatter,
        epilog="examples:\n  templar templates review                 walk every pending suggestion\n"
        "  templar templates review 3 --rename cls=name          edit only (edits need an id)\n"
        "  templar templates review 3 --rename cls=name --accept  edit, then accept\n"
        "  templar templates review --reject",
    )
    p.add_argument("id", type=int, nargs="?", help="one suggestion (default: all pending)")
    p.add_argument("--accept", action="store_true", help="accept the suggestion ID (its code and findings are shown)")
    p.add_argument(
        "--accept-all",
        action="store_true",
        help="accept every pending suggestion (or ID) whose code has no security finding; code shown",
    )
    p.add_argument("--reject", action="store_true", help="reject")
    p.add_argument("--rename", action="append", metavar="OLD=NEW", help="rename a parameter")
    p.add_argument("--retype", action="append", metavar="NAME=TYPE", help="change a parameter's type")
    p.add_argument("--drop", action="append", metavar="NAME", help="make a parameter literal again")
    p.add_argument("--pattern", help="replace the task pattern")
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_review")
    p = tsub.add_parser("retire", help="stop serving a template")
    p.add_argument("id", type=int)
    p.add_argument("--reason")
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_retire")
    p = tsub.add_parser("suggest", help="learn from paid answers whose learning did not run (queued)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_suggest")
    p = tsub.add_parser("export", help="write learned templates to a versioned JSON file")
    p.add_argument("file")
    p.add_argument("--all", action="store_true", help="include retired templates")
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_export")
    p = tsub.add_parser("import", help="check every template in an export, then add them all (or none)")
    p.add_argument("file")
    _add_json(p)
    p.set_defaults(handler="engine.cli.templates_cmds:cmd_import")

    bud = sub.add_parser("budget", help="budgets: spend, reservations, alert levels, allocation")
    bsub = bud.add_subparsers(dest="budget_command", metavar="ACTION")
    _add_scope(bud)
    _add_json(bud)
    bud.set_defaults(handler="engine.cli.budget_cmds:cmd_status")
    p = bsub.add_parser("status", help="each budget with spent, reserved, remaining, level (default)")
    _add_scope(p)
    _add_json(p)
    p.set_defaults(handler="engine.cli.budget_cmds:cmd_status")
    p = bsub.add_parser("allocate", help="propose (and --apply) project limits from the system budget")
    p.add_argument("--apply", action="store_true", help="write the proposed limits to the project files")
    p.add_argument("--force", action="store_true", help="may raise limits a person set (otherwise they are caps)")
    _add_json(p)
    p.set_defaults(handler="engine.cli.budget_cmds:cmd_allocate")
    p = bsub.add_parser("alerts", help="the alert log: every level crossing, once per period")
    _add_json(p)
    p.set_defaults(handler="engine.cli.budget_cmds:cmd_alerts")

    p = sub.add_parser(
        "stats",
        help="calls, tokens, cost, savings, hit rates, latency, failures",
        formatter_class=_Formatter,
        epilog="examples: templar stats --since 7d --by provider; templar stats --by day --json",
    )
    p.add_argument("--since", metavar="WHEN", help="7d, 24h, 30m or a date (2026-11-01); default: all time")
    p.add_argument("--by", choices=["provider", "model", "project", "agent", "day", "source"], help="group rows")
    _add_json(p)
    p.set_defaults(handler="engine.cli.stats_cmds:cmd_stats")

    p = sub.add_parser("doctor", help="check config files, data dir, database and provider keys")
    p.add_argument("--ping", action="store_true", help="make a minimal paid call per provider (costs a little)")
    _add_scope(p)
    _add_json(p)
    p.set_defaults(handler="engine.cli.doctor:cmd_doctor")

    from engine.cli.batch_args import register as register_batch

    register_batch(sub, _Formatter)

    from engine.cli.feedback_cmd import register as register_feedback

    register_feedback(sub, _Formatter)

    from engine.cli.serve_args import register as register_serve

    register_serve(sub, _Formatter)

    store = sub.add_parser("store", help="database maintenance")
    ssub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    p = ssub.add_parser("migrate", help="apply pending schema migrations")
    _add_json(p)
    p.set_defaults(handler="engine.cli.doctor:cmd_migrate")
    p = ssub.add_parser("prune", help="delete raw ledger rows before a date (per-day aggregates are kept)")
    p.add_argument(
        "--before",
        metavar="DATE",
        help="first day to keep, e.g. 2026-09-01 (default: today minus store.ledger_retention_days)",
    )
    p.add_argument("--dry-run", action="store_true", help="count the rows, delete nothing")
    _add_json(p)
    p.set_defaults(handler="engine.cli.store_cmds:cmd_prune")

    p = sub.add_parser(
        "completion",
        help="print the shell completion script for bash, zsh or fish",
        formatter_class=_Formatter,
        epilog="install:\n  bash: templar completion bash >> ~/.bashrc\n"
        "  zsh:  templar completion zsh >> ~/.zshrc\n"
        "  fish: templar completion fish > ~/.config/fish/completions/templar.fish",
    )
    p.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to complete in")
    p.set_defaults(handler="engine.cli.completion:cmd_completion")
    return parser


def _resolve(handler: str) -> Callable[[argparse.Namespace], int]:
    module_name, func = handler.split(":")
    module = __import__(module_name, fromlist=[func])
    found: Callable[[argparse.Namespace], int] = getattr(module, func)
    return found


def main(argv: list[str] | None = None, launch_app: Callable[[], int] | None = None) -> int:
    """Run the ``templar`` command. ``launch_app`` opens the TUI; the engine never imports it,
    so the ``templar`` console script (``tui.launcher``) passes it in."""
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell's completion hook is asking: answer and exit
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        args.handler = "engine.cli.commands:cmd_tui"
    args.launch_app = launch_app
    want_json = bool(getattr(args, "json", False))
    _start_logging(args)
    try:
        return int(_resolve(args.handler)(args) or 0)
    except TemplarError as exc:
        _report(exc.to_dict(), f"templar: {exc}", want_json)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("templar: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # stdout was closed early (`templar stats --json | head`): exit quietly, like SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("TEMPLAR_DEBUG"):
            raise
        message = f"internal error: {type(exc).__name__}: {exc}"
        import logging

        logging.getLogger("templar.cli").error("%s", message, exc_info=True)  # the traceback, scrubbed, to the log
        _report(
            {"error": "internal", "message": message, "exit_code": 1},
            f"templar: {message} (set TEMPLAR_DEBUG=1 for a traceback)",
            want_json,
        )
        return int(ExitCode.INTERNAL)


def _start_logging(args: argparse.Namespace) -> None:
    """The entry point configures logging (the engine never does): the rotating file in the data
    dir, and stderr too when ``--log-level`` was given."""
    from engine.logs import configure
    from engine.paths import Paths

    level = getattr(args, "log_level", None)
    full_screen = args.handler == "engine.cli.commands:cmd_tui"  # stderr would draw over the app
    try:
        data_dir = Paths.from_env().data_dir
    except TemplarError:  # e.g. TEMPLAR_HOME is a file: the command reports it in one line, no log
        return
    configure(data_dir, level, stderr=level is not None and not full_screen)


def _report(data: dict[str, Any], line: str, want_json: bool) -> None:
    from engine.scrub import scrub, scrub_data  # every error line passes the one scrubber

    data, line = scrub_data(data), scrub(line)  # type: ignore[assignment]
    if want_json:
        import json

        print(json.dumps(data))
    print(line, file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
