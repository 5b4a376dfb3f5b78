"""Settings keys against the schema: leaf paths of nested dicts, the schema annotation at a path,
turning command-line and environment text into the value a key expects, and refusing unknown or
misplaced keys (``engine.config.cascade``).

Invariants:
- Pure: nothing here reads or writes files or the environment.
- An unknown key is an error naming the closest valid key (or why the key was removed), with
  the file (or variable) and line that set it.
- Keys reserved for the system level (``SYSTEM_ONLY_PREFIXES``) are refused in project and
  agent layers; project-only keys (``PROJECT_ONLY_PREFIXES``) are refused in agent layers.
- Text for a text-only field (``str``, a ``Literal`` of strings, or an optional of those) is
  the string itself unless it parses as a TOML string; other text must parse as a TOML value.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from engine.config.schema import PROJECT_ONLY_PREFIXES, SYSTEM_ONLY_PREFIXES, Settings
from engine.config.toml_text import join_key, locate_key, parse_value
from engine.errors import ConfigError

if TYPE_CHECKING:
    from engine.config.cascade import Layer

Path_ = tuple[str, ...]


def flatten(data: dict[str, Any], prefix: Path_ = ()) -> dict[Path_, Any]:
    """Leaf paths of a nested dict (lists and scalars are leaves; empty tables vanish)."""
    out: dict[Path_, Any] = {}
    for key, value in data.items():
        path = prefix + (key,)
        if isinstance(value, dict):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def unflatten(leaves: dict[Path_, Any]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, value in leaves.items():
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return root


def field_annotation(path: Path_) -> Any:
    """The schema annotation at ``path``, or None when the path is not in the schema."""
    model: Any = Settings
    annotation: Any = None
    for part in path:
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            if info is None:
                return None
            annotation = info.annotation
        elif model is dict:
            annotation = _dict_value(annotation)
        else:
            return None
        model = _model_of(annotation)
    return annotation


def _dict_value(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[1] if len(args) == 2 else Any


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is dict:
        return dict
    return None


def _text_only(annotation: Any) -> bool:
    """The field takes only text: ``str``, a ``Literal`` of strings (``budget.*.period``), or
    an optional of those. A bare word is then the string itself (``daily``, not an error)."""
    if annotation is str:
        return True
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return bool(args) and all(isinstance(a, str) for a in args)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return bool(kinds) and all(_text_only(a) for a in kinds)
    return False


def coerce_text(path: Path_, text: str) -> Any:
    """Turn a command-line or environment string into the value the schema expects."""
    annotation = field_annotation(path)
    if _text_only(annotation):
        try:
            value = parse_value(text)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    try:
        return parse_value(text)
    except ValueError:
        if annotation is not None and "str" in repr(annotation):
            return text
        raise


def check_keys(layer: Layer, *, project_file: bool = False) -> None:
    """Refuse unknown keys and keys this level may not set, naming the closest valid key."""
    for path in _walk_keys(layer.data, Settings, ()):
        _raise_unknown(layer, path)
    dotted = {join_key(p): p for p in flatten(layer.data)}
    reserved: tuple[str, ...] = SYSTEM_ONLY_PREFIXES if layer.level in ("project", "agent") else ()
    if layer.level == "agent":
        reserved = reserved + PROJECT_ONLY_PREFIXES
    for text, path in dotted.items():
        for prefix in reserved:
            if text == prefix or text.startswith(prefix + "."):
                where = "in system settings" if prefix in SYSTEM_ONLY_PREFIXES else "at project level"
                raise ConfigError(
                    f"can only be set {where}, not at {layer.level} level",
                    file=layer.source,
                    key=text,
                    line=locate_key(layer.text, path),
                )


def _walk_keys(data: Any, model: Any, prefix: Path_) -> typing.Iterator[Path_]:
    """Yield the first unknown key path under ``data`` (checked against ``model``)."""
    if not isinstance(data, dict):
        return
    if model is dict:
        return
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            yield prefix + (key,)
            return
        sub = _model_of(info.annotation)
        if sub is dict:
            inner = _model_of(_dict_value(info.annotation))
            if isinstance(value, dict):
                for name, item in value.items():
                    yield from _walk_keys(item, inner, prefix + (key, name))
        elif sub is not None:
            yield from _walk_keys(value, sub, prefix + (key,))


def _raise_unknown(layer: Layer, path: Path_) -> None:
    parent = path[:-1]
    choices = _valid_keys(parent)
    close = difflib.get_close_matches(path[-1], choices, n=1, cutoff=0.5)
    hint = f" (did you mean {join_key(parent + (close[0],))}?)" if close else ""
    from engine.config.schema import REMOVED_KEYS

    removed = REMOVED_KEYS.get(join_key(path))
    if removed:
        hint = ""
    if layer.level == "env":
        name = layer.env_names.get(path, "environment")
        raise ConfigError(removed or f"unknown key{hint}", file=name, key=join_key(path))
    raise ConfigError(
        removed or f"unknown key{hint}", file=layer.source, key=join_key(path), line=locate_key(layer.text, path)
    )


def _valid_keys(parent: Path_) -> list[str]:
    if not parent:
        return list(Settings.model_fields)
    annotation = field_annotation(parent)
    model = _model_of(annotation)
    if model is dict:
        model = _model_of(_dict_value(annotation))
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []
