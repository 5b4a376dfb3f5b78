"""The review queue over real HTTP with httpx: list, show with preview, edit, accept, reject,
templates by id, and clear 404/400/409 errors.

Suggestions are made by an in-process engine first (a paid answer from the fake provider, then
``settle_learning``), so the server finds them in the shared store without any waiting.
"""

from __future__ import annotations

import httpx
import pytest

from tests.engine.test_feedback import RISKY_CODES
from tests.engine.test_learning import CODE, TASK, responder

OTHER = "a constant MAX_ITEMS set to 7"


async def _suggest(make_engine, fake, code: str = CODE, tasks: tuple[str, ...] = (TASK,)) -> list[int]:
    fake.responder = responder(code=code)
    engine = make_engine(order='["openai"]', learning=True)
    ids = []
    for task in tasks:
        result = await engine.generate(task, use_templates=False)
        ids.append(result.to_dict()["suggestion_id"])
    await engine.settle_learning()
    engine.close()
    return ids


async def test_list_preview_edit_accept_then_the_template_answers(make_engine, fake, serve) -> None:
    [sid] = await _suggest(make_engine, fake)
    url = serve("--no-warm").url
    async with httpx.AsyncClient(base_url=url) as http:
        pending = (await http.get("/api/suggestions")).json()
        assert [s["id"] for s in pending] == [sid] and pending[0]["status"] == "pending"

        shown = (await http.get(f"/api/suggestions/{sid}")).json()
        assert shown["suggestion"]["code"] == CODE and shown["preview"]["ok"] is True
        pattern = shown["suggestion"]["pattern"]
        assert "{name:identifier}" in pattern and "{value:integer}" in pattern

        broken = (await http.get(f"/api/suggestions/{sid}", params={"pattern": "a constant set"})).json()
        assert broken["preview"]["ok"] is False and broken["preview"]["problems"]
        assert (await http.get(f"/api/suggestions/{sid}")).json()["suggestion"]["pattern"] == pattern, (
            "a preview stores nothing"
        )

        edited = await http.post(f"/api/suggestions/{sid}/edit", json={"rename": {"name": "constant"}})
        assert edited.status_code == 200 and "{constant:identifier}" in edited.json()["pattern"]

        accepted = await http.post(f"/api/suggestions/{sid}/accept", json={})
        template = accepted.json()
        assert accepted.status_code == 200 and template["status"] == "active" and template["version"] == 1
        assert (await http.get("/api/suggestions")).json() == []

        shown_template = (await http.get(f"/api/templates/{template['id']}")).json()
        assert shown_template["id"] == template["id"] and "{{ constant }}" in shown_template["body"]
        assert shown_template["versions"]

        served = (await http.post("/api/generate", json={"task": "a constant PAGE_SIZE set to 50"})).json()
        assert served["source"] == "learned" and "PAGE_SIZE: int = 50" in served["code"]

        again = await http.post(f"/api/suggestions/{sid}/accept", json={})
        assert again.status_code == 400 and "not pending" in again.json()["message"]
        assert (await http.post(f"/api/suggestions/{sid}/reject", json={})).status_code == 400
        done = (await http.get(f"/api/suggestions/{sid}")).json()
        assert done["suggestion"]["status"] == "accepted" and done["preview"] is None


async def test_reject_with_a_reason_and_drop_a_parameter(make_engine, fake, serve) -> None:
    first, second = await _suggest(make_engine, fake, tasks=(TASK, OTHER))
    url = serve("--no-warm").url
    async with httpx.AsyncClient(base_url=url) as http:
        refused = await http.post(f"/api/suggestions/{second}/edit", json={"drop": ["value"]})
        assert refused.status_code == 400 and "would no longer match" in refused.json()["message"], (
            "its code says 5, its task 7: the engine's own reason comes back"
        )
        dropped = (await http.post(f"/api/suggestions/{first}/edit", json={"drop": ["value"]})).json()
        assert [p["name"] for p in dropped["params"]] == ["name"] and "{value" not in dropped["pattern"]
        rejected = await http.post(f"/api/suggestions/{second}/reject", json={"reason": "  too narrow  "})
        assert rejected.status_code == 200
        assert rejected.json()["status"] == "rejected" and rejected.json()["reason"] == "too narrow"
        assert [s["id"] for s in (await http.get("/api/suggestions")).json()] == [first]


async def test_unseen_accept_of_code_with_a_security_finding_is_409_with_the_reason(make_engine, fake, serve) -> None:
    [sid] = await _suggest(make_engine, fake, code=RISKY_CODES[0])
    url = serve("--no-warm").url
    async with httpx.AsyncClient(base_url=url) as http:
        held = await http.post(f"/api/suggestions/{sid}/accept", json={"unseen": True})
        assert held.status_code == 409
        assert held.json()["error"] == "held_for_review" and "security findings" in held.json()["message"]
        assert (await http.get(f"/api/suggestions/{sid}")).json()["suggestion"]["status"] == "pending"
        read = await http.post(f"/api/suggestions/{sid}/accept", json={"unseen": False})
        assert read.status_code == 200 and read.json()["status"] == "active", "a person who read it may accept it"


@pytest.fixture
def review_server(make_engine, fake, serve):
    import asyncio

    [sid] = asyncio.run(_suggest(make_engine, fake))
    return serve("--no-warm").url, sid


@pytest.mark.parametrize(
    "method, path, body, status, kind",
    [
        ("get", "/api/suggestions/999", None, 404, "not_found"),
        ("get", "/api/suggestions/abc", None, 404, "not_found"),
        ("get", "/api/suggestions/-1", None, 404, "not_found"),
        ("get", "/api/suggestions/0", None, 404, "not_found"),
        ("get", "/api/suggestions/99999999999999999999999999", None, 404, "not_found"),
        ("get", "/api/suggestions/１", None, 404, "not_found"),  # a full-width digit is not an id
        ("post", "/api/suggestions/999/accept", {}, 404, "not_found"),
        ("post", "/api/suggestions/999/reject", {}, 404, "not_found"),
        ("post", "/api/suggestions/999/edit", {"pattern": "x"}, 404, "not_found"),
        ("get", "/api/templates/999", None, 404, "not_found"),
        ("get", "/api/templates/x1", None, 404, "not_found"),
        ("get", "/api/suggestions/{sid}?pattern=", None, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"colour": "red"}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"rename": ["name"]}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"rename": {"name": 5}}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"rename": {"nope": "x"}}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"rename": {"name": "not an identifier"}}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"drop": "value"}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"drop": ["nope"]}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"pattern": ""}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/edit", {"pattern": "x" * 2001}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/accept", {"unseen": "yes"}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/accept", [1], 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/reject", {"reason": ""}, 400, "bad_input"),
        ("post", "/api/suggestions/{sid}/reject", {"reason": 3}, 400, "bad_input"),
    ],
)
def test_bad_review_requests_are_clear_json_errors(review_server, method, path, body, status, kind) -> None:
    url, sid = review_server
    kwargs = {} if body is None else {"json": body}
    response = getattr(httpx, method)(url + path.format(sid=sid), **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"] == kind and response.json()["message"]
    shown = httpx.get(f"{url}/api/suggestions/{sid}").json()["suggestion"]
    assert shown["status"] == "pending" and "{name:identifier}" in shown["pattern"], "a refused request changed nothing"
