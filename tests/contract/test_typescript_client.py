"""A storefront built from the committed OpenAPI document alone, as a frontend team would:
types generated with openapi-typescript, calls made with openapi-fetch, the whole journey run
against a live server, and every answer checked against the document.

The types are generated at test time (never committed): the committed openapi.json is the one
source, already drift-tested against the app, so a second generated artifact could only drift
or conflict; generating it here means `tsc` judges the flow against exactly that document."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.cli import migrate
from app.main import create_app
from app.seed import seed
from tests.conftest import make_settings
from tests.contract.conftest import CLIENT_DIR, STOREFRONT_SPEC, node_env, run, serving
from tests.contract.spec_check import Exchange, SpecChecker

FLOW_SOURCES = CLIENT_DIR / "src"
GENERATED_TYPES = Path("generated", "schema.d.ts")  # in the project folder
COMPILED_FLOW = CLIENT_DIR / "build" / "flow.js"
# Optional is what the spec's `required` lists say: by default openapi-typescript would also
# make every field with a default mandatory, in requests too (`quantity`, `scope`).
GENERATOR_OPTIONS = ["--default-non-nullable", "false"]
SAMPLE_PRODUCTS = 40

# The journey the flow must make (a step dropped from flow.ts fails the run, not just shrinks it).
STOREFRONT_JOURNEY = {
    ("GET", "/v1/categories", 200),
    ("GET", "/v1/products", 200),
    ("GET", "/v1/products/{slug}", 200),
    ("GET", "/v1/products/{slug}", 304),
    ("POST", "/v1/carts", 201),
    ("POST", "/v1/carts/{cart_id}/items", 201),
    ("PATCH", "/v1/carts/{cart_id}/items/{item_id}", 200),
    ("POST", "/v1/checkout", 201),
    ("POST", "/v1/orders/{order_id}/payments", 200),
    ("GET", "/v1/orders/{order_id}", 200),
    ("POST", "/v1/orders/track", 200),
    ("POST", "/v1/accounts", 201),
    ("POST", "/v1/auth/token", 200),
    ("GET", "/v1/me", 200),
    ("POST", "/v1/me/cart/claim", 200),
    ("GET", "/v1/me/cart", 200),
    ("GET", "/v1/me/orders", 200),
    ("GET", "/v1/me/consents", 200),
    ("PUT", "/v1/me/consents", 200),
    ("GET", "/v1/me/consents/history", 200),
}


# What would let the flow compile against a spec it does not match: `x as T` and `<T>x` casts,
# `any`, and non-null assertions (`x!`), looked for in code outside strings and comments; and
# `@ts-ignore`-style directives anywhere.
UNCHECKED = re.compile(r"\bas\s+[\w{\[(]|(?:^|[=(,:?]|\breturn)\s*<[A-Z]\w*>|\bany\b|[\w)\]]!(?!=)")
LITERALS = re.compile(r'"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`')


def start(args: list[str | Path], *, cwd: Path = CLIENT_DIR) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own pinned tools, no shell
        [str(arg) for arg in args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=300)
    return process.returncode, output


@dataclass(frozen=True)
class TypeChecks:
    """`tsc` running on the flow, against the committed spec and against a broken copy."""

    committed: subprocess.Popen[str]
    broken: subprocess.Popen[str]


@pytest.fixture(scope="module")
def type_checks(node_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TypeChecks]:
    """Generate the flow's types from the committed spec, and from a copy without a field the
    flow reads (in a copy of the project), then start `tsc` on both: they run beside each other
    and beside the server's start, since each costs seconds of CPU.

    On the committed spec one `tsc` run checks and compiles: the project sets `noEmitOnError`,
    so it emits JavaScript only when the strict check passes (`tsc --noEmit` first would check
    everything twice)."""
    broken_project = tmp_path_factory.mktemp("broken-client")
    shutil.copytree(FLOW_SOURCES, broken_project / "src")
    shutil.copy(CLIENT_DIR / "tsconfig.json", broken_project / "tsconfig.json")
    (broken_project / "node_modules").symlink_to(CLIENT_DIR / "node_modules")
    broken_spec = broken_project / "openapi.json"
    broken_spec.write_text(json.dumps(_without_cart_id(load_spec())))
    generations = [
        start(
            [
                node_bin / "openapi-typescript",
                spec,
                *GENERATOR_OPTIONS,
                "--output",
                project / GENERATED_TYPES,
            ]
        )
        for spec, project in ((STOREFRONT_SPEC, CLIENT_DIR), (broken_spec, broken_project))
    ]
    for generation in generations:
        code, output = finish(generation)
        if code != 0:
            pytest.fail(f"openapi-typescript failed:\n{output}")
    shutil.rmtree(CLIENT_DIR / "build", ignore_errors=True)
    checks = TypeChecks(
        committed=start([node_bin / "tsc", "--project", CLIENT_DIR / "tsconfig.json"]),
        broken=start([node_bin / "tsc", "--project", broken_project / "tsconfig.json", "--noEmit"]),
    )
    yield checks
    for check in (checks.committed, checks.broken):  # when a test run did not need both
        if check.poll() is None:
            check.kill()
        check.communicate()


@pytest.fixture(scope="module")
def compiled_flow(type_checks: TypeChecks) -> Path:
    """The flow, compiled once it type-checks against the committed spec."""
    code, report = finish(type_checks.committed)
    if code != 0:
        pytest.fail(f"the storefront flow does not type-check against the spec:\n{report}")
    return COMPILED_FLOW


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on its defaults (the fake payment processor) behind a real uvicorn server, over
    a migrated SQLite database holding the sample catalog."""
    folder = tmp_path_factory.mktemp("storefront")
    database_url = f"sqlite+aiosqlite:///{folder / 'facet.db'}"
    migrate(database_url)
    asyncio.run(seed(products=SAMPLE_PRODUCTS, database_url=database_url))
    application = create_app(make_settings(database_url, mail_dir=folder / "mail"))
    with serving(application) as url:
        yield url


