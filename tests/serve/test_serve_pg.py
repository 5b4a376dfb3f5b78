"""Two ``templar serve`` processes on one PostgreSQL store (team mode): shared cache, one budget."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from engine.config import load_config
from engine.config.files import set_value
from engine.money import usd_to_micros
from tests.fakes import Reply
from tests.team.conftest import FAKE_KEY, KEY_VARS, pg_admin_url, pg_db, write_settings  # noqa: F401

pytestmark = pytest.mark.postgres
MAX_TOKENS = 64
ANSWER = '```python\ndef probe(n: int) -> int:\n    """Probe."""\n    return n\n```'


def test_two_servers_share_cache_and_never_overrun_one_budget(pg_db, serve, fake, paths) -> None:  # noqa: F811
    write_settings(paths, fake)
    env = {"TEMPLAR_DATABASE_URL": pg_db.url, **{name: FAKE_KEY for name in KEY_VARS}}
    a, b = serve("--no-warm", env=env), serve("--no-warm", env=env)

    first = httpx.post(
        f"{a.url}/api/generate",
        json={"task": "function probe returning n", "max_tokens": MAX_TOKENS, "use_templates": False},
        timeout=120,
    ).json()
    again = httpx.post(
        f"{b.url}/api/generate",
        json={"task": "function probe returning n", "max_tokens": MAX_TOKENS, "use_templates": False},
        timeout=120,
    ).json()
    assert (first["source"], again["source"]) == ("llm", "cache")  # b answers from a's paid answer
    worst = first["events"][[e["event"] for e in first["events"]].index("attempt_started")]["reserved_usd"]
    worst_micros = usd_to_micros(worst)
    spent_before = pg_db.query("select spent_micros from budget_counter where scope = 'project'")[0][0]
    limit = spent_before + 6 * worst_micros  # room for exactly 6 more worst cases
    set_value(paths, "budget.project.limit_usd", repr(limit / 1e6), "default")
    assert usd_to_micros(load_config(paths, "default").settings.budget.project.limit_usd) == limit
    fake.responder = lambda request: Reply(text=ANSWER, tokens_in=10**6, tokens_out=10**6)  # charged at worst

    def ask(i: int) -> int:
        server = (a, b)[i % 2]
        return httpx.post(
            f"{server.url}/api/generate",
            timeout=120,
            json={
                "task": "function probe returning n",
                "max_tokens": MAX_TOKENS,
                "use_templates": False,
                "use_cache": False,
            },
        ).status_code  # the same prompt: the same worst case

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(ask, range(16)))
    assert statuses.count(200) == 6 and statuses.count(402) == 10, statuses
    spent, reserved = pg_db.query("select spent_micros, reserved_micros from budget_counter where scope = 'project'")[0]
    assert spent == limit and reserved == 0  # 0 overshoot
    assert pg_db.query("select count(*) from reservation where state = 'held'") == [(0,)]
