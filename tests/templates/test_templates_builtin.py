"""The built-in pack: data files, examples, positives, and the quality of generated code."""

from __future__ import annotations

import ast
import importlib.util
import sys
from importlib.resources import files
from pathlib import Path
from types import ModuleType

import pytest

from engine.templates import Match, TemplateIndex, TemplateSpec, load_builtin_pack

try:  # the validation module is written in parallel; fall back to compile() without it
    from engine.validation import CodeValidator
except ImportError:  # pragma: no cover
    CodeValidator = None  # type: ignore[assignment,misc]

PACK = load_builtin_pack()
INDEX = TemplateIndex(PACK)
EXAMPLES = [(spec.name, ex) for spec in PACK for ex in spec.examples]


def check_code(code: str, name: str) -> None:
    compile(code, f"<{name}>", "exec")
    if CodeValidator is not None:
        report = CodeValidator().validate(code)
        assert report.ok, report
        assert report.score >= 90, report


def test_pack_size_and_names() -> None:
    names = [spec.name for spec in PACK]
    assert len(names) >= 12
    assert len(set(names)) == len(names)
    for spec in PACK:
        assert spec.description, spec.name
        assert spec.examples, spec.name
        assert len(spec.patterns) >= 2, spec.name


def test_data_files_found_through_importlib_resources() -> None:
    toml_files = [p.name for p in files("engine.templates.builtin").iterdir() if p.name.endswith(".toml")]
    assert len(toml_files) == len(PACK)


@pytest.mark.parametrize("spec", PACK, ids=lambda s: s.name)
def test_spec_self_check(spec: TemplateSpec) -> None:
    assert spec.check() == []


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=lambda v: getattr(v, "task", v))
def test_example_matches_its_template_and_renders(name: str, example: object) -> None:
    m = INDEX.match(example.task)
    assert m is not None, example.task
    assert m.template is not None and m.template.name == name
    assert dict(m.bindings) == m.template.resolve(example.bindings)
    check_code(m.render(), name)


@pytest.mark.parametrize("spec", PACK, ids=lambda s: s.name)
def test_dict_round_trip(spec: TemplateSpec) -> None:
    again = TemplateSpec.from_dict(spec.to_dict())
    assert again == spec


POSITIVES = [
    (
        "dataclass Customer with fields id: int, email: str, tags: set[str]",
        "dataclass",
        {"name": "Customer", "fields": [("id", "int"), ("email", "str"), ("tags", "set[str]")]},
    ),
    (
        "make a dataclass named geo_point that has lat: float and lon: float",
        "dataclass",
        {"name": "geo_point", "fields": [("lat", "float"), ("lon", "float")]},
    ),
    (
        "pydantic model Address with attributes street: str, zip_code: str | None",
        "pydantic_model",
        {"name": "Address", "fields": [("street", "str"), ("zip_code", "str | None")]},
    ),
    (
        "enum Weekday with members mon, tue, wed, thu and fri",
        "enum",
        {"name": "Weekday", "members": ["mon", "tue", "wed", "thu", "fri"]},
    ),
    ("enumeration LogFormat with values json and text", "enum", {"name": "LogFormat", "members": ["json", "text"]}),
    (
        "cli backup with flags source: Path, target: Path and compress: bool",
        "argparse_cli",
        {"prog": "backup", "options": [("source", "Path"), ("target", "Path"), ("compress", "bool")]},
    ),
    (
        "pytest suite for function compute_tax from billing.tax",
        "pytest_module",
        {"func": "compute_tax", "module": "billing.tax"},
    ),
    (
        "sqlite repository for Customer with columns name: str, age: int | None",
        "sqlite_repository",
        {"entity": "Customer", "fields": [("name", "str"), ("age", "int | None")]},
    ),
    ("retry decorator with exponential backoff and 7 attempts", "retry_decorator", {"attempts": 7, "base_delay": 1.0}),
    (
        "exponential backoff retry decorator with 2 tries and base delay of 0.25 s",
        "retry_decorator",
        {"attempts": 2, "base_delay": 0.25},
    ),
    (
        "settings loader Settings with keys api_url: str, retries: int",
        "settings_loader",
        {"name": "Settings", "fields": [("api_url", "str"), ("retries", "int")], "prefix": "APP"},
    ),
    ("logging setup with level error", "logging_setup", {"level": "error"}),
    ("configure logging", "logging_setup", {"level": "info"}),
    (
        "async api client WeatherClient for https://api.weather.example/v1",
        "httpx_client",
        {"name": "WeatherClient", "base_url": "https://api.weather.example/v1"},
    ),
    ("timing context manager called measure", "timer_context_manager", {"name": "measure"}),
    ("convert csv file to json file", "csv_to_json", {"delimiter": ","}),
    ('csv to json tool with delimiter "|"', "csv_to_json", {"delimiter": "|"}),
    (
        "fastapi crud routes for Product with fields name: str, price: float",
        "fastapi_crud_router",
        {"entity": "Product", "fields": [("name", "str"), ("price", "float")]},
    ),
    (
        "TypedDict Headers with keys accept: str, retry_after: int | None",
        "typed_dict",
        {"name": "Headers", "fields": [("accept", "str"), ("retry_after", "int | None")]},
    ),
    (
        "namedtuple Pair with fields left: int, right: int",
        "named_tuple",
        {"name": "Pair", "fields": [("left", "int"), ("right", "int")]},
    ),
]


