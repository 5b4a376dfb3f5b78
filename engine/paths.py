"""Where Templar keeps its files.

``TEMPLAR_HOME`` (if set) holds everything: ``$TEMPLAR_HOME/config`` and ``$TEMPLAR_HOME/data``.
Otherwise platformdirs picks the per-OS user config and data directories. Nothing here creates
directories on import; callers ask for ``ensure=True`` when they are about to write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "templar"


@dataclass(frozen=True)
class Paths:
    """The directories and files Templar reads and writes."""

    config_dir: Path
    data_dir: Path

    @property
    def user_settings(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def projects_dir(self) -> Path:
        return self.config_dir / "projects"

    @property
    def default_db(self) -> Path:
        return self.data_dir / "templar.db"

    def project_file(self, project: str) -> Path:
        return self.projects_dir / f"{project}.toml"

    def ensure(self) -> "Paths":
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self

    @classmethod
    def from_env(cls) -> "Paths":
        home = os.environ.get("TEMPLAR_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(config_dir=root / "config", data_dir=root / "data")
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        )
