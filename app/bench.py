"""`facet bench`: Facet's speed next to a bare FastAPI app, and the figures of issue 11's
targets with pass or fail.

For each database and catalog size it builds a fresh database (a SQLite file, or the
scratch PostgreSQL database given with `--database-url`, wiped first), seeds it, and starts
Facet under uvicorn on loopback with `--workers` processes. A reference app
(`app.bench_reference`: 20 product-sized JSON objects) runs under the same uvicorn settings.
`wrk` drives the load through generated Lua scripts (paths spread over many cursors, slugs
and carts; checkout + pay as a four-request flow per connection); when wrk is missing an
httpx client stands in, and every table says which client measured it. A measurement, not a
test: the figures depend on the machine, and the load generator shares it with the server.
`facet bench --soak` runs the mixed soak of `app.soak` instead.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text, update
from sqlalchemy.engine import make_url

from app.bench_reference import REFERENCE_PATH
from app.cli import PROJECT_ROOT, migrate
from app.seed import seed

# The setting that switches public-catalog caching off; the bench measures lists both ways.
CATALOG_CACHE_SWITCH = "FACET_CATALOG_CACHE"
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/facet_bench"
START_TIMEOUT_S = 240.0  # a loaded machine starts processes slowly
LIST_PATH = "/v1/products?limit=20"
FILTERED_LIST_PATH = "/v1/products?metal=white_gold&limit=24"
PAGES_PER_LIST = 10  # cursors followed per list, so requests spread over the catalog
SLUGS = 50  # products whose detail pages are requested in turn
CARTS = 64  # carts whose line the PATCH scenario updates in turn
CHECKOUT_VARIANTS = 40  # variants the checkout flow buys, stocked up so none runs out
BENCH_STOCK = 1_000_000
CHECKOUT_BODY = {
    "email": "bench@example.com",
    "phone": "+1 555 0100",
    "is_adult": True,
    "shipping_address": {
        "full_name": "Bench Buyer",
        "line1": "1 Main St",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
    },
}
# Every bench request comes from 127.0.0.1: lift the per-address limits for the run.
LIFTED_LIMITS = {
    "FACET_CHECKOUT_MAX_PER_IP": "1000000000",
    "FACET_PAYMENT_ATTEMPTS_PER_ADDRESS": "1000000000",
    "FACET_REGISTRATIONS_PER_IP_PER_HOUR": "1000000000",
}


class BenchError(RuntimeError):
    """The benchmark cannot run as asked."""


@dataclass(frozen=True)
class Measurement:
    key: str
    label: str
    client: str  # "wrk" or "httpx (wrk not found)"
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    flows: int = 0  # checkout + pay: orders paid
    flow_errors: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def orders_per_s(self) -> float:
        return self.flows / self.seconds if self.seconds else 0.0


@dataclass
class SizeResult:
    database: str  # "PostgreSQL" or "SQLite"
    products: int
    seed_seconds: float
    seed_summary: str
    reference: Measurement
    measurements: dict[str, Measurement] = field(default_factory=dict)
    rss_mb_per_worker: list[float] = field(default_factory=list)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def ratio(self, key: str) -> float:
        m = self.measurements.get(key)
        return m.rps / self.reference.rps if m and self.reference.rps else float("nan")


@dataclass(frozen=True)
class Options:
    workers: int = 2
    connections: int = 32
    duration: float = 10.0
    warmup: float = 2.0
    client: str = "auto"  # "auto" (wrk when installed), "wrk" or "httpx"


# ---- databases ----


def postgres_dsn(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BenchError("--database-url must be a PostgreSQL URL (postgresql+asyncpg://...)")
    if "bench" not in (url.database or ""):
        # The database is wiped before each size: refuse anything that looks like real data.
        raise BenchError(
            f"refusing to wipe database {url.database!r}: use a scratch database whose name "
            "contains 'bench' (e.g. facet_bench)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _wipe_postgres(database_url: str) -> None:
    dsn = postgres_dsn(database_url)
    url = make_url(dsn)
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(url.set(database="postgres").render_as_string(False))
        try:
            await admin.execute(f'CREATE DATABASE "{url.database}"')
        finally:
            await admin.close()
        return
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def fresh_database(database_url: str | None, name: str, workdir: Path) -> str:
    """A migrated, empty database; returns its URL. None means a new SQLite file."""
    if database_url is None:
        path = workdir / f"{name}.db"
        for stale in workdir.glob(f"{path.name}*"):
            stale.unlink()
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = database_url
        asyncio.run(_wipe_postgres(url))
    migrate(url)
    return url


async def stock_up(database_url: str, variant_ids: Sequence[str]) -> None:
    """Give the variants the checkout flow buys more stock than any run can sell."""
    from app.catalog.models import Variant
    from app.core.db import create_engine, create_sessionmaker

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            ids = [uuid.UUID(v) for v in variant_ids]
            await session.execute(
                update(Variant).where(Variant.id.in_(ids)).values(stock_on_hand=BENCH_STOCK)
            )
            if database_url.startswith("postgresql"):
                await session.execute(text("ANALYZE variants"))
    finally:
        await engine.dispose()


# ---- processes ----


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def facet_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Facet process for a loopback run: no FACET_* from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="development",
        FACET_DATABASE_URL=database_url,
        FACET_LOG_LEVEL="WARNING",
        FACET_OUTBOX_IN_PROCESS="false",
        FACET_MAIL_DIR=str(workdir / "mail"),
        **LIFTED_LIMITS,
    )
    env.update(extra)
    return env


@contextmanager
def running_uvicorn(
    factory: str, env: dict[str, str], log_path: Path, *, workers: int
) -> Iterator[tuple[str, int]]:
    """`uvicorn <factory> --factory --workers N` on a free loopback port: (base URL, pid)."""
    with running_servers(factory, env, [log_path], workers=workers) as servers:
        yield servers[0]


@contextmanager
def running_servers(
    factory: str, env: dict[str, str], logs: Sequence[Path], *, workers: int
) -> Iterator[list[tuple[str, int]]]:
    """One uvicorn server per log file, started together: [(base URL, pid)]."""
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for log_path in logs:
            port = free_port()
            command = [
                sys.executable, "-m", "uvicorn", factory, "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
            with log_path.open("ab") as log:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
            started.append((process, f"http://127.0.0.1:{port}", log_path))
        for process, base_url, log_path in started:
            wait_until_serving(process, base_url, log_path)
        yield [(base_url, process.pid) for process, base_url, _ in started]
    finally:
        for process, _, _ in started:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_serving(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not start in {START_TIMEOUT_S:.0f} s")


def worker_pids(pid: int) -> list[int]:
    """The processes serving requests: uvicorn's worker children, or the process itself."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"resource_tracker" not in cmdline:
            children.append(int(entry.name))
    return sorted(children) or [pid]


