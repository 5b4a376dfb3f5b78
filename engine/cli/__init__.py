"""Headless mode: the ``templar`` command. Only argparse and the error types load for ``--help``."""
