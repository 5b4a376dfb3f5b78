"""Reload on save: the config files' identities (mtime, size, inode), which the app polls once a
second (``ConfigAPI.config_stamp``).

Why polling and not a watcher library (watchfiles, watchdog): the cascade reads at most a few
dozen small files (the system settings.toml, the user file, ``projects/*.toml`` and the trusted
providers file), so one poll is a few ``stat`` calls (microseconds) on the event loop; it needs
no thread, no native extension and no new dependency, behaves the same on every platform and
file system (network mounts, editors that save by rename), and a new project file is noticed
like an edited one. The engine's own config cache keys on the same identities, so what the poll
sees is what the next resolve reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Stamp = tuple[tuple[str, int, int, int] | tuple[str, None], ...]


def config_files(paths: Any) -> list[Path]:
    """Every file the cascade may read for any project (absent ones included)."""
    from engine.config.cascade import system_settings_file

    files = [system_settings_file(), paths.user_settings, paths.config_dir / "trusted-providers.toml"]
    try:
        files += sorted(paths.projects_dir.glob("*.toml"))
    except OSError:
        pass
    return files


def stamp(paths: Any) -> Stamp:
    """The files' identities: any save (in place or by rename), creation or removal changes it."""
    out: list[tuple[str, int, int, int] | tuple[str, None]] = []
    for file in config_files(paths):
        try:
            st = file.stat()
        except OSError:
            out.append((str(file), None))
        else:
            out.append((str(file), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)
