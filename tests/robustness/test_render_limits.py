"""Every template render has a time limit and size limits (engine/templates/bounded.py): a
hostile body already in the library (stored before the limits existed, or by hand) cannot hang
serving; it fails, is counted as a template failure, and the request goes on to the next tier."""

from __future__ import annotations

import pytest

from engine.learning.body import Param
from engine.templates.bounded import RenderTimeout, bounded
from engine.templates.errors import RenderError
from engine.templates.render import render_body
from tests.engine.test_learning import learning_engine, responder  # noqa: F401 - fixture

NESTED = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"


def test_nested_loops_that_print_nothing_hit_the_time_limit_and_nothing_is_left_pending() -> None:
    with pytest.raises(RenderTimeout, match="took longer than 0.2 s"):
        with bounded(0.2):
            _raw(NESTED)
    with bounded(5.0):  # a render after a timeout is not hit by a stray interrupt
        for _ in range(300):
            assert render_body("{{ n }}\n", {"n": "X"}) == "X\n"


def _raw(body: str) -> str:
    """Render without render_body's own limit, so only the enclosing ``bounded`` applies."""
    from engine.templates.render import compile_body

    return "".join(compile_body(body).generate({}))


def test_every_render_is_bounded() -> None:
    with pytest.raises(RenderTimeout):
        render_body(NESTED, {})
    assert render_body("{{ n }}: int = {{ v|repr }}\n", {"n": "X", "v": 10**8}) == "X: int = 100000000\n"


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'ab' * 600000 }}",
        "{{ [1, 2] * 600000 }}",
        "{{ 7 ** 10000000 }}",
        "{{ 'a'.rjust(2000000) }}",
        "{{ 'a'.zfill(2000000) }}",
        "{{ 'a'|indent(2000000, true) }}",
        "{{ '%2000000s' % 'a' }}",
        "{{ '{:2000000}'.format('a') }}",
        "{{ '{0:>9999999}'.format_map({}) }}",
    ],
)
def test_bodies_that_build_huge_values_are_refused_before_the_work(body: str) -> None:
    with pytest.raises(RenderError):
        render_body(body, {})


async def test_a_hostile_learned_template_at_serve_fails_over_instead_of_hanging(learning_engine) -> None:  # noqa: F811
    lib = learning_engine.library
    view = learning_engine.store.call(
        lib.add_template,
        {
            "name": "spinner",
            "pattern": "a spinning constant {name:identifier}",
            "body": NESTED + '"""Settings."""\n\n{{ name }}: int = 1\n',
            "params": [Param("name", "identifier", "X")],
            "version": 1,
        },
    )
    result = await learning_engine.generate("a spinning constant LIMIT")
    assert result.source != "learned"
    assert learning_engine.store.call(lib.template, view.id).failures == 1
