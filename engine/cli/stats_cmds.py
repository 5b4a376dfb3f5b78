"""``templar stats``."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.aio import run_sync
from engine.cli.budget_cmds import print_anomalies
from engine.cli.commands import open_engine
from engine.cli.output import print_json, table

_COLUMNS = (
    ("requests", "requests"),
    ("paid_calls", "paid calls"),
    ("tokens_in", "tokens in"),
    ("tokens_out", "tokens out"),
    ("cost_usd", "cost"),
    ("saved_usd", "saved"),
    ("cache_hit_rate", "cache hits"),
    ("template_hit_rate", "template hits"),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
)


def _cells(row: dict[str, Any]) -> list[str]:
    out = []
    for key, _ in _COLUMNS:
        value = row[key]
        if key.endswith("_usd"):
            out.append(f"${value:.6f}")
        elif key.endswith("_rate"):
            out.append(f"{value * 100:.1f}%")
        else:
            out.append("—" if value is None else str(value))
    return out


def cmd_stats(args: argparse.Namespace) -> int:
    from engine.service import Engine

    since = Engine.parse_since(args.since)  # bad input is reported before the database is opened
    engine = open_engine()
    try:
        data = run_sync(engine.stats(since, args.by))
    finally:
        engine.close()
    if args.json:
        print_json(data)
        return 0
    headers = [label for _, label in _COLUMNS]
    rows = [["total", *_cells(data["total"])]]
    for group in data.get("groups", []):
        rows.append([group[args.by], *_cells(group)])
    print(table([args.by or "", *headers], rows))
    failures = data["total"]["failures"]
    if failures:
        print("failures: " + ", ".join(f"{k} {v}" for k, v in failures.items()))
    print_anomalies(data.get("anomalies", {}))
    _print_free_and_false(data)
    return 0


def _print_free_and_false(data: dict[str, Any]) -> None:
    total = data["total"]
    if total["free_failed_attempts"]:
        kinds = ", ".join(f"{k} {v}" for k, v in total["free_failures"].items())
        print(f"failed $0 attempts (not paid calls): {total['free_failed_attempts']} ({kinds})")
    if total["reversed_usd"]:
        print(f"savings reversed by wrong-answer reports: ${total['reversed_usd']:.6f} (saved is net of it)")
    hits = data["false_hits"]
    print(
        f"false hits: {hits['wrong_reports']} wrong reports / {hits['template_answers']} template answers "
        f"= {hits['false_hit_rate'] * 100:.1f}%"
    )
    if hits["templates"]:
        print(
            table(
                ["template", "source", "answers", "wrong", "false hits"],
                [
                    (
                        t["template"],
                        t["source"],
                        t["answers"],
                        t["wrong"],
                        "—" if t["false_hit_rate"] is None else f"{t['false_hit_rate'] * 100:.1f}%",
                    )
                    for t in hits["templates"]
                ],
            )
        )
    print(f"savings basis: {data['savings_basis']}")
