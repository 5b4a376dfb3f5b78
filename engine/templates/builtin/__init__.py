"""The built-in template pack: one TOML file per template in this package.

Files are read with :mod:`importlib.resources`, so they must ship as package data
(``engine = ["templates/builtin/*.toml"]`` in pyproject's ``[tool.setuptools.package-data]``).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib.resources import files

from engine.templates.errors import SpecError
from engine.templates.spec import TemplateSpec, specs_by_name


@lru_cache(maxsize=1)
def _load() -> tuple[TemplateSpec, ...]:
    specs: list[TemplateSpec] = []
    root = files(__name__)
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        try:
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{entry.name}: {exc}") from exc
        specs.append(TemplateSpec.from_dict(data, source=f"builtin/{entry.name}"))
    specs_by_name(specs)  # duplicate names are an error
    return tuple(specs)


def load_builtin_pack() -> list[TemplateSpec]:
    """The built-in templates, sorted by file name (parsed once per process)."""
    return list(_load())