@pytest.mark.parametrize(("task", "name", "bindings"), POSITIVES, ids=[p[0] for p in POSITIVES])
def test_new_positives_are_served(task: str, name: str, bindings: dict[str, object]) -> None:
    m = INDEX.match(task)
    assert m is not None, task
    assert m.template is not None and m.template.name == name
    assert dict(m.bindings) == bindings
    check_code(m.render(), name)


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


@pytest.mark.parametrize(("task", "name", "bindings"), POSITIVES, ids=[p[0] for p in POSITIVES])
def test_generated_code_is_typed_and_documented(task: str, name: str, bindings: object) -> None:
    code = INDEX.match(task).render()
    tree = ast.parse(code)
    assert ast.get_docstring(tree), "module docstring"
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            assert ast.get_docstring(node), node.name
    for fn in _functions(tree):
        assert ast.get_docstring(fn), fn.name
        assert fn.returns is not None, fn.name
        args = fn.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            assert arg.annotation is not None or arg.arg in ("self", "cls"), (fn.name, arg.arg)
        for arg in (args.vararg, args.kwarg):
            assert arg is None or arg.annotation is not None
    for node in ast.walk(tree):  # no dynamic code or shell
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("eval", "exec", "compile", "__import__"), node.func.id
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not {"subprocess", "pickle", "marshal"} & set(mods)


# -- the generated code works (tests only: the engine never executes generated code) ----------