def resident_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS from /proc; NaN elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# ---- the load: requests each scenario sends ----


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: str | None = None


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    calls: tuple[Call, ...] = ()  # cycled, spread over connections
    checkout_variants: tuple[str, ...] = ()  # set: the checkout + pay flow instead


@dataclass(frozen=True)
class Sample:
    """What the scenarios need from the seeded catalog, read over HTTP."""

    list_paths: tuple[str, ...]
    filtered_paths: tuple[str, ...]
    detail_paths: tuple[str, ...]
    cart_lines: tuple[tuple[str, str], ...]  # (cart id, line id)
    variants: tuple[str, ...]


def _pages(client: httpx.Client, first: str) -> list[str]:
    paths, path = [first], first
    for _ in range(PAGES_PER_LIST - 1):
        answer = client.get(path)
        answer.raise_for_status()
        cursor = answer.json()["next_cursor"]
        if not cursor:
            break
        path = f"{first}&cursor={cursor}"
        paths.append(path)
    return paths


def sample_catalog(base_url: str, database_url: str) -> Sample:
    """Cursors, slugs and variants of the seeded catalog; the variants are stocked up and
    put in carts for the PATCH scenario."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        list_paths = _pages(client, LIST_PATH)
        filtered_paths = _pages(client, FILTERED_LIST_PATH)
        slugs: list[str] = []
        for path in list_paths:
            slugs += [item["slug"] for item in client.get(path).json()["items"]]
        slugs = slugs[:SLUGS]
        if not slugs:
            raise BenchError("the product list is empty: nothing to measure")
        variants = []
        for slug in slugs[:CHECKOUT_VARIANTS]:
            detail = client.get(f"/v1/products/{slug}").json()
            variants += [v["id"] for v in detail["variants"][:1]]
        asyncio.run(stock_up(database_url, variants))
        cart_lines = []
        for n in range(CARTS):
            cart_id = client.post("/v1/carts").json()["id"]
            added = client.post(
                f"/v1/carts/{cart_id}/items",
                json={"variant_id": variants[n % len(variants)], "quantity": 1},
            )
            if added.status_code != 201:
                raise BenchError(f"cannot fill a cart ({added.status_code}): {added.text[:300]}")
            cart_lines.append((cart_id, added.json()["items"][0]["id"]))
    return Sample(
        tuple(list_paths),
        tuple(filtered_paths),
        tuple(f"/v1/products/{slug}" for slug in slugs),
        tuple(cart_lines),
        tuple(variants),
    )


def scenarios(sample: Sample) -> list[Scenario]:
    return [
        Scenario("list", f"GET {LIST_PATH}", tuple(Call("GET", p) for p in sample.list_paths)),
        Scenario(
            "filtered",
            f"GET {FILTERED_LIST_PATH}",
            tuple(Call("GET", p) for p in sample.filtered_paths),
        ),
        Scenario(
            "detail", "GET /v1/products/{slug}", tuple(Call("GET", p) for p in sample.detail_paths)
        ),
        Scenario(
            "cart",
            "PATCH /v1/carts/{id}/items/{item}",
            tuple(
                Call("PATCH", f"/v1/carts/{cart}/items/{line}", json.dumps({"quantity": q}))
                for q in (2, 1)
                for cart, line in sample.cart_lines
            ),
        ),
        Scenario(
            "checkout",
            "checkout + pay (4 requests per order)",
            checkout_variants=sample.variants,
        ),
    ]


# ---- wrk ----

_LUA_REPORT = """
threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("me", #threads)
end
function done(summary, latency, requests)
  local e = summary.errors
  local flows, flow_errors = 0, 0
  for _, t in ipairs(threads) do
    flows = flows + (t:get("flows") or 0)
    flow_errors = flow_errors + (t:get("flow_errors") or 0)
  end
  io.write(string.format(
    'FACET-BENCH {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,'
    .. '"flows":%d,"flow_errors":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), flows, flow_errors))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a valid Lua string literal


def lua_script(scenario: Scenario) -> str:
    """The wrk script of a scenario: its calls in turn (each thread from its own offset),
    or the checkout flow, one connection per thread."""
    if scenario.checkout_variants:
        body_rest = json.dumps(CHECKOUT_BODY)[1:]  # `"email": ...}` after the cart id
        variants = ", ".join(_lua_string(v) for v in scenario.checkout_variants)
        run = uuid.uuid4().hex[:8]
        return (
            _LUA_REPORT
            + f"""
local variants = {{{variants}}}
local body_rest = {_lua_string(body_rest)}
local state, seq, cart, order, token = 0, 0, nil, nil, nil
local json = {{["Content-Type"] = "application/json"}}
flows, flow_errors = 0, 0
function request()
  if state == 0 then
    return wrk.format("POST", "/v1/carts", json, "")
  elseif state == 1 then
    local v = variants[((me * 7 + seq) % #variants) + 1]
    return wrk.format("POST", "/v1/carts/" .. cart .. "/items", json,
      '{{"variant_id":"' .. v .. '","quantity":1}}')
  elseif state == 2 then
    seq = seq + 1
    local headers = {{["Content-Type"] = "application/json",
      ["Idempotency-Key"] = "bench-{run}-" .. me .. "-" .. seq}}
    return wrk.format("POST", "/v1/checkout", headers, '{{"cart_id":"' .. cart .. '",' .. body_rest)
  else
    local headers = {{["Content-Type"] = "application/json", ["X-Order-Token"] = token}}
    return wrk.format("POST", "/v1/orders/" .. order .. "/payments", headers,
      '{{"payment_method":"pm_card_visa"}}')
  end
end
function response(status, headers, body)
  if state == 0 and status == 201 then
    cart = body:match('"id"%s*:%s*"([^"]+)"')
    state = 1
  elseif state == 1 and status == 201 then
    state = 2
  elseif state == 2 and status == 201 then
    order = body:match('"id"%s*:%s*"([^"]+)"')
    token = body:match('"order_token"%s*:%s*"([^"]+)"')
    state = 3
  elseif state == 3 and status == 200 then
    flows = flows + 1
    state = 0
  else
    flow_errors = flow_errors + 1
    state = 0
  end
end
"""
        )
    entries = ",\n".join(
        "  {"
        + ", ".join([_lua_string(c.method), _lua_string(c.path), _lua_string(c.body or "")])
        + "}"
        for c in scenario.calls
    )
    return (
        _LUA_REPORT
        + f"""
local calls = {{
{entries}
}}
local json = {{["Content-Type"] = "application/json"}}
local i = 0
function init(args)
  i = (me or 1) * 7919
end
function request()
  i = i + 1
  local c = calls[(i % #calls) + 1]
  if c[3] == "" then
    return wrk.format(c[1], c[2])
  end
  return wrk.format(c[1], c[2], json, c[3])
end
"""
    )


def run_wrk(base_url: str, scenario: Scenario, options: Options, workdir: Path) -> Measurement:
    script = workdir / f"{scenario.key}.lua"
    script.write_text(lua_script(scenario))
    connections = options.connections
    # The flow keeps per-connection state in Lua, so one connection per wrk thread.
    threads = connections if scenario.checkout_variants else max(1, min(2, connections))
    if options.warmup > 0:
        _wrk(base_url, script, threads, connections, options.warmup)
    started = time.perf_counter()
    report = _wrk(base_url, script, threads, connections, options.duration)
    elapsed = time.perf_counter() - started
    seconds = report["duration_us"] / 1e6 or elapsed
    return Measurement(
        key=scenario.key,
        label=scenario.label,
        client="wrk",
        requests=report["requests"],
        errors=report["errors"],
        seconds=seconds,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        flows=report["flows"],
        flow_errors=report["flow_errors"],
    )


def _wrk(base_url: str, script: Path, threads: int, connections: int, seconds: float) -> dict:  # type: ignore[type-arg]
    command = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(seconds, 1):.0f}s",
        "--timeout", "10s", "--latency", "-s", str(script), base_url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    for line in done.stdout.splitlines():
        if line.startswith("FACET-BENCH "):
            report: dict = json.loads(line.removeprefix("FACET-BENCH "))  # type: ignore[type-arg]
            return report
    raise BenchError(f"wrk gave no report: {done.stdout[-1000:]} {done.stderr[-1000:]}")


# ---- the httpx stand-in ----


async def _httpx_run(
    base_url: str, scenario: Scenario, connections: int, seconds: float, client_label: str
) -> Measurement:
    latencies: list[float] = []
    errors = flows = flow_errors = 0
    counter = itertools.count()
    stop_at = time.perf_counter() + seconds

    async def timed(client: httpx.AsyncClient, call: Call, **headers: str) -> httpx.Response:
        nonlocal errors
        sent = time.perf_counter()
        try:
            answer = await client.request(
                call.method,
                call.path,
                content=call.body,
                headers={"content-type": "application/json", **headers} if call.body else None,
            )
        except httpx.HTTPError:
            errors += 1
            return httpx.Response(599)
        latencies.append(time.perf_counter() - sent)
        if answer.status_code >= 400:
            errors += 1
        return answer

    async def one_connection(me: int) -> None:
        nonlocal flows, flow_errors
        async with httpx.AsyncClient(
            base_url=base_url, timeout=10, limits=httpx.Limits(max_connections=1)
        ) as client:
            seq = 0
            while time.perf_counter() < stop_at:
                if not scenario.checkout_variants:
                    calls = scenario.calls
                    await timed(client, calls[(me * 7919 + next(counter)) % len(calls)])
                    continue
                seq += 1
                variant = scenario.checkout_variants[
                    (me * 7 + seq) % len(scenario.checkout_variants)
                ]
                cart = await timed(client, Call("POST", "/v1/carts"))
                if cart.status_code != 201:
                    flow_errors += 1
                    continue
                cart_id = cart.json()["id"]
                line = json.dumps({"variant_id": variant, "quantity": 1})
                if (
                    await timed(client, Call("POST", f"/v1/carts/{cart_id}/items", line))
                ).status_code != 201:
                    flow_errors += 1
                    continue
                body = json.dumps({"cart_id": cart_id, **CHECKOUT_BODY})
                order = await timed(
                    client,
                    Call("POST", "/v1/checkout", body),
                    **{"idempotency-key": uuid.uuid4().hex},
                )
                if order.status_code != 201:
                    flow_errors += 1
                    continue
                placed = order.json()
                paid = await timed(
                    client,
                    Call(
                        "POST",
                        f"/v1/orders/{placed['id']}/payments",
                        '{"payment_method":"pm_card_visa"}',
                    ),
                    **{"x-order-token": placed["order_token"]},
                )
                if paid.status_code == 200:
                    flows += 1
                else:
                    flow_errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_connection(me) for me in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(fraction: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000

    return Measurement(
        key=scenario.key,
        label=scenario.label,
        client=client_label,
        requests=len(latencies),
        errors=errors,
        seconds=elapsed,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        flows=flows,
        flow_errors=flow_errors,
    )


def run_httpx(base_url: str, scenario: Scenario, options: Options) -> Measurement:
    label = "httpx (asked for)" if options.client == "httpx" else "httpx (wrk not found)"
    if options.warmup > 0:
        asyncio.run(_httpx_run(base_url, scenario, options.connections, options.warmup, label))
    return asyncio.run(_httpx_run(base_url, scenario, options.connections, options.duration, label))


def client_for(options: Options) -> str:
    if options.client == "httpx":
        return "httpx"
    if shutil.which("wrk"):
        return "wrk"
    if options.client == "wrk":
        raise BenchError("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    return "httpx"


def measure(base_url: str, scenario: Scenario, options: Options, workdir: Path) -> Measurement:
    if client_for(options) == "wrk":
        return run_wrk(base_url, scenario, options, workdir)
    return run_httpx(base_url, scenario, options)


# ---- one database, one size ----


def bench_size(
    database: str, database_url: str | None, products: int, options: Options, workdir: Path
) -> SizeResult:
    url = fresh_database(database_url, f"bench-{products}", workdir)
    started = time.perf_counter()
    summary = asyncio.run(seed(products=products, database_url=url))
    seed_seconds = time.perf_counter() - started
    log = workdir / f"{database}-{products}.log"
    reference_scenario = Scenario("reference", "reference", (Call("GET", REFERENCE_PATH),))
    with running_uvicorn(
        "app.bench_reference:create_app", facet_env(url, workdir), log, workers=options.workers
    ) as (base_url, _):
        reference = measure(base_url, reference_scenario, options, workdir)
    result = SizeResult(database, products, seed_seconds, summary, reference)
    with running_uvicorn(
        "app.main:create_app", facet_env(url, workdir), log, workers=options.workers
    ) as (base_url, pid):
        sample = sample_catalog(base_url, url)
        for scenario in scenarios(sample):
            result.measurements[scenario.key] = measure(base_url, scenario, options, workdir)
        result.rss_mb_per_worker = [resident_mb(p) for p in worker_pids(pid)]
    uncached = facet_env(url, workdir, **{CATALOG_CACHE_SWITCH: "false"})
    with running_uvicorn("app.main:create_app", uncached, log, workers=options.workers) as (
        base_url,
        _,
    ):
        for scenario in scenarios(sample)[:3]:
            off = measure(base_url, scenario, options, workdir)
            key = f"{scenario.key}_uncached"
            result.measurements[key] = replace(
                off, key=key, label=f"{scenario.label} (catalog cache off)"
            )
    result.load_average = os.getloadavg()
    return result


# ---- the report ----


def _x(value: float) -> str:
    return "-" if value != value else f"{value:.2f}x"  # NaN check


def format_size(result: SizeResult) -> str:
    load = ", ".join(f"{v:.2f}" for v in result.load_average)
    rss = ", ".join(f"{v:.0f}" for v in result.rss_mb_per_worker)
    lines = [
        f"### {result.database}, {result.products:,} products",
        "",
        f"Seeded in {result.seed_seconds:.1f} s ({result.seed_summary}). Load average "
        f"{load} (1, 5, 15 min) after the run. Resident memory per worker after the run: "
        f"{rss} MB.",
        "",
        "| route | client | req/s | vs reference | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [result.reference, *result.measurements.values()]
    for m in rows:
        label = "reference: bare FastAPI, 20 products" if m.key == "reference" else m.label
        ratio = "1.00x" if m.key == "reference" else _x(m.rps / result.reference.rps)
        errors = f"{m.errors:,}"
        if m.key == "checkout":
            label += f": {m.orders_per_s:,.0f} orders/s"
            errors += f" ({m.flow_errors:,} failed orders)"
        lines.append(
            f"| `{label}` | {m.client} | {m.rps:,.0f} | {ratio} | {m.p50_ms:.1f} "
            f"| {m.p99_ms:.1f} | {errors} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    figure: str
    target: str
    measured: str
    passed: bool


def _at_least(value: float, floor: float) -> bool:
    return value == value and value >= floor


def verdicts(results: Sequence[SizeResult]) -> list[Verdict]:
    """Issue 11's targets, for every database and size measured."""
    out: list[Verdict] = []
    for r in results:
        where = f"{r.database} {r.products:,}"
        m = r.measurements
        if r.database == "PostgreSQL":
            for key, floor in (("list", 0.4), ("filtered", 0.4), ("detail", 0.6), ("cart", 0.2)):
                ratio = r.ratio(key)
                out.append(
                    Verdict(
                        f"{where}: {m[key].label}",
                        f">= {floor}x",
                        _x(ratio),
                        _at_least(ratio, floor),
                    )
                )
            checkout = m["checkout"]
            failed = checkout.errors + checkout.flow_errors
            out.append(
                Verdict(
                    f"{where}: checkout + pay",
                    ">= 150 orders/s, 0 errors",
                    f"{checkout.orders_per_s:,.0f} orders/s, {failed} errors",
                    checkout.orders_per_s >= 150 and failed == 0,
                )
            )
            p99 = max(m[k].p99_ms for k in ("list", "filtered", "detail"))
            out.append(
                Verdict(f"{where}: catalog reads p99", "<= 50 ms", f"{p99:.1f} ms", p99 <= 50)
            )
            for key in ("list_uncached", "filtered_uncached"):
                ratio = r.ratio(key)
                out.append(
                    Verdict(
                        f"{where}: {m[key].label}", ">= 0.15x", _x(ratio), _at_least(ratio, 0.15)
                    )
                )
        else:
            p99 = max(m[k].p99_ms for k in ("list", "filtered", "detail"))
            out.append(
                Verdict(f"{where}: catalog reads p99", "<= 100 ms", f"{p99:.1f} ms", p99 <= 100)
            )
            for key in ("list", "filtered"):
                ratio = r.ratio(key)
                out.append(
                    Verdict(f"{where}: {m[key].label}", ">= 0.3x", _x(ratio), _at_least(ratio, 0.3))
                )
        rss = max(r.rss_mb_per_worker, default=float("nan"))
        out.append(
            Verdict(
                f"{where}: resident memory per worker", "<= 150 MB", f"{rss:.0f} MB", rss <= 150
            )
        )
    for database in ("PostgreSQL", "SQLite"):
        sized = sorted((r for r in results if r.database == database), key=lambda r: r.products)
        if len(sized) < 2:
            continue
        small, large = sized[0], sized[-1]
        for key in ("list", "filtered", "detail"):
            ratio = large.measurements[key].p50_ms / small.measurements[key].p50_ms
            out.append(
                Verdict(
                    f"{database} {large.products:,} vs {small.products:,}: "
                    f"{large.measurements[key].label} p50 latency",
                    "<= 1.5x",
                    _x(ratio),
                    ratio == ratio and ratio <= 1.5,
                )
            )
    return out


def format_verdicts(results: Sequence[SizeResult]) -> str:
    lines = ["### Targets", "", "| figure | target | measured | |", "| --- | --- | ---: | --- |"]
    for v in verdicts(results):
        lines.append(
            f"| {v.figure} | {v.target} | {v.measured} | {'pass' if v.passed else 'FAIL'} |"
        )
    return "\n".join(lines)


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH, like a developer's shell
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return head + (
        " (with uncommitted changes)"
        if git("status", "--porcelain", "--untracked-files=no")
        else ""
    )


def machine() -> str:
    import sqlite3

    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} CPU(s), {platform.machine()}{memory}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def header(options: Options) -> str:
    client = client_for(options)
    if client == "wrk":
        version = subprocess.run(
            ["wrk", "--version"],  # noqa: S607 - wrk from PATH
            capture_output=True,
            text=True,
            check=False,
        )
        tool = (version.stdout or version.stderr).splitlines()[0].split(" [")[0]
    else:
        tool = (
            "httpx stand-in (asked for with --client httpx)"
            if options.client == "httpx"
            else "httpx stand-in: wrk not found (apt-get install wrk)"
        ) + "; its own CPU cost bounds every figure, so they are not comparable with wrk's"
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return "\n".join(
        [
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine()}; load average {load} before the run",
            f"- commit: {commit()}",
            f"- load: {tool}; {options.connections} connections, {options.duration:g} s per "
            f"route after {options.warmup:g} s of warm-up; uvicorn --workers {options.workers}",
        ]
    )


def run(
    *,
    sizes: Sequence[int],
    databases: Sequence[str],
    database_url: str,
    options: Options,
) -> list[SizeResult]:
    if not sizes or min(sizes) <= 0:
        raise BenchError("--sizes must be positive product counts")
    if options.workers <= 0 or options.connections <= 0 or options.duration <= 0:
        raise BenchError("--workers, --connections and --duration must be positive")
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown or not databases:
        raise BenchError(f"--databases takes sqlite and/or postgresql, not {sorted(unknown)}")
    if "postgresql" in databases:
        postgres_dsn(database_url)  # refuse early, before any work
    print(header(options) + "\n", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="facet-bench-") as tmp:
        for database in databases:
            for products in sizes:
                name, url = (
                    ("PostgreSQL", database_url) if database == "postgresql" else ("SQLite", None)
                )
                result = bench_size(name, url, products, options, Path(tmp))
                results.append(result)
                print(format_size(result) + "\n", flush=True)
    print(format_verdicts(results), flush=True)
    return results
