"""A store that loses its PostgreSQL connection says so in the log (``templar.store``), with the
password masked, and carries on over a new connection."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import pytest

from engine import logs
from engine.store.db import Store

pytestmark = [pytest.mark.postgres]
PASSWORD = "pw7Hq2Zx9Lm4Rt"  # trust auth accepts any password: only the URL carries it


def test_a_lost_connection_is_logged_without_the_password(pg_db, paths) -> None:
    parts = urlsplit(pg_db.url)
    host = parts.netloc.split("@")[-1]
    user = parts.netloc.split("@")[0].split(":")[0] if "@" in parts.netloc else "root"
    url = urlunsplit(parts._replace(netloc=f"{user}:{PASSWORD}@{host}", query="application_name=templar-log-lost"))
    logs.configure(paths.data_dir, "warning")
    store = Store.open(url)

    def one() -> int:
        return store.db.execute_sql("select 1").fetchone()[0]

    try:
        assert store.call(one) == 1
        killed = pg_db.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and application_name = %s",
            (pg_db.name, "templar-log-lost"),
        )
        assert killed and all(ok for (ok,) in killed)
        assert store.call(one) == 1  # retried on a new connection
    finally:
        store.close()
        logs.reset()
    text = (paths.data_dir / logs.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "WARNING templar.store: lost the connection to" in text and "reconnecting" in text
    assert PASSWORD[:6] not in text and PASSWORD not in text
    assert logging.getLogger("templar").handlers[-1:] != []  # the NullHandler stays
