"""Store maintenance through the one door: the schema and integrity of the engine's database,
and ``templar store migrate`` (which opens the database *without* migrating it first, so it is a
class method). URLs are always shown redacted: a password never reaches output or logs.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.paths import Paths
    from engine.store.db import Store


@dataclass(frozen=True)
class StoreStatus:
    """The engine's database: redacted URL, backend and server version, schema version (applied
    migrations) against the latest, pending migrations and the integrity check's verdict."""

    url: str
    backend: str
    server_version: str
    schema_version: int
    latest_schema_version: int
    migrations: tuple[str, ...]
    pending: tuple[str, ...]
    integrity: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["migrations"], data["pending"] = list(self.migrations), list(self.pending)
        return data


@dataclass(frozen=True)
class MigrationReport:
    """What ``migrate_store`` did: the redacted URL, the migrations applied (names, in order),
    the schema version before and after."""

    url: str
    applied: tuple[str, ...]
    was: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "applied": list(self.applied), "schema_version": self.schema_version, "was": self.was}


@dataclass(frozen=True)
class PruneResult:
    """What ``prune_ledger`` deleted (or, with ``dry_run``, would delete)."""

    url: str  # the store, password redacted
    before: str  # the first day kept (ISO date)
    rows: int
    dry_run: bool


def prune_day(before: str | None, retention_days: int, today: date | None = None) -> str:
    """The first day to keep: ``before`` (an ISO date), else today minus the retention setting."""
    from engine.errors import BadInput

    if before:
        try:
            return date.fromisoformat(before.strip()).isoformat()
        except ValueError:
            raise BadInput(f"--before {before!r}: use a date like 2026-09-01") from None
    if retention_days <= 0:
        raise BadInput("give --before DATE, or set store.ledger_retention_days (0 keeps every row)")
    today = today or datetime.now(UTC).date()
    return (today - timedelta(days=retention_days)).isoformat()


class StoreAPI:
    """Store methods of ``Engine``."""

    store: Store
    paths: Paths
    environ: dict[str, str] | None

    @property
    def unrecorded(self) -> str | None:
        """Why nothing is recorded (a read-only data dir opened as an in-memory stand-in), else None."""
        return self.store.unrecorded

    async def prune_ledger(self, before: str | None = None, *, dry_run: bool = False) -> PruneResult:
        """Delete raw ledger rows dated before ``before`` (an ISO date; default: today minus
        ``store.ledger_retention_days``), never a call still in flight; the per-day aggregates that
        ``stats`` and budgets read are kept (``engine.rollups``). ``dry_run``: count only."""
        from engine import rollups
        from engine.config.cascade import load_config
        from engine.store.db import redact_url

        settings = load_config(self.paths, environ=self.environ).settings
        day = prune_day(before, settings.store.ledger_retention_days)
        rows = await self.store.run(rollups.prune, day, dry_run)
        return PruneResult(redact_url(self.store.url), day, int(rows), bool(dry_run))

    async def store_status(self) -> StoreStatus:
        """Schema version, pending migrations and integrity of the engine's database."""
        from engine.store.db import redact_url

        def read() -> StoreStatus:
            status = self.store.schema_status()
            return StoreStatus(
                redact_url(self.store.url),
                status.backend,
                status.server_version,
                status.version,
                status.latest,
                tuple(status.applied),
                tuple(status.pending),
                self.store.integrity_check(),
            )

        return await asyncio.to_thread(read)

    @classmethod
    async def migrate_store(cls, paths: Paths | None = None) -> MigrationReport:
        """Apply pending schema migrations to the configured database (``store.url``, else the
        data dir's SQLite file), opening it without migrating first; returns what was applied."""
        from engine.config.cascade import load_config
        from engine.paths import Paths as Paths_
        from engine.store.db import Store, redact_url, sqlite_url

        def migrate() -> MigrationReport:
            where = paths or Paths_.from_env()
            url = load_config(where).settings.store.url or sqlite_url(where.ensure().default_db)
            store = Store.open(url, migrate=False)
            try:
                before = store.schema_status()
                applied = store.migrate()
                after = store.schema_status()
            finally:
                store.close()
            return MigrationReport(redact_url(url), tuple(applied), before.version, after.version)

        return await asyncio.to_thread(migrate)
