"""The configuration cascade: precedence, provenance, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import export_project, import_project, load_config, set_value, system_settings_file
from engine.config.files import unset_value
from engine.errors import ConfigError, NotFound
from engine.paths import Paths


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def entry(resolved, key: tuple[str, ...]) -> dict:
    return resolved.explain(key)["entries"][0]


def test_system_file_is_the_repo_settings_toml() -> None:
    assert system_settings_file().name == "settings.toml"
    assert system_settings_file().exists()


def test_every_level_overrides_the_one_below_with_provenance(paths: Paths) -> None:
    key = ("chain", "attempts")
    resolved = load_config(paths)
    info = entry(resolved, key)
    assert (info["value"], info["level"]) == (3, "system")
    assert info["source"] == str(system_settings_file())
    assert info["line"] is not None and "attempts" in system_settings_file().read_text().splitlines()[info["line"] - 1]

    write(paths.user_settings, "[chain]\nattempts = 4\n")
    info = entry(load_config(paths), key)
    assert (info["value"], info["level"], info["source"], info["line"]) == (4, "user", str(paths.user_settings), 2)

    env = {"TEMPLAR_CHAIN__ATTEMPTS": "5"}
    info = entry(load_config(paths, environ=env), key)
    assert (info["value"], info["level"], info["source"]) == (5, "env", "TEMPLAR_CHAIN__ATTEMPTS")

    write(paths.project_file("acme"), "# acme\n[chain]\nattempts = 6\n\n[agents.coder.chain]\nattempts = 7\n")
    info = entry(load_config(paths, "acme", environ=env), key)
    assert (info["value"], info["level"], info["line"]) == (6, "project", 3)

    info = entry(load_config(paths, "acme", "coder", environ=env), key)
    assert (info["value"], info["level"], info["line"]) == (7, "agent", 6)
    assert info["levels"] == {"default": 3, "system": 3, "user": 4, "env": 5, "project": 6, "agent": 7}

    # another agent of the same project sees the project value
    assert entry(load_config(paths, "acme", "reviewer", environ=env), key)["value"] == 6


def test_tables_merge_key_by_key_and_lists_replace(paths: Paths) -> None:
    write(paths.project_file("acme"), '[providers.openai]\ntimeout_s = 5\n[chain]\norder = ["openai"]\n')
    settings = load_config(paths, "acme").settings
    assert settings.providers["openai"].timeout_s == 5
    assert settings.providers["openai"].model == "openai/gpt-4o-mini"  # from settings.toml
    assert settings.chain.order == ["openai"]


def test_env_values_are_typed_by_the_schema(paths: Paths) -> None:
    env = {"TEMPLAR_PROMPTS__VERSION": "7", "TEMPLAR_CACHE__ENABLED": "false", "TEMPLAR_DATABASE_URL": "sqlite:///x.db"}
    settings = load_config(paths, environ=env).settings
    assert settings.prompts.version == "7"
    assert settings.cache.enabled is False
    assert settings.store.url == "sqlite:///x.db"


def test_malformed_toml_names_file_and_line(paths: Paths) -> None:
    file = write(paths.project_file("acme"), '[chain]\nattempts = 3\norder = ["a"\n')
    with pytest.raises(ConfigError) as err:
        load_config(paths, "acme")
    assert err.value.file == str(file)
    assert err.value.line == 4 or err.value.line == 3
    assert str(err.value).startswith(f"{file}:{err.value.line}: invalid TOML")
    assert "\n" not in str(err.value)


def test_unknown_key_names_file_key_line_and_closest_valid_key(paths: Paths) -> None:
    file = write(paths.user_settings, "[cache]\nenabled = true\nttl = 5\n")
    with pytest.raises(ConfigError) as err:
        load_config(paths)
    assert (err.value.file, err.value.key, err.value.line) == (str(file), "cache.ttl", 3)
    assert "did you mean cache.ttl_s?" in str(err.value)


def test_unknown_env_key_names_the_variable(paths: Paths) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(paths, environ={"TEMPLAR_CHAIN__ATEMPTS": "2"})
    assert err.value.file == "TEMPLAR_CHAIN__ATEMPTS"
    assert "chain.attempts" in str(err.value)


@pytest.mark.parametrize(
    ("text", "key", "needle"),
    [
        ("[budget.project]\nlimit_usd = -5\n", "budget.project.limit_usd", "greater than or equal to 0"),
        ("[alerts]\nwatch = 40\n", "alerts.watch", "thresholds must increase"),
        ('[providers.local]\nmodel = "foo/bar"\n', "providers.local.model", "unknown provider format"),
        ('[chain]\norder = ["gemini", "nowhere"]\n', None, "nowhere"),
        ('[chain]\nattempts = "many"\n', "chain.attempts", "valid integer"),
        (
            '[providers.openai]\napi_key_env = "sk-live-123"\n',
            "providers.openai.api_key_env",
            "NAME of an environment variable",
        ),
    ],
)
def test_bad_values_name_the_key(paths: Paths, text: str, key: str | None, needle: str) -> None:
    file = write(paths.project_file("acme"), text)
    with pytest.raises(ConfigError) as err:
        load_config(paths, "acme")
    assert needle in str(err.value)
    if key:
        assert err.value.key == key
        assert err.value.file == str(file)
        assert err.value.line == 2


def test_project_cannot_raise_the_system_budget_nor_agent_the_project_budget(paths: Paths) -> None:
    write(paths.project_file("acme"), "[budget.system]\nlimit_usd = 1000\n")
    with pytest.raises(ConfigError, match="can only be set in system settings"):
        load_config(paths, "acme")
    write(paths.project_file("acme"), "[agents.x.budget.project]\nlimit_usd = 1000\n")
    with pytest.raises(ConfigError, match="can only be set at project level"):
        load_config(paths, "acme", "x")


def test_set_writes_the_project_file_and_changes_provenance(paths: Paths) -> None:
    before = entry(load_config(paths, "acme", "coder"), ("generation", "max_tokens"))
    assert before["level"] == "system"
    set_value(paths, "generation.max_tokens", "2048", "acme", "coder")
    after = entry(load_config(paths, "acme", "coder"), ("generation", "max_tokens"))
    assert (after["value"], after["level"], after["source"]) == (2048, "agent", str(paths.project_file("acme")))
    unset_value(paths, "generation.max_tokens", "acme", "coder")
    assert entry(load_config(paths, "acme", "coder"), ("generation", "max_tokens"))["level"] == "system"


def test_settings_toml_is_never_rewritten(paths: Paths) -> None:
    original = system_settings_file().read_bytes()
    set_value(paths, "chain.attempts", "2", "acme")
    assert system_settings_file().read_bytes() == original


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("budget.project.limit_usd", "-1", "greater than or equal to 0"),
        ("alerts.high", "10", "thresholds must increase"),
        ("chain.atempts", "2", "did you mean chain.attempts"),
        ("budget.system.limit_usd", "99", "system settings"),
        ("providers.gemini.api_base", '"sk-abcdefghijklmnopqrstuvwx"', "looks like a secret"),
        ("chain.attempts", "[unclosed", "not a TOML value"),
    ],
)
def test_failed_set_writes_nothing(paths: Paths, key: str, value: str, needle: str) -> None:
    set_value(paths, "cache.ttl_s", "60", "acme")
    before = paths.project_file("acme").read_bytes()
    with pytest.raises(ConfigError) as err:
        set_value(paths, key, value, "acme")
    assert needle in str(err.value)
    assert paths.project_file("acme").read_bytes() == before
    assert [p.name for p in paths.projects_dir.iterdir()] == ["acme.toml"]  # no temp files left


def test_export_import_round_trip(paths: Paths, tmp_path: Path) -> None:
    set_value(paths, "budget.project.limit_usd", "12.5", "acme")
    set_value(paths, "chain.order", '["openai", "gemini"]', "acme")
    set_value(paths, "generation.temperature", "0.0", "acme", "coder")
    exported = tmp_path / "acme.toml"
    export_project(paths, "acme", exported)
    import_project(paths, exported, "copy")
    a, b = load_config(paths, "acme", "coder"), load_config(paths, "copy", "coder")
    assert a.settings == b.settings
    assert {k: v.level for k, v in a.provenance.items()} == {k: v.level for k, v in b.provenance.items()}
    again = tmp_path / "copy.toml"
    export_project(paths, "copy", again)

    def strip(p: Path) -> list[str]:
        return [line for line in p.read_text().splitlines() if not line.startswith(("project =", "exported_at ="))]

    assert strip(exported) == strip(again)


def test_failed_import_writes_nothing(paths: Paths, tmp_path: Path) -> None:
    set_value(paths, "cache.ttl_s", "60", "acme")
    before = paths.project_file("acme").read_bytes()
    bad = write(
        tmp_path / "bad.toml",
        '[templar_export]\nformat = 1\nkind = "project-config"\nproject = "acme"\n\n[cache]\nttl_s = -1\n',
    )
    with pytest.raises(ConfigError) as err:
        import_project(paths, bad)
    assert err.value.file == str(bad) and err.value.line == 7
    assert paths.project_file("acme").read_bytes() == before
    not_export = write(tmp_path / "plain.toml", "[cache]\nttl_s = 5\n")
    with pytest.raises(ConfigError, match="not a Templar export"):
        import_project(paths, not_export)
    with pytest.raises(ConfigError, match="unsupported export format"):
        import_project(paths, write(tmp_path / "v9.toml", '[templar_export]\nformat = 9\nkind = "project-config"\n'))


def test_bad_project_names_are_refused(paths: Paths) -> None:
    for name in ("../etc", "a/b", "", "x" * 65):
        with pytest.raises(ConfigError, match="invalid project name"):
            load_config(paths, name)


def test_explain_unknown_key(paths: Paths) -> None:
    with pytest.raises(NotFound):
        load_config(paths).explain(("chain", "nope"))


def test_long_model_names_are_not_secrets_but_opaque_tokens_and_control_characters_are_refused(paths: Paths) -> None:
    set_value(
        paths,
        "providers.router.model",
        '"openrouter/anthropic/claude-3-5-sonnet-20241022-beta-long"',
        "acme",
        trust_providers=True,
    )  # a provider a project adds is a new route: trusted explicitly
    assert load_config(paths, "acme").settings.providers["router"].model.endswith("-beta-long")
    with pytest.raises(ConfigError, match="looks like a secret"):
        set_value(paths, "providers.router.api_base", '"Xy7Kq2Lm9Np4Rs6Tu8Vw1Za3Bc5De7Fg9Hj"', "acme")
    with pytest.raises(ConfigError, match="control characters"):
        set_value(paths, "prompts.system", '"be terse\\u0000"', "acme")
    set_value(paths, "prompts.system", '"line one\\nline two"', "acme")  # newlines are fine


def test_the_cached_cascade_follows_every_file_and_templar_variable(paths: Paths) -> None:
    """``load_config`` is cached per process (serve asks once per request); each change it
    depends on gives a fresh result, anything else gives the same object."""
    env: dict[str, str] = {"HOME": "/nowhere"}
    first = load_config(paths, "newproj", environ=env)
    assert load_config(paths, "newproj", environ={**env, "OTHER_VAR": "1"}) is first, "non-TEMPLAR_ is not a key"
    changed_env = load_config(paths, "newproj", environ={**env, "TEMPLAR_CACHE__ENABLED": "false"})
    assert changed_env is not first and changed_env.settings.cache.enabled is False
    write(paths.project_file("newproj"), "[chain]\nattempts = 2\n")  # a project file that did not exist
    created = load_config(paths, "newproj", environ=env)
    assert created is not first and created.settings.chain.attempts == 2
    write(paths.project_file("newproj"), "[chain]\nattempts = 4  # a new size: mtime may not tick\n")
    assert load_config(paths, "newproj", environ=env).settings.chain.attempts == 4
    assert load_config(paths, "otherproj", environ=env).settings.chain.attempts != 4, "per project"
