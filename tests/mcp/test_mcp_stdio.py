"""``templar mcp`` driven over stdio by the ``mcp`` package's own client."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.cli.helpers import ROOT, proc_env
from tests.engine.conftest import user_settings
from tests.fakes import Reply

POINT = "dataclass named Point with fields x: int, y: int"
PAID = "function parse_port that reads a TCP port from the string '8080'"
GOOD = '```python\ndef parse_port(text: str) -> int:\n    """Port."""\n    return int(text)\n```'


@pytest.fixture
def configured(paths, fake, keys):
    paths.user_settings.write_text(user_settings(fake, order='["openai", "anthropic"]'), encoding="utf-8")
    return paths


@asynccontextmanager
async def connect() -> AsyncIterator[ClientSession]:
    """A client session on a fresh ``templar mcp`` process (entered and left in the test's own task,
    as anyio's cancel scopes require)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "engine", "mcp"],
        cwd=str(ROOT),
        env={
            k: v
            for k, v in proc_env().items()
            if k in _PASS or k.endswith("_API_KEY") or k.startswith(("TEMPLAR_", "LITELLM_", "HF_"))
        },
    )
    with open(os.devnull, "w") as errlog:  # noqa: ASYNC230 - opening /dev/null does not block
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            yield client


_PASS = ("PATH", "PYTHONPATH", "HOME")


def payload(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        data = result.structured_content
        return data.get("result", data) if isinstance(data, dict) and set(data) == {"result"} else data
    return json.loads(result.content[0].text)


async def test_the_four_tools_are_listed(configured) -> None:
    async with connect() as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert names == {"generate_code", "find_templates", "budget_status", "report_wrong_answer"}


async def test_generate_code_from_a_template_then_report_it_wrong(configured, fake) -> None:
    async with connect() as session:
        answer = payload(await session.call_tool("generate_code", {"task": POINT, "project": "acme"}))
        assert answer["ok"] and answer["source"] == "builtin" and "class Point" in answer["code"]
        wrong = payload(
            await session.call_tool(
                "report_wrong_answer", {"request_id": answer["request_id"], "reason": "x must be a float"}
            )
        )
        assert wrong["request_id"] == answer["request_id"] and wrong["reversed_usd"] >= 0
        assert fake.requests == []


async def test_generate_code_pays_once_and_the_budget_shows_it(configured, fake) -> None:
    async with connect() as session:
        fake.enqueue("openai", Reply(text=GOOD, tokens_in=40, tokens_out=20))
        answer = payload(await session.call_tool("generate_code", {"task": PAID}))
        assert (
            answer["ok"] and answer["source"] == "llm" and answer["cost_usd"] > 0 and "def parse_port" in answer["code"]
        )
        budgets = payload(await session.call_tool("budget_status", {}))
        assert budgets and max(b["spent_usd"] for b in budgets) == pytest.approx(answer["cost_usd"])


async def test_an_undeliverable_answer_has_no_code(configured, fake) -> None:
    async with connect() as session:
        fake.responder = lambda request: Reply(text="```python\ndef broken(:\n```")
        answer = payload(await session.call_tool("generate_code", {"task": PAID}))
        assert answer["ok"] is False and "code" not in answer and answer["problem"]["reason"]


async def test_errors_are_tool_errors(configured, fake) -> None:
    async with connect() as session:
        refused = await session.call_tool("generate_code", {"task": PAID, "max_usd": 0.000001})
        assert refused.is_error and "max_usd" in refused.content[0].text and fake.requests == []
        bad = await session.call_tool("generate_code", {"task": POINT, "project": "../etc"})
        assert bad.is_error and "invalid project" in bad.content[0].text


async def test_find_templates_and_the_template_resources(configured) -> None:
    async with connect() as session:
        found = payload(await session.call_tool("find_templates", {"task": POINT}))
        assert found[0]["match"] and found[0]["source"] == "builtin"
        uris = {str(r.uri) for r in (await session.list_resources()).resources}
        assert uris == {"templar://templates", "templar://templates/builtin"}
        builtin = json.loads((await session.read_resource("templar://templates/builtin")).contents[0].text)
        assert any(t["name"] == found[0]["template"] for t in builtin)
        assert json.loads((await session.read_resource("templar://templates")).contents[0].text) == []
