"""``Event.to_dict`` is ``dataclasses.asdict`` plus the snake_case ``event`` name, for every event
class (it is written by hand for speed: the server turns several events into JSON per answer)."""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, fields

import pytest

import engine.events as events

CLASSES = [
    cls
    for cls in vars(events).values()
    if inspect.isclass(cls) and issubclass(cls, events.Event) and cls is not events.Event
]


def sample(cls: type) -> events.Event:
    values = {}
    for f in fields(cls):
        kind = str(f.type)
        values[f.name] = (
            ("openai", "gemini")
            if "tuple" in kind
            else 0.25
            if "float" in kind
            else 7
            if "int" in kind
            else True
            if "bool" in kind
            else f"{f.name} ✓"
        )
    return cls(**values)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_to_dict_is_asdict_with_the_event_name(cls: type) -> None:
    event = sample(cls)
    want = {**asdict(event), "event": events._snake(cls.__name__)}
    got = event.to_dict()
    assert got == want and list(got) == list(want)
    assert got["event"].islower() and " " not in got["event"]


@dataclass(frozen=True)
class _Inner:
    items: list[int]


@dataclass(frozen=True)
class _Nested:  # not an Event subclass: the package's list of events stays the package's
    inner: _Inner
    names: list[str]
    where: dict[str, int]


def test_nested_values_are_copies_as_asdict_makes_them() -> None:
    event = _Nested(_Inner([1, 2]), ["a"], {"x": 1})
    data = events.Event.to_dict(event)  # type: ignore[arg-type]
    assert data == {"inner": {"items": [1, 2]}, "names": ["a"], "where": {"x": 1}, "event": "nested"}
    data["names"].append("b")
    data["inner"]["items"].append(3)
    assert event.names == ["a"] and event.inner.items == [1, 2], "the dict shares nothing mutable with the event"
