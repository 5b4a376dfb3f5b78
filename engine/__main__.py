"""``python -m engine`` is the ``templar`` command."""

from engine.cli.main import main

raise SystemExit(main())