@pytest.fixture(scope="module")
def exchanges(
    type_checks: TypeChecks,
    live_server: str,
    compiled_flow: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> list[Exchange]:
    """Every request of the storefront flow and its answer; fails if the flow failed."""
    record = tmp_path_factory.mktemp("exchanges") / "exchanges.json"
    ran = run(
        ["node", compiled_flow],
        env={**node_env(), "FACET_BASE_URL": live_server, "FACET_EXCHANGES": str(record)},
        timeout=120,
    )
    if ran.returncode != 0:
        pytest.fail(f"the storefront flow failed:\n{ran.stdout}\n{ran.stderr}")
    return [Exchange.from_record(item) for item in json.loads(record.read_text())]


def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(STOREFRONT_SPEC.read_text())
    return spec


def test_the_flow_is_strict_typescript_without_casts() -> None:
    config = json.loads((CLIENT_DIR / "tsconfig.json").read_text())["compilerOptions"]
    assert config["strict"] is True
    assert config["noEmitOnError"] is True
    found = [
        f"{source.name}:{number}: {line.strip()}"
        for source in FLOW_SOURCES.rglob("*.ts")
        for number, line in enumerate(source.read_text().splitlines(), 1)
        if UNCHECKED.search(LITERALS.sub('""', line.split("//")[0])) or "@ts-" in line
    ]
    assert found == [], "casts, `any` or non-null assertions in the typed flow"


def test_storefront_flow_runs_against_a_live_server(exchanges: list[Exchange]) -> None:
    made = {(exchange.method, exchange.path, exchange.status) for exchange in exchanges}
    assert STOREFRONT_JOURNEY - made == set()


def test_every_answer_of_the_flow_is_declared_in_the_spec(exchanges: list[Exchange]) -> None:
    checker = SpecChecker(load_spec())
    problems = [problem for exchange in exchanges for problem in checker.problems(exchange)]
    assert problems == []


# ---- a breaking change of the document fails the suite ----


def _response_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][path][method]["responses"][status]["content"][
        "application/json"
    ]["schema"]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _without_cart_id(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with a cart's `id` gone, as a careless rename would leave it."""
    changed = copy.deepcopy(spec)
    cart = _response_schema(changed, "/v1/carts", "post", "201")
    del cart["properties"]["id"]
    cart["required"].remove("id")
    return changed


def test_removing_a_field_the_storefront_uses_fails_the_type_check(
    type_checks: TypeChecks,
) -> None:
    code, report = finish(type_checks.broken)

    assert code != 0
    assert "Property 'id' does not exist" in report


def test_the_checker_rejects_answers_a_changed_spec_no_longer_declares(
    exchanges: list[Exchange],
) -> None:
    spec = _without_cart_id(load_spec())
    cart = _response_schema(spec, "/v1/carts", "post", "201")
    cart["properties"]["cart_id"] = {"type": "string"}
    cart["required"].append("cart_id")
    del spec["paths"]["/v1/products/{slug}"]["get"]["responses"]["304"]
    checker = SpecChecker(spec)

    problems = [problem for exchange in exchanges for problem in checker.problems(exchange)]

    carts = [problem for problem in problems if problem.startswith("POST /v1/carts -> 201")]
    assert any("'cart_id' is a required property" in problem for problem in carts)
    assert any("('id' was unexpected)" in problem for problem in carts)  # an undeclared field
    assert any("GET /v1/products/{slug} -> 304: status not declared" in p for p in problems)


def test_the_checker_holds_declared_headers_to_the_answer(exchanges: list[Exchange]) -> None:
    spec = load_spec()
    product = spec["paths"]["/v1/products/{slug}"]["get"]["responses"]["200"]
    product["headers"] = {"X-Missing": {"required": True, "schema": {"type": "string"}}}
    checker = SpecChecker(spec)
    read_etag = next(e for e in exchanges if e.path == "/v1/products/{slug}" and e.status == 200)

    problems = checker.problems(read_etag)

    assert "the client reads header ETag, which is not declared" in " ".join(problems)
    assert "required header X-Missing is missing" in " ".join(problems)


def test_the_checker_follows_shared_responses(exchanges: list[Exchange]) -> None:
    spec = load_spec()
    responses = spec["paths"]["/v1/carts"]["post"]["responses"]
    spec.setdefault("components", {}).setdefault("responses", {})["Cart"] = responses["201"]
    responses["201"] = {"$ref": "#/components/responses/Cart"}
    created = [e for e in exchanges if e.path == "/v1/carts" and e.method == "POST"]
    assert [SpecChecker(spec).problems(exchange) for exchange in created] == [[], []]

    shared = spec["components"]["responses"]["Cart"]["content"]["application/json"]
    shared["schema"] = {"type": "object", "required": ["coupon"]}
    assert "'coupon' is a required property" in str(SpecChecker(spec).problems(created[0]))
