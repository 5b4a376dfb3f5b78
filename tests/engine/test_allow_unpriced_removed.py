"""``pricing.allow_unpriced`` was removed: every way an old setup can still set it gets one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import load_config, set_value
from engine.config.schema import Settings
from engine.errors import ConfigError
from engine.paths import Paths


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["true", "false"])
def test_old_user_file_gets_a_clear_error_naming_the_fix(paths: Paths, value: str) -> None:
    file = write(paths.user_settings, f"[pricing]\nallow_unpriced = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config(paths)
    text = str(err.value)
    assert "allow_unpriced: was removed" in text and 'pricing.models."MODEL"' in text
    assert err.value.file == str(file)


def test_old_project_file_and_env_var_get_the_same_error(paths: Paths) -> None:
    write(paths.project_file("acme"), "[pricing]\nallow_unpriced = true\n")
    with pytest.raises(ConfigError, match="allow_unpriced: was removed"):
        load_config(paths, "acme")
    with pytest.raises(ConfigError, match="allow_unpriced"):
        load_config(paths, environ={"TEMPLAR_PRICING__ALLOW_UNPRICED": "true"})


def test_it_cannot_be_set_and_a_failed_set_writes_nothing(paths: Paths) -> None:
    with pytest.raises(ConfigError, match="allow_unpriced"):
        set_value(paths, "pricing.allow_unpriced", "true", "acme")
    assert not paths.project_file("acme").exists()


def test_the_schema_and_shipped_settings_no_longer_carry_it() -> None:
    assert "allow_unpriced" not in Settings.model_fields["pricing"].annotation.model_fields
    from engine.config import system_settings_file

    assert "allow_unpriced =" not in system_settings_file().read_text(encoding="utf-8")
    # prices still load alongside the removed key's absence
    Settings.model_validate({"pricing": {"models": {"x/y": {"input_usd_per_mtok": 0, "output_usd_per_mtok": 0}}}})
