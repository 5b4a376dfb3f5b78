"""Who holds a reservation: this process's owner token, and whether a local process is alive.

Crash reconciliation (``BudgetBook.reconcile``) releases only reservations whose owner is gone.
"""

from __future__ import annotations

import os
import socket
import uuid


def owner_token() -> tuple[str, str, int]:
    """(owner, host, pid): identifies this process's reservations for crash reconciliation."""
    host = socket.gethostname()[:64]
    pid = os.getpid()
    return f"{host}:{pid}:{_INSTANCE}", host, pid


_INSTANCE = uuid.uuid4().hex[:12]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
