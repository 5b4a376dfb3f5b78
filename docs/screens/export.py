"""Copy the app's snapshot SVGs (tests/tui/__snapshots__/test_snapshots/) to docs/screens/ under
stable names (screen-WxH.svg), for the README. Run after reviewing a ``--snapshot-update``.

    python docs/screens/export.py
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "tui" / "__snapshots__" / "test_snapshots"
NAMES = {"generate_screen": "generate", "library_screen": "library", "budget_screen": "budget",
         "config_screen": "config", "review_screen": "review", "help_screen": "help",
         "budget_confirmation_modal": "budget-confirm", "generate_screen_light_theme": "generate-light"}


def main() -> None:
    out = Path(__file__).resolve().parent
    copied = 0
    for svg in sorted(SNAPSHOTS.glob("test_*.svg")):
        match = re.fullmatch(r"test_(\w+?)\[(\d+x\d+)\]\.svg", svg.name)
        if match and match.group(1) in NAMES:
            shutil.copyfile(svg, out / f"{NAMES[match.group(1)]}-{match.group(2)}.svg")
            copied += 1
    print(f"copied {copied} screenshots to {out}")


if __name__ == "__main__":
    main()
