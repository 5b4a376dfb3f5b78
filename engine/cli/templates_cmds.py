"""``templar templates``: list, show, similar, review, retire, export, import, builtin."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from engine.api import (
    HeldForReview,
    Preview,
    SuggestionView,
    describe_slot_constraints,
    slot_types,
)
from engine.cli.commands import open_engine
from engine.cli.output import print_json, table
from engine.errors import BadInput
from engine.money import format_usd
from engine.safe_text import shown

T = TypeVar("T")


def wait(call: Coroutine[Any, Any, T]) -> T:
    """Run one engine call to completion (the CLI is synchronous; the engine's API is async)."""
    return asyncio.run(call)


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        views = wait(engine.templates(include_retired=args.all))
    finally:
        engine.close()
    if args.json:
        print_json([v.to_dict(with_body=False) for v in views])
        return 0
    if not views:
        print("no learned templates yet (built-in ones: `templar templates builtin`)")
        return 0
    print(
        table(
            ["id", "name", "pattern", "ver", "uses", "fails", "saved", "quality", "status"],
            [
                (
                    v.id,
                    shown(v.name)[:24],
                    shown(v.pattern)[:60],
                    v.version,
                    v.uses,
                    v.failures,
                    format_usd(v.saved_micros),
                    v.quality,
                    v.status,
                )
                for v in views
            ],
        )
    )
    return 0


def cmd_builtin(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        specs = wait(engine.builtin_templates())
    finally:
        engine.close()
    if args.json:
        print_json(
            [{"name": s.name, "description": s.description, "patterns": [p.text for p in s.patterns]} for s in specs]
        )
        return 0
    print(table(["name", "pattern (first of several)"], [(s.name, s.patterns[0].text) for s in specs]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        view = wait(engine.get_template(args.id))
    finally:
        engine.close()
    if args.json:
        print_json(view.to_dict())
        return 0
    print(f"template {view.id} v{view.version} ({view.status}): {shown(view.name)}")
    print(f"pattern: {view.pattern}")
    for p in view.params:
        print(f"  {p.name}: {p.type}  (learned from {p.to_dict()['value']!r})  {p.description}")
        constraints = describe_slot_constraints(p.type)
        if constraints:
            print(f"      {constraints}")
    print(f"uses {view.uses}, failures {view.failures}, saved {format_usd(view.saved_micros)}, quality {view.quality}")
    if view.retired_reason:
        print(f"retired: {view.retired_reason}")
    print("--- body ---")
    print(view.body, end="" if view.body.endswith("\n") else "\n")
    print("--- versions ---")
    for v in view.versions:
        print(f"  v{v['version']}  quality {v['quality']}  {v['reason']}")
    print("--- aliases ---")  # other wordings that serve this template (engine.learning.aliases)
    for a in view.aliases:
        fixed = ", ".join(f"{k}={v!r}" for k, v in a["fixed"].items())
        print(
            visible(
                f"  alias {a['id']} ({a['status']}): {a['pattern']}  hits {a['hits']}"
                + (f"  fixed {fixed}" if fixed else "")
            )
        )
    if not view.aliases:
        print("  none")
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """Learn from the paid answers whose learning did not run (a process ended first)."""
    import asyncio

    engine = open_engine()
    try:
        done = asyncio.run(engine.learner.process_queued(lambda p, a: engine.config(p, a).settings))
    finally:
        engine.close()
    if args.json:
        print_json(done)
    else:
        for item in done:
            print(f"suggestion {item['suggestion']}: {item['status']}")
        print(f"{len(done)} queued answer(s) processed")
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        rows = wait(engine.similar_templates(args.task, limit=args.limit))
    finally:
        engine.close()
    if args.json:
        print_json([r.to_dict() for r in rows])
        return 0
    if not rows:
        print("nothing similar")
        return 0
    print(
        table(
            ["", "score", "source", "template", "pattern"],
            [
                (
                    "MATCH" if r.match else "REFUSED" if r.refused else "",
                    f"{r.score:.2f}",
                    r.source,
                    r.template,
                    r.pattern[:70],
                )
                for r in rows
            ],
        )
    )
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        view = wait(engine.retire_template(args.id, args.reason or ""))
    finally:
        engine.close()
    print_json(view.to_dict(with_body=False)) if args.json else print(f"template {view.id} retired")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        result = wait(engine.export_templates(Path(args.file), include_retired=args.all))
    finally:
        engine.close()
    print_json(result.to_dict()) if args.json else print(f"exported {result.templates} templates to {args.file}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        result = wait(engine.import_templates(Path(args.file)))  # every template checked; all or nothing
    finally:
        engine.close()
    ids = result.ids
    print_json(result.to_dict()) if args.json else print(f"imported {len(ids)} templates: {', '.join(map(str, ids))}")
    return 0


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for item in values or []:
        if "=" not in item:
            raise BadInput(f"{flag} takes NAME=VALUE, got {item!r}")
        a, b = item.split("=", 1)
        out[a.strip()] = b.strip()
    return out


def visible(text: str) -> str:
    """``text`` as a terminal shows it faithfully: control characters (other than newline and tab)
    are written as escapes, so model-written code cannot hide lines from the reviewer with
    terminal sequences (cursor moves, erase line, concealed text)."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def _print_suggestion(s: SuggestionView, preview: Preview) -> None:
    """Everything a person needs to decide: task, pattern, parameters, the code, its findings."""
    print(f"\nsuggestion {s.id} ({visible(s.project)}/{visible(s.agent)}, confidence {s.confidence:.2f})")
    if s.alias_of is not None:
        print(f"same as template {s.alias_of}: accepting adds this wording as an alias, not a new template")
    print(f"task:    {visible(s.task)}")
    print(f"pattern: {visible(preview.pattern or s.pattern)}")
    for p in s.params:
        print(visible(f"  - {p.name}: {p.type} = {p.to_dict()['value']!r}  ({p.confidence:.2f}) {p.description}"))
    print("--- code ---")
    print(visible(s.code), end="" if s.code.endswith("\n") else "\n")
    print("--- findings ---")
    for f in preview.findings:
        kind = "SECURITY " if f in preview.security_findings else ""
        print(visible(f"  {kind}{f.rule_id} ({f.severity}) line {f.line}: {f.message}"))
    if not preview.findings:
        print("  none")
    print(visible(f"check:   {'ok' if preview.ok else 'FAILS: ' + preview.reason}"))


def _shown(s: SuggestionView, preview: Preview) -> dict[str, Any]:
    """What JSON output carries of a suggestion, so a script sees what it accepts."""
    return {
        "task": s.task,
        "pattern": preview.pattern or s.pattern,
        "code": s.code,
        "alias_of": s.alias_of,
        "findings": [f.to_dict() for f in preview.findings],
        "security_findings": [f.to_dict() for f in preview.security_findings],
        "check": "ok" if preview.ok else preview.reason,
    }


_EDIT_FLAGS = (("--pattern", "pattern"), ("--rename", "rename"), ("--retype", "retype"), ("--drop", "drop"))


def _check_review_flags(args: argparse.Namespace) -> list[str]:
    """Refuse flag combinations that could change or accept more than the user named."""
    edits = [flag for flag, attr in _EDIT_FLAGS if getattr(args, attr)]
    if edits and args.id is None:
        raise BadInput(
            f"{', '.join(edits)} edit one suggestion: give its id (templar templates review ID "
            f"{edits[0]} ...); nothing was changed"
        )
    if args.accept and args.id is None:
        raise BadInput(
            "--accept needs a suggestion id; --accept-all accepts every pending suggestion "
            "whose code has no security finding"
        )
    if args.reject and (args.accept or args.accept_all or edits):
        raise BadInput("--reject cannot be combined with --accept, --accept-all or edits")
    return edits


def cmd_review(args: argparse.Namespace) -> int:
    edits = _check_review_flags(args)
    engine = open_engine()
    results: list[dict[str, Any]] = []
    try:
        pending = [wait(engine.get_suggestion(args.id))] if args.id else wait(engine.pending_suggestions())
        if not pending:
            print_json([]) if args.json else print("no pending suggestions")
            return 0
        for s in pending:
            if s.status != "pending":
                raise BadInput(f"suggestion {s.id} is {s.status}, not pending")
            if edits:
                s = wait(
                    engine.edit_suggestion(
                        s.id,
                        pattern=args.pattern,
                        rename=_pairs(args.rename, "--rename"),
                        retype=_pairs(args.retype, "--retype"),
                        drop=args.drop or [],
                    )
                )
            if args.reject:
                wait(engine.reject_suggestion(s.id))
                results.append({"suggestion": s.id, "status": "rejected"})
                continue
            if args.accept or args.accept_all or edits:
                preview = wait(engine.preview_suggestion(s))
                if not args.json:
                    _print_suggestion(s, preview)
                if args.accept or args.accept_all:
                    outcome = _accept(engine, s.id, unseen=not args.accept)
                else:
                    outcome = {"suggestion": s.id, "status": "edited"}
                results.append({**outcome, **_shown(s, preview)})
                continue
            if not sys.stdin.isatty():
                raise BadInput(
                    "review needs a terminal; in scripts use --accept-all, ID --accept, --reject, or ID with edit flags"
                )
            results.append(_interactive(engine, s))
    finally:
        engine.close()
    if args.json:
        print_json(results)
    else:
        for r in results:
            print(
                f"suggestion {r['suggestion']}: {r['status']}"
                + (f" (template {r['template']})" if r.get("template") else "")
                + (f" — {r['reason']}" if r.get("reason") else "")
            )
    return 0 if all(r["status"] not in ("failed", "held") for r in results) else 2


def _accept(engine: Any, suggestion_id: int, unseen: bool = False) -> dict[str, Any]:
    """Accept; ``unseen`` (``--accept-all``) holds code with any security finding for a person."""
    try:
        view = wait(engine.accept_suggestion(suggestion_id, unseen=unseen))
    except HeldForReview as exc:
        return {"suggestion": suggestion_id, "status": "held", "reason": str(exc)}
    except BadInput as exc:
        return {"suggestion": suggestion_id, "status": "failed", "reason": str(exc)}
    return {"suggestion": suggestion_id, "status": "accepted", "template": view.id, "version": view.version}


HELP = "[a]ccept  [r]eject  [s]kip  re[n]ame  [t]ype  [d]rop param  [p]attern  [c]ode  [q]uit"


def _interactive(engine: Any, s: SuggestionView) -> dict[str, Any]:
    while True:
        preview = wait(engine.preview_suggestion(s))
        _print_suggestion(s, preview)
        choice = input(f"{HELP}\n> ").strip().lower()[:1]
        try:
            if choice == "a":
                return _accept(engine, s.id)
            if choice == "r":
                wait(engine.reject_suggestion(s.id))
                return {"suggestion": s.id, "status": "rejected"}
            if choice in ("s", ""):
                return {"suggestion": s.id, "status": "skipped"}
            if choice == "q":
                raise KeyboardInterrupt
            if choice == "c":
                print(visible(s.code))
            elif choice == "n":
                old, new = input("rename which parameter? ").strip(), input("new name? ").strip()
                s = wait(engine.edit_suggestion(s.id, rename={old: new}))
            elif choice == "t":
                name, type_ = input("parameter? ").strip(), input(f"type ({', '.join(slot_types())})? ").strip()
                s = wait(engine.edit_suggestion(s.id, retype={name: type_}))
            elif choice == "d":
                name = input("drop which parameter (it stays literal)? ").strip()
                s = wait(engine.edit_suggestion(s.id, drop=[name]))
            elif choice == "p":
                s = wait(engine.edit_suggestion(s.id, pattern=input("new pattern: ").strip()))
        except BadInput as exc:
            print(f"! {exc}")
