"""Cooldown is keyed by endpoint AND credential: one project's revoked key never blocks a
shared endpoint for everyone else, while a dead endpoint still cools down for all. Two engines
on one store with different keys are two processes (or machines) sharing the cooldown table."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from engine.config import set_value
from engine.errors import NoProviderAvailable
from engine.events import ProviderCooledDown, ProviderSkipped
from engine.service import Engine
from tests.engine.conftest import user_settings
from tests.fakes import Fault, ProviderRequest, Reply

REVOKED = "rk-Revoked0Key9ZxQ4mP7wL2vB8nT5"
VALID = "vk-Valid0Key3HsD6jF1gK9qW4eR7yU2"
ANSWER = "```python\nX: int = 1\n```"


@pytest.fixture
def two_tenants(paths, fake, sleeps) -> Any:
    """Engines sharing one database and the openai endpoint, one with a revoked key."""
    paths.user_settings.write_text(user_settings(fake, order='["openai"]'), encoding="utf-8")
    set_value(paths, "chain.cooldown_failures", "3", "default")
    set_value(paths, "chain.attempts", "1", "default")

    def answer(request: ProviderRequest) -> Reply | Fault:
        return Fault.unauthorized() if request.api_key == REVOKED else Reply(text=ANSWER)

    fake.responder = answer
    engines = [Engine.from_settings(paths, sleep=sleeps, environ={"OPENAI_API_KEY": key}) for key in (REVOKED, VALID)]
    yield engines
    for engine in engines:
        engine.close()


async def test_a_revoked_key_cools_down_only_itself(two_tenants, fake, paths) -> None:
    revoked, valid = two_tenants
    events: list = []
    for i in range(3):
        with pytest.raises(NoProviderAvailable):
            await revoked.generate(f"a constant number {i}", emit=events.append)
    assert any(isinstance(e, ProviderCooledDown) for e in events)
    assert fake.count() == 3
    events.clear()
    with pytest.raises(NoProviderAvailable):
        await revoked.generate("a constant number 4", emit=events.append)
    assert fake.count() == 3, "the revoked key is cooling down: no fourth request"
    assert any(isinstance(e, ProviderSkipped) and "cooling down" in e.reason for e in events)
    # the other tenant, same endpoint, valid key: not blocked
    events.clear()
    result = await valid.generate("a constant number 5", emit=events.append)
    assert result.provider == "openai" and fake.last().api_key == VALID
    assert not [e for e in events if isinstance(e, ProviderSkipped)]
    # the cooldown table names the credential by a fingerprint, never the key or a piece of it
    revoked.close()
    valid.close()
    blob = b"".join(p.read_bytes() for p in paths.data_dir.rglob("*") if p.is_file())
    for key in (REVOKED, VALID):
        for i in range(len(key) - 5):
            assert key[i : i + 6].encode() not in blob


async def test_a_dead_endpoint_still_cools_down_for_everyone(two_tenants, fake) -> None:
    revoked, valid = two_tenants
    fake.responder = lambda request: Fault.server_error(500)
    for i in range(3):
        with pytest.raises(NoProviderAvailable):
            await valid.generate(f"a constant number {i}")
    events: list = []
    with pytest.raises(NoProviderAvailable):
        await revoked.generate("a constant number 9", emit=events.append)
    assert fake.count() == 3, "a server failing for one key fails for all: the endpoint cools down"
    assert any(isinstance(e, ProviderSkipped) and "cooling down" in e.reason for e in events)


async def test_success_with_one_key_does_not_clear_another_keys_auth_cooldown(two_tenants, fake) -> None:
    revoked, valid = two_tenants
    for i in range(3):
        with pytest.raises(NoProviderAvailable):
            await revoked.generate(f"a constant number {i}")
    await valid.generate("a constant for the valid key")
    with pytest.raises(NoProviderAvailable):
        await revoked.generate("a constant number 7")
    assert fake.count() == 4


def test_migration_0008_keys_the_table_by_endpoint_and_credential(paths) -> None:
    engine = Engine.from_settings(paths)
    try:
        assert "0008_cooldown_credential" in engine.store.schema_status().applied
    finally:
        engine.close()
    con = sqlite3.connect(paths.default_db)
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(provider_health)")}
    finally:
        con.close()
    assert {"key", "endpoint", "credential", "failures", "until"} <= columns
