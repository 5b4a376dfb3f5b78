"""Where Templar keeps its files.

``TEMPLAR_HOME`` (if set) holds everything: ``$TEMPLAR_HOME/config`` and ``$TEMPLAR_HOME/data``.
Otherwise platformdirs picks the per-OS user config and data directories. Nothing here creates
directories on import; callers call ``ensure()`` when they are about to write. A
``TEMPLAR_HOME`` that is not a directory, or a file where a directory must go, is bad input
(exit 2), never an internal error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput

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

    def ensure(self) -> Paths:
        """Create both directories; BadInput (one line) when a file is in the way or the disk
        refuses. A read-only data directory that already exists is fine: reading still works."""
        for directory in (self.config_dir, self.data_dir):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except FileExistsError:
                raise BadInput(f"{directory}: is a file, but Templar needs a directory there") from None
            except OSError as exc:
                if not directory.is_dir():
                    raise BadInput(f"cannot create {directory}: {exc.strerror or exc}") from None
        return self

    @classmethod
    def from_env(cls) -> Paths:
        home = os.environ.get("TEMPLAR_HOME")
        if home:
            root = Path(home).expanduser()
            if root.exists() and not root.is_dir():
                raise BadInput(f"TEMPLAR_HOME={home} is not a directory: point it at a directory (or unset it)")
            return cls(config_dir=root / "config", data_dir=root / "data")
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        )
