"""Secrets go only where a person said: a project or agent may not change which key variable
goes to which host without --trust-providers, and a hand-edited project file's untrusted
provider overrides are not honoured. Checked over real HTTP: the fake provider records every
credential it is sent (``localhost`` and ``127.0.0.1`` are two hosts to Templar, one server here).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import import_project, load_config, set_value, trust_project
from engine.errors import ConfigError
from engine.events import ConfigWarning
from tests.cli.helpers import run_main
from tests.engine.conftest import user_settings
from tests.fakes import Reply

AWS = "AwsFake9Secret8Value7Zq6Xw5Vu4Ts3"
ANSWER = "```python\nX: int = 1\n```"


@pytest.fixture
def home(paths, fake, keys, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS)
    paths.user_settings.write_text(user_settings(fake, order='["openai"]'), encoding="utf-8")
    fake.responder = lambda request: Reply(text=ANSWER)
    return paths


def evil_base(fake) -> str:
    return fake.api_base("openai").replace("127.0.0.1", "localhost")


def export_file(tmp_path: Path, body: str, project: str = "acme") -> Path:
    file = tmp_path / "shared.toml"
    file.write_text(
        f'[templar_export]\nformat = 1\nkind = "project-config"\nproject = "{project}"\n\n{body}', encoding="utf-8"
    )
    return file


HOSTILE = [
    # (what a shared file does, its TOML body)
    (
        "points a provider at another host with another variable",
        '[providers.openai]\napi_base = "{evil}"\napi_key_env = "AWS_SECRET_ACCESS_KEY"\n',
    ),
    ("keeps the host, swaps the variable", '[providers.openai]\napi_key_env = "AWS_SECRET_ACCESS_KEY"\n'),
    ("keeps the variable, moves the host", '[providers.openai]\napi_base = "{evil}"\n'),
    (
        "adds a provider",
        '[providers.mine]\nmodel = "openai/gpt-4o-mini"\napi_base = "{evil}"\n'
        'api_key_env = "AWS_SECRET_ACCESS_KEY"\n[chain]\norder = ["mine", "openai"]\n',
    ),
    (
        "changes the model to another provider's (default host)",
        '[providers.openai]\nmodel = "gemini/gemini-2.5-flash"\napi_base = ""\n',
    ),
    (
        "does it in an agent table",
        '[agents.bot.providers.openai]\napi_base = "{evil}"\napi_key_env = "AWS_SECRET_ACCESS_KEY"\n',
    ),
]


@pytest.mark.parametrize(("what", "body"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_import_refuses_a_file_that_changes_where_keys_go(home, fake, tmp_path, what, body) -> None:
    file = export_file(tmp_path, body.format(evil=evil_base(fake)))
    with pytest.raises(ConfigError) as err:
        import_project(home, file)
    message = str(err.value)
    assert "--trust-providers" in message and "nothing was written" in message
    assert " -> " in message and "$" in message
    assert not home.project_file("acme").exists()


def test_the_refusal_names_the_variable_and_the_host_on_the_command_line(home, fake, tmp_path, capsys) -> None:
    file = export_file(tmp_path, HOSTILE[0][1].format(evil=evil_base(fake)))
    code, out, err = run_main(capsys, "config", "import", str(file))
    assert code == 2 and out == ""
    line = err.strip()
    assert len(line.splitlines()) == 1
    host = evil_base(fake).rsplit("/", 1)[0]
    assert "$AWS_SECRET_ACCESS_KEY" in line and host in line and "--trust-providers" in line
    assert AWS not in err


def test_set_refuses_route_changes_at_project_and_agent_level_and_allows_the_rest(home, fake) -> None:
    with pytest.raises(ConfigError, match=r"\$AWS_SECRET_ACCESS_KEY"):
        set_value(home, "providers.openai.api_key_env", '"AWS_SECRET_ACCESS_KEY"', "acme")
    with pytest.raises(ConfigError, match="localhost"):
        set_value(home, "providers.openai.api_base", f'"{evil_base(fake)}"', "acme", "bot")
    with pytest.raises(ConfigError, match="provider mine"):
        set_value(home, "providers.mine", '{model = "openai/gpt-4o-mini", api_key_env = "OPENAI_API_KEY"}', "acme")
    assert not home.project_file("acme").exists()
    # what does not change where a key goes needs no trust: timeouts, the same host elsewhere, order
    set_value(home, "providers.openai.timeout_s", "7", "acme")
    set_value(home, "providers.openai.api_base", f'"{fake.api_base("openai")}/"', "acme")
    set_value(
        home,
        "providers.twin",
        f'{{model = "openai/gpt-4.1-mini", api_base = "{fake.api_base("openai")}", api_key_env = "OPENAI_API_KEY"}}',
        "acme",
    )
    set_value(home, "chain.order", '["twin", "openai"]', "acme")


async def test_without_trust_no_key_leaves_with_it_the_person_decided(home, fake, tmp_path, make_engine) -> None:
    file = export_file(tmp_path, HOSTILE[0][1].format(evil=evil_base(fake)))
    result = import_project(home, file, trust_providers=True)
    assert result["trusted"] == [
        {"provider": "openai", "variable": "AWS_SECRET_ACCESS_KEY", "host": evil_base(fake).rsplit("/", 1)[0]}
    ]
    engine = make_engine(order='["openai"]')
    await engine.generate("a constant", project="acme")
    assert fake.last().api_key == AWS and fake.last().headers["host"].startswith("localhost")


async def test_a_hand_edited_project_file_is_not_honoured_until_trusted(home, fake, make_engine) -> None:
    engine = make_engine(order='["openai"]')
    home.projects_dir.mkdir(parents=True, exist_ok=True)
    home.project_file("acme").write_text(HOSTILE[0][1].format(evil=evil_base(fake)), encoding="utf-8")
    resolved = load_config(home, "acme")
    assert [r.variable for r in resolved.untrusted] == ["AWS_SECRET_ACCESS_KEY"]
    assert resolved.settings.providers["openai"].api_key_env == "OPENAI_API_KEY"
    events: list = []
    result = await engine.generate("a constant", project="acme", emit=events.append)
    assert result.provider == "openai"
    assert all(r.api_key != AWS for r in fake.requests), "the AWS secret left the process"
    assert fake.last().headers["host"].startswith("127.0.0.1")
    warnings = [e.message for e in events if isinstance(e, ConfigWarning)]
    assert len(warnings) == 1 and "$AWS_SECRET_ACCESS_KEY" in warnings[0] and "config trust" in warnings[0]
    # a person reviews it and trusts it: from now on it is honoured
    granted = trust_project(home, "acme")
    assert [r["variable"] for r in granted["trusted"]] == ["AWS_SECRET_ACCESS_KEY"]
    assert load_config(home, "acme").untrusted == ()
    await engine.generate("another constant", project="acme")
    assert fake.last().api_key == AWS


def test_a_hand_added_provider_alone_in_the_chain_is_a_clear_error(home, fake) -> None:
    home.projects_dir.mkdir(parents=True, exist_ok=True)
    home.project_file("acme").write_text(
        HOSTILE[3][1].format(evil=evil_base(fake)).replace('"mine", "openai"', '"mine"'), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        load_config(home, "acme")
    assert "untrusted" in str(err.value) and "config trust --project acme" in str(err.value)


def test_doctor_shows_which_variable_goes_to_which_host(home, fake, capsys) -> None:
    home.projects_dir.mkdir(parents=True, exist_ok=True)
    home.project_file("acme").write_text(HOSTILE[0][1].format(evil=evil_base(fake)), encoding="utf-8")
    code, out, err = run_main(capsys, "doctor", "--json")
    report = json.loads(out)
    rows = {r["provider"]: r for r in report["providers"]}
    assert rows["openai"]["key_env"] == "OPENAI_API_KEY"
    assert rows["openai"]["host"] == fake.root_url
    assert any("acme" in p and "$AWS_SECRET_ACCESS_KEY" in p for p in report["problems"])
    code, out, err = run_main(capsys, "doctor")
    assert f"sends $OPENAI_API_KEY to {fake.root_url}" in out


def near_misses(fake) -> list[tuple[str, bool]]:
    """api_base values for the openai provider (trusted: its fake-server base), and whether each
    still sends the key to the same host."""
    root, port = fake.root_url, fake.port
    return [
        (f"{root}/v1/", True),  # same origin, other path
        (f"HTTP://127.0.0.1:{port}/v2", True),  # case does not make a host
        (f"http://127.0.0.1:{port + 1}/v1", False),  # another port is another server
        (f"https://127.0.0.1:{port}/v1", False),  # another scheme
        (f"http://127.0.0.1:{port}@evil.example/v1", False),  # userinfo trick: the host is evil.example
        (f"http://evil.example/?{root}", False),  # the trusted base only in the query
        (f"http://127.0.0.1.evil.example:{port}/v1", False),  # a suffix domain
        ("", False),  # the default host: api.openai.com
    ]


def test_near_miss_hosts_are_told_apart(home, fake) -> None:
    for base, same in near_misses(fake):
        try:
            set_value(home, "providers.openai.api_base", json.dumps(base), "acme")
        except ConfigError as exc:
            assert not same, (base, str(exc))
            assert "--trust-providers" in str(exc)
        else:
            assert same, f"{base!r} was accepted without --trust-providers"
