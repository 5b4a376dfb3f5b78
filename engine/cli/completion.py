"""``templar completion SHELL``: the completion script for bash, zsh or fish.

The script comes from argcomplete and calls ``templar`` back with ``_ARGCOMPLETE`` set on each
<Tab>; ``engine.cli.main`` then answers from the argparse parser (no engine is built, no store
is opened), so completion always matches the installed commands and flags.
"""

from __future__ import annotations

import argparse


def cmd_completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(["templar"], shell=args.shell), end="")
    return 0
