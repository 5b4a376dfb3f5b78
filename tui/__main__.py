"""``python -m tui``: the same as the ``templar`` command."""

from tui.launcher import main

raise SystemExit(main())
