"""`facet bench`: how fast the catalog reads are, next to a bare route of the same app.

For each catalog size it builds a fresh database (a SQLite file, or the PostgreSQL database
given with `--database-url`, wiped first), seeds it, starts the app under uvicorn on
loopback in a subprocess, and drives it with an httpx load generator: N concurrent clients,
a bounded number of requests (and seconds) per route. It reports requests/s and p50/p99
latency for a filtered product list, a product detail and `/healthz`, each with its ratio
to `/healthz`. A measurement, not a test: the figures depend on the machine, and the load
generator shares it with the server.
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.cli import PROJECT_ROOT, migrate
from app.seed import seed

LIST_PATH = "/v1/products?metal=white_gold&limit=24"
BARE_PATH = "/healthz"
START_TIMEOUT_S = 60.0


class BenchError(RuntimeError):
    """The benchmark cannot run as asked."""


@dataclass(frozen=True)
class Measurement:
    label: str
    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_s: float  # the uvicorn process (not the database server's)
    client_cpu_s: float  # this process: the load generator

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per request: steadier than req/s on a machine doing other work."""
        return self.server_cpu_s * 1000 / max(self.ok + self.errors, 1)

    @property
    def client_cpu_ms(self) -> float:
        return self.client_cpu_s * 1000 / max(self.ok + self.errors, 1)


@dataclass(frozen=True)
class SizeResult:
    products: int
    backend: str
    seed_seconds: float
    seed_summary: str
    measurements: list[Measurement]
    # The 1-minute load average as the measurements end. The bench itself (client, server,
    # database) accounts for about 2 of it; more means other work skewed the figures.
    load_average: float


# ---- databases ----


def _postgres_dsn(database_url: str) -> tuple[str, str]:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise BenchError("--database-url must be a PostgreSQL URL (postgresql+asyncpg://...)")
    name = url.database or ""
    if "bench" not in name:
        # The database is wiped before each size: refuse anything that looks like real data.
        raise BenchError(
            f"refusing to wipe database {name!r}: use a scratch database whose name "
            "contains 'bench' (e.g. facet_bench)"
        )
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return dsn, name


async def _wipe_postgres(database_url: str) -> None:
    dsn, _ = _postgres_dsn(database_url)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def fresh_database(database_url: str | None, products: int, workdir: Path) -> str:
    """A migrated, empty database for one catalog size; returns its URL."""
    if database_url is None:
        path = workdir / f"bench-{products}.db"
        for stale in workdir.glob(f"{path.name}*"):
            stale.unlink()
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = database_url
        asyncio.run(_wipe_postgres(url))
    migrate(url)
    return url


# ---- the server ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(database_url: str, log_path: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "FACET_DATABASE_URL": database_url,
        "FACET_LOG_LEVEL": "WARNING",
        "FACET_ENV": "development",
    }
    command = [
        sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base_url, log_path)
        yield base_url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(base_url + BARE_PATH, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not start in {START_TIMEOUT_S:.0f} s")


# ---- the load generator ----


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; NaN elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(fraction * len(sorted_values)), 1)
    return sorted_values[rank - 1]


