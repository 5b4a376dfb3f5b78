"""``templar config`` and ``templar doctor`` as a user runs them: exit codes, one-line errors, JSON."""

from __future__ import annotations

from pathlib import Path

from engine.paths import Paths
from tests.cli.helpers import templar


def test_version_and_help() -> None:
    run = templar("--version")
    assert run.code == 0 and run.out.startswith("templar ")
    run = templar("--help")
    assert run.code == 0
    for word in ("generate", "config", "budget", "stats", "doctor", "exit codes"):
        assert word in run.out


def test_python_dash_m_engine_runs_the_cli() -> None:
    import os
    import subprocess
    import sys

    from tests.cli.helpers import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "engine", "config", "explain", "chain.attempts"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "chain.attempts = 3" in done.stdout


def test_explain_shows_provenance_at_every_level(paths: Paths) -> None:
    assert templar("config", "set", "chain.attempts", "6", "--project", "acme").code == 0
    assert templar("config", "set", "chain.attempts", "7", "--project", "acme", "--agent", "coder").code == 0
    run = templar(
        "config",
        "explain",
        "chain.attempts",
        "--project",
        "acme",
        "--agent",
        "coder",
        "--json",
        env={"TEMPLAR_CHAIN__ATTEMPTS": "5"},
    )
    assert run.code == 0, run.err
    entry = run.json()["entries"][0]
    assert entry["value"] == 7 and entry["level"] == "agent"
    assert entry["source"] == str(paths.project_file("acme"))
    assert entry["levels"] == {"default": 3, "system": 3, "env": 5, "project": 6, "agent": 7}
    human = templar("config", "explain", "chain.attempts", "--project", "acme", "--agent", "coder")
    assert "set by: agent" in human.out and str(paths.project_file("acme")) in human.out


def test_show_json_lists_every_key_with_level(paths: Paths) -> None:
    run = templar("config", "show", "--json")
    assert run.code == 0
    keys = {row["key"]: row for row in run.json()["settings"]}
    assert keys["chain.order"]["level"] == "system"
    assert keys["generation.max_tokens"]["value"] == 1024
    assert "pricing.models" not in " ".join(keys)  # empty table


def test_malformed_toml_is_one_line_and_exit_2(paths: Paths) -> None:
    file = paths.project_file("acme")
    file.parent.mkdir(parents=True)
    file.write_text("[chain]\nattempts = = 3\n")
    run = templar("config", "show", "--project", "acme")
    assert run.code == 2
    assert run.err.strip() == run.err.strip().splitlines()[0], "more than one line"
    assert f"{file}:2:" in run.err and "invalid TOML" in run.err
    assert "Traceback" not in run.err


def test_unknown_key_suggests_and_bad_values_name_key(paths: Paths) -> None:
    run = templar("config", "set", "cache.tll_s", "5", "--project", "acme")
    assert run.code == 2 and "cache.tll_s" in run.err and "did you mean cache.ttl_s?" in run.err
    run = templar("config", "set", "budget.project.limit_usd", "-3", "--project", "acme", "--json")
    assert run.code == 2
    assert run.json()["key"] == "budget.project.limit_usd"
    assert not paths.project_file("acme").exists(), "a failed set wrote a file"


def test_export_import_cli_round_trip(paths: Paths, tmp_path: Path) -> None:
    assert templar("config", "set", "budget.project.limit_usd", "3.5", "--project", "acme").code == 0
    out = tmp_path / "acme-export.toml"
    assert templar("config", "export", str(out), "--project", "acme").code == 0
    assert templar("config", "import", str(out), "--project", "beta").code == 0
    a = templar("config", "show", "--project", "acme", "--json").json()["settings"]
    b = templar("config", "show", "--project", "beta", "--json").json()["settings"]
    strip = lambda rows: [(r["key"], r["value"], r["level"]) for r in rows]  # noqa: E731
    assert strip(a) == strip(b)


def test_doctor_without_keys_explains_how_to_add_a_provider(paths: Paths) -> None:
    run = templar("doctor", "--json")
    assert run.code == 0, run.err
    report = run.json()
    assert report["database"]["schema_version"] == report["database"]["latest_schema_version"]
    assert report["database"]["integrity"] == "ok"
    assert {r["provider"]: r["key"] for r in report["providers"]} == {
        "gemini": "missing",
        "openai": "missing",
        "anthropic": "missing",
    }
    assert any("GEMINI_API_KEY" in p for p in report["problems"])


def test_doctor_with_keys_never_prints_them(paths: Paths) -> None:
    secret = "sk-test-SECRET-7f3a9c1e5b"
    run = templar("doctor", env={"OPENAI_API_KEY": secret, "GEMINI_API_KEY": secret + "g"})
    assert run.code == 0
    assert "key present (OPENAI_API_KEY)" in run.out
    assert "key missing (ANTHROPIC_API_KEY)" in run.out
    assert secret not in run.out + run.err
    for file in paths.config_dir.parent.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file


def test_bare_templar_in_engine_mode_points_to_the_app() -> None:
    import os
    import subprocess
    import sys

    from tests.cli.helpers import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "engine", "tui"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 2 and "templar" in done.stderr


import pytest  # noqa: E402

from engine.config import load_config, set_value  # noqa: E402
from engine.errors import ConfigError  # noqa: E402


@pytest.mark.parametrize("raw", ["daily", '"daily"', "'daily'", " daily "])
def test_config_set_takes_a_bare_string_for_a_choice(paths: Paths, raw: str) -> None:
    set_value(paths, "budget.project.period", raw.strip(), "acme")
    set_value(paths, "budget.agent.period", raw.strip(), "acme", "coder")
    settings = load_config(paths, "acme", "coder").settings
    assert settings.budget.project.period == "daily" and settings.budget.agent.period == "daily"


@pytest.mark.parametrize("raw", ["fortnightly", "true", "3", "[1]"])
def test_config_set_refuses_a_value_outside_the_choices_naming_the_key(paths: Paths, raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        set_value(paths, "budget.project.period", raw, "acme")
    assert "budget.project.period" in str(caught.value) and not paths.project_file("acme").exists()


def test_config_set_bare_string_from_the_command_line(paths: Paths) -> None:
    run = templar("config", "set", "budget.project.period", "monthly", "--project", "acme")
    assert run.code == 0, run.err
    assert 'period = "monthly"' in paths.project_file("acme").read_text()
