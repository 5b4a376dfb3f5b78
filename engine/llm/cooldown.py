"""Provider cooldown, shared by every process through the store (table ``provider_health``).

A record is keyed by endpoint (``model@api_base``) or by endpoint AND credential
(``model@api_base#<fingerprint>``). Which one a failure counts against depends on whose fault
it is:

    credential  auth, rate_limit, bad_request, context_window   (this key or this caller)
    endpoint    server_error, unavailable, timeout, connection,  (the endpoint, for everyone)
                empty, not_found, unknown

A provider is skipped while either its endpoint record or its credential's record is cooling
down, so one project's revoked key never blocks a shared endpoint for the others, and a dead
endpoint is skipped by every caller. A success clears the endpoint's and its own credential's
counts. The fingerprint is a salted SHA-256 prefix of the key: never the key, nor a piece of it.
Methods are synchronous and run on the database thread; times are epoch seconds.
"""

from __future__ import annotations

import hashlib
from typing import Any

from engine.config.schema import ProviderSettings
from engine.store.db import Store
from engine.store.sql import execute

CREDENTIAL_SCOPED = frozenset({"auth", "rate_limit", "bad_request", "context_window"})
MAX_COOLDOWN_S = 86400.0  # a Retry-After longer than a day is read as a day


def health_key(provider: ProviderSettings) -> str:
    """The endpoint: the same model behind another api_base is another endpoint."""
    return f"{provider.model}@{provider.api_base}"


def fingerprint(api_key: str | None) -> str:
    """A stable, non-reversible name for a credential ('none' for keyless providers)."""
    if not api_key:
        return "none"
    return hashlib.sha256(b"templar-credential\x00" + api_key.encode("utf-8")).hexdigest()[:20]


def credential_key(provider: ProviderSettings, api_key: str | None) -> str:
    return f"{health_key(provider)}#{fingerprint(api_key)}"


def scope_key(provider: ProviderSettings, api_key: str | None, error_class: str) -> str:
    """The record a failure of ``error_class`` counts against."""
    return credential_key(provider, api_key) if error_class in CREDENTIAL_SCOPED else health_key(provider)


class CooldownBoard:
    """Consecutive failures per endpoint and per credential, and when each may be tried again."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _exec(self, sql: str, params: tuple[object, ...]) -> Any:
        return execute(sql, params, self.store.db)

    def state(self, keys: list[str]) -> dict[str, tuple[int, float]]:
        """(consecutive failures, cooling until) for the keys that have a record."""
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = self._exec(f"SELECT key, failures, until FROM provider_health WHERE key IN ({marks})", tuple(keys))
        return {r[0]: (int(r[1]), float(r[2])) for r in rows.fetchall()}

    def _upsert(self, key: str) -> None:
        endpoint, _, credential = key.partition("#")
        self._exec(
            "INSERT INTO provider_health (key, failures, until, endpoint, credential) VALUES (?, 1, 0, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET failures = provider_health.failures + 1",
            (key, endpoint, credential),
        )

    def failed(self, key: str, now: float, threshold: int, seconds: float) -> bool:
        """Count a failed request against ``key``; True when this one starts a cooldown."""
        with self.store.write():
            self._upsert(key)
            failures = int(self._exec("SELECT failures FROM provider_health WHERE key = ?", (key,)).fetchone()[0])
            if failures >= threshold and seconds > 0:
                self._exec("UPDATE provider_health SET failures = 0, until = ? WHERE key = ?", (now + seconds, key))
                return True
        return False

    def cool(self, key: str, until: float) -> None:
        """Skip ``key`` until ``until`` (a provider asked for it with a long Retry-After)."""
        with self.store.write():
            self._upsert(key)
            self._exec(
                "UPDATE provider_health SET failures = 0, until = CASE WHEN until > ? THEN until ELSE ? END WHERE key = ?",
                (until, until, key),
            )

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._exec("UPDATE provider_health SET failures = 0, until = 0 WHERE key = ?", (key,))
