"""The ``templar`` console script: the headless CLI, with the app as its default command.

The engine's CLI never imports the UI; this launcher hands it a function that opens the app,
imported only when the app is actually wanted (``templar`` alone, or ``templar tui``).
"""

from __future__ import annotations

import sys


def launch_app() -> int:
    from tui.app import run_app

    return run_app()


def main(argv: list[str] | None = None) -> int:
    from engine.cli.main import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv, launch_app=launch_app)


if __name__ == "__main__":
    raise SystemExit(main())