async def measure(
    clients: Sequence[httpx.AsyncClient],
    label: str,
    path: str,
    *,
    server_pid: int,
    requests: int,
    max_seconds: float,
) -> Measurement:
    """`requests` GETs of `path` (or fewer, if `max_seconds` runs out), one client each
    sending its next request as soon as the previous answer arrives."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    server_cpu, client_cpu = process_cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    stop_at = start + max_seconds

    async def one_client(client: httpx.AsyncClient) -> None:
        nonlocal issued, errors
        while issued < requests and time.perf_counter() < stop_at:
            issued += 1
            sent = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - sent)
            else:
                errors += 1

    await asyncio.gather(*(one_client(client) for client in clients))
    seconds = time.perf_counter() - start
    server_cpu = process_cpu_seconds(server_pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    latencies.sort()
    return Measurement(
        label=label,
        ok=len(latencies),
        errors=errors,
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        server_cpu_s=server_cpu,
        client_cpu_s=client_cpu,
    )


async def drive(
    base_url: str, server_pid: int, *, requests: int, concurrency: int, max_seconds: float
) -> list[Measurement]:
    # One client (and one keep-alive connection) per simulated user: a single shared
    # httpx pool costs several times more CPU per request at this concurrency, and the
    # load generator shares the machine with the server.
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url,
                    timeout=30,
                    limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                )
            )
            for _ in range(concurrency)
        ]
        listing = await clients[0].get(LIST_PATH)
        listing.raise_for_status()
        items = listing.json()["items"]
        if not items:
            raise BenchError("the product list is empty: nothing to measure")
        detail_path = f"/v1/products/{items[0]['slug']}"
        routes = [
            ("GET /healthz (bare)", BARE_PATH),
            (f"GET {LIST_PATH}", LIST_PATH),
            ("GET /v1/products/<slug>", detail_path),
        ]
        results = []
        for label, path in routes:
            warm_up = min(requests // 10 + 1, 200)
            await measure(
                clients, label, path, server_pid=server_pid, requests=warm_up, max_seconds=10
            )
            results.append(
                await measure(
                    clients,
                    label,
                    path,
                    server_pid=server_pid,
                    requests=requests,
                    max_seconds=max_seconds,
                )
            )
        return results


# ---- the report ----


def _ratio(value: float, bare: float) -> str:
    return f"{value / bare:.2f}x" if bare else "-"


def format_table(result: SizeResult) -> str:
    bare = result.measurements[0]
    header = (
        "| route | req/s | vs bare | p50 ms | vs bare | p99 ms | vs bare "
        "| server CPU ms/req | vs bare | client CPU ms/req | errors |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    rows = [
        f"| `{m.label}` | {m.rps:,.0f} | {_ratio(m.rps, bare.rps)} "
        f"| {m.p50_ms:.1f} | {_ratio(m.p50_ms, bare.p50_ms)} "
        f"| {m.p99_ms:.1f} | {_ratio(m.p99_ms, bare.p99_ms)} "
        f"| {m.server_cpu_ms:.2f} | {_ratio(m.server_cpu_ms, bare.server_cpu_ms)} "
        f"| {m.client_cpu_ms:.2f} | {m.errors:,} |"
        for m in result.measurements
    ]
    title = (
        f"{result.products:,} products on {result.backend}: seeded in "
        f"{result.seed_seconds:.1f} s ({result.seed_summary}); load average "
        f"{result.load_average:.2f} after the run"
    )
    return "\n".join([title, "", header, *rows])


def machine() -> str:
    return (
        f"{os.cpu_count()} CPU(s), {platform.machine()}, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def run(
    *,
    sizes: Sequence[int],
    database_url: str | None,
    requests: int,
    concurrency: int,
    max_seconds: float,
) -> list[SizeResult]:
    if not sizes or min(sizes) <= 0:
        raise BenchError("--sizes must be positive product counts")
    if requests <= 0 or concurrency <= 0:
        raise BenchError("--requests and --concurrency must be positive")
    if database_url is not None:
        _postgres_dsn(database_url)  # refuse early, before any work
    backend = "SQLite" if database_url is None else "PostgreSQL"
    print(f"facet bench: {machine()}")
    print(f"command: {shlex.join(['facet', *sys.argv[1:]]) if sys.argv else 'facet bench'}")
    print(f"{requests:,} requests per route, {concurrency} concurrent clients\n", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="facet-bench-") as tmp:
        workdir = Path(tmp)
        for products in sizes:
            url = fresh_database(database_url, products, workdir)
            started = time.perf_counter()
            summary = asyncio.run(seed(products=products, database_url=url))
            seed_seconds = time.perf_counter() - started
            with running_server(url, workdir / f"server-{products}.log") as (base_url, pid):
                measurements = asyncio.run(
                    drive(
                        base_url,
                        pid,
                        requests=requests,
                        concurrency=concurrency,
                        max_seconds=max_seconds,
                    )
                )
            result = SizeResult(
                products, backend, seed_seconds, summary, measurements, os.getloadavg()[0]
            )
            results.append(result)
            print(format_table(result) + "\n", flush=True)
    return results