def load_module(code: str, tmp_path: Path, name: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def render(task: str) -> str:
    m: Match | None = INDEX.match(task)
    assert m is not None, task
    return m.render()


def test_runtime_dataclass_enum_tuple_dict(tmp_path: Path) -> None:
    mod = load_module(render("dataclass Invoice with fields number: int, total: float"), tmp_path, "gen_dc")
    assert mod.Invoice(1, 2.5).total == 2.5
    mod = load_module(render("enum Color with members red, dark_green and blue"), tmp_path, "gen_enum")
    assert mod.Color.DARK_GREEN == "dark_green" and list(mod.Color)[0] is mod.Color.RED
    mod = load_module(render("named tuple Point with fields x: float, y: float"), tmp_path, "gen_nt")
    assert mod.Point(1.0, 2.0).y == 2.0
    mod = load_module(render("typed dict Movie with keys title: str"), tmp_path, "gen_td")
    assert mod.Movie.__required_keys__ == frozenset({"title"})


def test_runtime_pydantic(tmp_path: Path) -> None:
    pydantic = pytest.importorskip("pydantic")
    mod = load_module(render("pydantic model Order with fields created: date, amount: Decimal"), tmp_path, "gen_pd")
    order = mod.Order(created="2024-01-02", amount="1.50")
    assert str(order.amount) == "1.50"
    with pytest.raises(pydantic.ValidationError):
        mod.Order(created="nope", amount="1")


def test_runtime_sqlite_repository(tmp_path: Path) -> None:
    import sqlite3

    code = render("sqlite3 repository for BlogPost with fields title: str, published: bool, score: float | None")
    mod = load_module(code, tmp_path, "gen_repo")
    repo = mod.BlogPostRepository(sqlite3.connect(":memory:"))
    repo.create_table()
    post = repo.add(mod.BlogPost(title="x'); DROP TABLE blog_posts; --", published=True, score=None))
    assert post.id == 1
    assert repo.get(1) == post
    post.published = False
    assert repo.update(post) is True
    assert repo.get(1).published is False
    assert [p.id for p in repo.list_all()] == [1]
    assert repo.delete(1) is True and repo.get(1) is None and repo.delete(1) is False


def test_runtime_settings_loader(tmp_path: Path) -> None:
    code = render(
        "settings loader Config with env prefix svc and fields host: str, port: int, debug: bool, ratio: float | None"
    )
    mod = load_module(code, tmp_path, "gen_settings")
    toml = tmp_path / "settings.toml"
    toml.write_text('host = "db"\nport = 5432\n', encoding="utf-8")
    cfg = mod.load_settings(toml, {"SVC_DEBUG": "yes", "SVC_PORT": "6543"})
    assert (cfg.host, cfg.port, cfg.debug, cfg.ratio) == ("db", 6543, True, None)
    with pytest.raises(mod.SettingsError):
        mod.load_settings(None, {"SVC_HOST": "x"})
    with pytest.raises(mod.SettingsError):
        mod.load_settings(toml, {"SVC_DEBUG": "maybe"})
    toml.write_text('host = "db"\nport = "5432"\ndebug = false\n', encoding="utf-8")
    with pytest.raises(mod.SettingsError):
        mod.load_settings(toml, {})


def test_runtime_retry(tmp_path: Path) -> None:
    mod = load_module(
        render("retry decorator with exponential backoff, 4 attempts and base delay 0.5"), tmp_path, "gen_retry"
    )
    sleeps: list[float] = []
    calls: list[int] = []

    @mod.retry(sleep=sleeps.append)
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise OSError("boom")
        return x * 2

    assert flaky(21) == 42 and sleeps == [0.5, 1.0]

    @mod.retry(sleep=sleeps.append)
    def broken() -> None:
        raise ValueError("always")

    sleeps.clear()
    with pytest.raises(ValueError, match="always"):
        broken()
    assert sleeps == [0.5, 1.0, 2.0]


def test_runtime_csv_to_json(tmp_path: Path) -> None:
    import json

    mod = load_module(render("csv to json converter with delimiter ';'"), tmp_path, "gen_csv")
    src, dst = tmp_path / "in.csv", tmp_path / "out.json"
    src.write_text("a;b\n1;x\n2;y\n", encoding="utf-8")
    assert mod.main([str(src), str(dst)]) == 0
    assert json.loads(dst.read_text(encoding="utf-8")) == [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}]


def test_runtime_argparse_cli(tmp_path: Path) -> None:
    mod = load_module(
        render("argparse cli tool with options input_file: Path, limit: int | None, dry_run: bool"), tmp_path, "gen_cli"
    )
    opts = mod.parse_options(["--input-file", "a.txt", "--dry-run"])
    assert opts == mod.Options(input_file=Path("a.txt"), limit=None, dry_run=True)
    with pytest.raises(SystemExit):
        mod.parse_options([])


def test_runtime_timer_and_logging(tmp_path: Path) -> None:
    import io
    import logging

    mod = load_module(render("timer context manager named stopwatch"), tmp_path, "gen_timer")
    with mod.stopwatch("work", log=None) as timing:
        sum(range(1000))
    assert timing.elapsed > 0
    mod = load_module(render("set up logging at level warning"), tmp_path, "gen_logging")
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        mod.setup_logging(stream=stream)
        logging.getLogger("t").warning("hello")
        logging.getLogger("t").info("hidden")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.setLevel(saved[0])
        for handler in saved[1]:
            root.addHandler(handler)
        logging.captureWarnings(capture=False)
    assert "hello" in stream.getvalue() and "hidden" not in stream.getvalue()


async def test_runtime_httpx_client(tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    mod = load_module(render("async http client Api for https://api.example.com/v1"), tmp_path, "gen_http")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/missing"):
            return httpx.Response(404)
        return httpx.Response(200, json={"path": request.url.path, "q": request.url.params.get("q")})

    async with mod.Api(transport=httpx.MockTransport(handler)) as client:
        assert await client.get_json("items", params={"q": "x"}) == {"path": "/v1/items", "q": "x"}
        with pytest.raises(httpx.HTTPStatusError):
            await client.get_json("missing")


def test_runtime_fastapi_router(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    mod = load_module(render("fastapi crud router for Item with fields name: str, price: float"), tmp_path, "gen_api")
    app = FastAPI()
    app.include_router(mod.router)
    client = TestClient(app)
    created = client.post("/items/", json={"name": "a", "price": 1.5}).json()
    assert created == {"id": 1, "name": "a", "price": 1.5}
    assert client.get("/items/1").status_code == 200
    assert client.get("/items/2").status_code == 404
    assert client.delete("/items/1").status_code == 204
