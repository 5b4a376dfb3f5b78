"""Sandboxed rendering: values are inert data, undefined names fail, filters behave."""

from __future__ import annotations

import ast

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from engine.templates import (
    BindingError,
    ParamSpec,
    RenderError,
    TemplateIndex,
    TemplateSpec,
    escape_literal,
    render_body,
)
from engine.templates.naming import (
    camel,
    constant,
    humanize,
    kebab,
    pascal,
    plural,
    snake,
)
from engine.templates.render import doc_text, py_repr

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{% import 'os' %}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{# comment #}",
    '""" + __import__(\'os\').system(\'id\') + """',
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_values_are_inert(payload: str) -> None:
    out = render_body("X = {{ value|repr }}\n", {"value": payload})
    (first,) = ast.parse(out).body
    assert isinstance(first, ast.Assign)
    assert ast.literal_eval(first.value) == payload  # the value landed as a literal
    assert render_body("{{ value }}", {"value": payload}) == payload  # and verbatim


@pytest.mark.parametrize("payload", ESCAPES[:2])
def test_escape_payload_from_a_task_is_inert(payload: str) -> None:
    spec = TemplateSpec(
        name="greeting",
        description="A constant message.",
        patterns=("greeting constant saying {text}",),
        body='"""Greeting."""\n\nMESSAGE = {{ text|repr }}\n',
        params=(ParamSpec("text", "string"),),
    )
    m = TemplateIndex([spec]).match(f'greeting constant saying "{payload}"')
    assert m is not None and m.bindings == {"text": payload}
    code = m.render()
    compile(code, "<greeting>", "exec")
    assert ast.literal_eval(ast.parse(code).body[1].value) == payload


def test_sandbox_blocks_hostile_bodies() -> None:
    with pytest.raises(RenderError) as info:
        render_body("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})
    assert isinstance(info.value.__cause__, SecurityError)
    with pytest.raises(RenderError):
        render_body("{% for i in range(10**9) %}{% endfor %}", {})


def test_output_is_capped() -> None:
    with pytest.raises(RenderError, match="exceeds"):
        render_body("{% for i in range(20000) %}{{ 'x' * 100 }}{% endfor %}", {})


def test_strict_undefined_raises() -> None:
    with pytest.raises(RenderError) as info:
        render_body("class {{ name }}:\n    pass\n", {})
    assert isinstance(info.value.__cause__, UndefinedError)


def test_spec_missing_or_bad_binding() -> None:
    spec = TemplateSpec(
        name="klass",
        description="",
        patterns=("klass {name:identifier}",),
        body="class {{ name }}:\n    pass\n",
        params=(ParamSpec("name", "identifier"),),
    )
    with pytest.raises(BindingError, match="missing"):
        spec.render({})
    with pytest.raises(BindingError, match="unknown"):
        spec.render({"name": "A", "other": 1})
    for bad in ["foo; import os", "__import__('os')", "class", "a b", 3]:
        with pytest.raises(BindingError):
            spec.render({"name": bad})
    assert spec.render({"name": "Good"}) == "class Good:\n    pass\n"


def test_body_using_an_undeclared_name_fails() -> None:
    spec = TemplateSpec(
        name="broken",
        description="",
        patterns=("broken {name:identifier}",),
        body="class {{ name }}({{ base }}):\n    pass\n",
        params=(ParamSpec("name", "identifier"),),
    )
    with pytest.raises(RenderError):
        spec.render({"name": "A"})


def test_trailing_newline_kept_and_blocks_trimmed() -> None:
    body = "A\n{% for x in xs %}\n{{ x }}\n{% endfor %}\nB\n"
    assert render_body(body, {"xs": [1, 2]}) == "A\n1\n2\nB\n"


@pytest.mark.parametrize(
    ("name", "snake_", "camel_", "pascal_", "kebab_", "const", "human"),
    [
        ("InvoiceLine", "invoice_line", "invoiceLine", "InvoiceLine", "invoice-line", "INVOICE_LINE", "invoice line"),
        ("invoice_line", "invoice_line", "invoiceLine", "InvoiceLine", "invoice-line", "INVOICE_LINE", "invoice line"),
        ("HTTPClient", "http_client", "httpClient", "HTTPClient", "http-client", "HTTP_CLIENT", "http client"),
        ("user", "user", "user", "User", "user", "USER", "user"),
    ],
)
def test_name_filters(name: str, snake_: str, camel_: str, pascal_: str, kebab_: str, const: str, human: str) -> None:
    assert (snake(name), camel(name), pascal(name), kebab(name), constant(name), humanize(name)) == (
        snake_,
        camel_,
        pascal_,
        kebab_,
        const,
        human,
    )


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("invoice", "invoices"),
        ("category", "categories"),
        ("day", "days"),
        ("box", "boxes"),
        ("status", "statuses"),
        ("match", "matches"),
        ("blog_post", "blog_posts"),
    ],
)
def test_plural(word: str, expected: str) -> None:
    assert plural(word) == expected


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "it's",
        'say "hi"',
        "both ' and \"",
        "back\\slash",
        "new\nline",
        "ünï",
        3,
        2.5,
        True,
        None,
        ["a", 1],
        ("t",),
    ],
)
def test_repr_filter_gives_python_literals(value: object) -> None:
    assert ast.literal_eval(py_repr(value)) == value


def test_repr_prefers_double_quotes_and_rejects_non_data() -> None:
    assert py_repr("x") == '"x"'
    with pytest.raises(RenderError):
        py_repr(float("inf"))
    with pytest.raises(RenderError):
        py_repr(object())


def test_doc_filter_cannot_close_a_docstring() -> None:
    text = doc_text('evil """ + os.system("x") \\')
    code = f'"""{text}"""\n'
    tree = ast.parse(code)
    assert isinstance(tree.body[0], ast.Expr) and len(tree.body) == 1


@pytest.mark.parametrize(
    "text",
    ["plain\n", "x = {'a': 1}\n", "f'{{x}}'\n", "{% raw %}\n", "{# no #}\n{{ y }}", "{{{{", "a{%b%}c{#d#}e"],
)
def test_escape_literal_round_trips(text: str) -> None:
    assert render_body(escape_literal(text), {}) == text
