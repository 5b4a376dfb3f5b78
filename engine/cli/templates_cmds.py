"""``templar templates``: list, show, similar, review, retire, export, import, builtin."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

from engine.cli.commands import open_engine
from engine.cli.output import print_json, table
from engine.errors import BadInput
from engine.money import format_usd
from engine.safe_text import shown


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        views = engine.store.call(engine.library.templates, None if args.all else "active")
    finally:
        engine.close()
    if args.json:
        print_json([v.to_dict(with_body=False) for v in views])
        return 0
    if not views:
        print("no learned templates yet (built-in ones: `templar templates builtin`)")
        return 0
    print(table(["id", "name", "pattern", "ver", "uses", "fails", "saved", "quality", "status"], [
        (v.id, shown(v.name)[:24], shown(v.pattern)[:60], v.version, v.uses, v.failures, format_usd(v.saved_micros), v.quality, v.status)
        for v in views
    ]))
    return 0


def cmd_builtin(args: argparse.Namespace) -> int:
    from engine.pipeline import builtin_index

    specs = list(builtin_index())
    if args.json:
        print_json([{"name": s.name, "description": s.description, "patterns": [p.text for p in s.patterns]} for s in specs])
        return 0
    print(table(["name", "pattern (first of several)"], [(s.name, s.patterns[0].text) for s in specs]))
    return 0


def _check_id(value: int, what: str = "template") -> None:
    from engine.errors import NotFound

    if not 1 <= value < 2**63:
        raise NotFound(f"no {what} {value}")


def _constraints(type_: str) -> str:
    """The learned constraints of a slot type, in words (see engine.templates.meaning)."""
    from engine.templates import SlotError, parse_slot_type
    from engine.templates.meaning import describe_constraints

    try:
        return describe_constraints(parse_slot_type(type_))
    except SlotError:
        return ""


def cmd_show(args: argparse.Namespace) -> int:
    _check_id(args.id)
    engine = open_engine()
    try:
        view = engine.store.call(engine.library.template, args.id)
    finally:
        engine.close()
    if args.json:
        print_json(view.to_dict())
        return 0
    print(f"template {view.id} v{view.version} ({view.status}): {shown(view.name)}")
    print(f"pattern: {view.pattern}")
    for p in view.params:
        print(f"  {p.name}: {p.type}  (learned from {p.to_dict()['value']!r})  {p.description}")
        constraints = _constraints(p.type)
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
        print(visible(f"  alias {a['id']} ({a['status']}): {a['pattern']}  hits {a['hits']}"
                      + (f"  fixed {fixed}" if fixed else "")))
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
    from engine.pipeline import builtin_index

    engine = open_engine()
    try:
        learned = engine.store.call(engine.library.index)
    finally:
        engine.close()
    rows: list[dict[str, Any]] = []
    for source, index in (("learned", learned), ("builtin", builtin_index())):
        match = index.match(args.task)
        if match is not None:
            refused = engine.library.refusal(match.template.name, match.template.version, match.bindings)
            rows.append({"source": source, "template": match.template.name, "pattern": match.pattern.text,
                         "score": 1.0, "match": not refused, "bindings": {k: str(v) for k, v in match.bindings.items()},
                         **({"refused": refused} if refused else {})})
        for near in index.similar(args.task, limit=args.limit):
            rows.append({"source": source, "template": near.template.name, "pattern": near.pattern.text,
                         "score": round(near.score, 3), "match": False})
    rows.sort(key=lambda r: -r["score"])
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("nothing similar")
        return 0
    print(table(["", "score", "source", "template", "pattern"], [
        ("MATCH" if r["match"] else "REFUSED" if r.get("refused") else "", f"{r['score']:.2f}", r["source"],
         r["template"], r["pattern"][:70]) for r in rows
    ]))
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    engine = open_engine()
    try:
        view = engine.store.call(engine.library.retire, args.id, args.reason or "retired by hand")
    finally:
        engine.close()
    print_json(view.to_dict(with_body=False)) if args.json else print(f"template {view.id} retired")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from engine.learning.transfer import export_templates

    engine = open_engine()
    try:
        result = engine.store.call(export_templates, engine.library, Path(args.file), args.all)
    finally:
        engine.close()
    print_json(result) if args.json else print(f"exported {result['templates']} templates to {args.file}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from engine.learning.transfer import import_templates, read_export

    entries = read_export(Path(args.file))
    engine = open_engine()
    try:
        ids = engine.store.call(import_templates, engine.library, entries)
    finally:
        engine.close()
    print_json({"imported": ids}) if args.json else print(f"imported {len(ids)} templates: {', '.join(map(str, ids))}")
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


def _print_suggestion(s: Any, preview: Any) -> None:
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


def _shown(s: Any, preview: Any) -> dict[str, Any]:
    """What JSON output carries of a suggestion, so a script sees what it accepts."""
    return {"task": s.task, "pattern": preview.pattern or s.pattern, "code": s.code, "alias_of": s.alias_of,
            "findings": [f.to_dict() for f in preview.findings],
            "security_findings": [f.to_dict() for f in preview.security_findings],
            "check": "ok" if preview.ok else preview.reason}


_EDIT_FLAGS = (("--pattern", "pattern"), ("--rename", "rename"), ("--retype", "retype"), ("--drop", "drop"))


def _check_review_flags(args: argparse.Namespace) -> list[str]:
    """Refuse flag combinations that could change or accept more than the user named."""
    edits = [flag for flag, attr in _EDIT_FLAGS if getattr(args, attr)]
    if edits and args.id is None:
        raise BadInput(f"{', '.join(edits)} edit one suggestion: give its id (templar templates review ID "
                       f"{edits[0]} ...); nothing was changed")
    if args.accept and args.id is None:
        raise BadInput("--accept needs a suggestion id; --accept-all accepts every pending suggestion "
                       "whose code has no security finding")
    if args.reject and (args.accept or args.accept_all or edits):
        raise BadInput("--reject cannot be combined with --accept, --accept-all or edits")
    return edits


def cmd_review(args: argparse.Namespace) -> int:
    edits = _check_review_flags(args)
    engine = open_engine()
    lib = engine.library
    results: list[dict[str, Any]] = []
    try:
        pending = [engine.store.call(lib.suggestion, args.id)] if args.id else engine.store.call(lib.suggestions)
        if not pending:
            print_json([]) if args.json else print("no pending suggestions")
            return 0
        for s in pending:
            if s.status != "pending":
                raise BadInput(f"suggestion {s.id} is {s.status}, not pending")
            if edits:
                s = engine.store.call(functools.partial(
                    lib.edit, s.id, pattern=args.pattern, rename=_pairs(args.rename, "--rename"),
                    retype=_pairs(args.retype, "--retype"), drop=args.drop or []))
            if args.reject:
                engine.store.call(lib.reject, s.id)
                results.append({"suggestion": s.id, "status": "rejected"})
                continue
            if args.accept or args.accept_all or edits:
                preview = engine.store.call(lib.preview, s)
                if not args.json:
                    _print_suggestion(s, preview)
                if args.accept or args.accept_all:
                    outcome = _accept(engine, s.id, unseen=not args.accept)
                else:
                    outcome = {"suggestion": s.id, "status": "edited"}
                results.append({**outcome, **_shown(s, preview)})
                continue
            if not sys.stdin.isatty():
                raise BadInput("review needs a terminal; in scripts use --accept-all, ID --accept, --reject, "
                               "or ID with edit flags")
            results.append(_interactive(engine, s))
    finally:
        engine.close()
    if args.json:
        print_json(results)
    else:
        for r in results:
            print(f"suggestion {r['suggestion']}: {r['status']}" + (f" (template {r['template']})" if r.get("template") else "")
                  + (f" — {r['reason']}" if r.get("reason") else ""))
    return 0 if all(r["status"] not in ("failed", "held") for r in results) else 2


def _accept(engine: Any, suggestion_id: int, unseen: bool = False) -> dict[str, Any]:
    """Accept; ``unseen`` (``--accept-all``) holds code with any security finding for a person."""
    from engine.learning.review import HeldForReview

    try:
        view = engine.store.call(functools.partial(engine.library.accept, suggestion_id, unseen=unseen))
    except HeldForReview as exc:
        return {"suggestion": suggestion_id, "status": "held", "reason": str(exc)}
    except BadInput as exc:
        return {"suggestion": suggestion_id, "status": "failed", "reason": str(exc)}
    return {"suggestion": suggestion_id, "status": "accepted", "template": view.id, "version": view.version}


HELP = "[a]ccept  [r]eject  [s]kip  re[n]ame  [t]ype  [d]rop param  [p]attern  [c]ode  [q]uit"


def _interactive(engine: Any, s: Any) -> dict[str, Any]:
    lib = engine.library
    while True:
        preview = engine.store.call(lib.preview, s)
        _print_suggestion(s, preview)
        choice = input(f"{HELP}\n> ").strip().lower()[:1]
        try:
            if choice == "a":
                return _accept(engine, s.id)
            if choice == "r":
                engine.store.call(lib.reject, s.id)
                return {"suggestion": s.id, "status": "rejected"}
            if choice in ("s", ""):
                return {"suggestion": s.id, "status": "skipped"}
            if choice == "q":
                raise KeyboardInterrupt
            if choice == "c":
                print(visible(s.code))
            elif choice == "n":
                old, new = input("rename which parameter? ").strip(), input("new name? ").strip()
                s = engine.store.call(functools.partial(lib.edit, s.id, rename={old: new}))
            elif choice == "t":
                name, type_ = input("parameter? ").strip(), input("type (identifier, string, integer, number, identifier_list, field_list, word)? ").strip()
                s = engine.store.call(functools.partial(lib.edit, s.id, retype={name: type_}))
            elif choice == "d":
                name = input("drop which parameter (it stays literal)? ").strip()
                s = engine.store.call(functools.partial(lib.edit, s.id, drop=[name]))
            elif choice == "p":
                s = engine.store.call(functools.partial(lib.edit, s.id, pattern=input("new pattern: ").strip()))
        except BadInput as exc:
            print(f"! {exc}")
