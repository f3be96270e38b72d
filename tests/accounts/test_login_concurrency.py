"""Login throttling under real concurrency: many attempts at once, each request in its own
committed transaction, the counters shared through the database (no Redis) or Redis, and
across two API processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import migrate
from app.core.ratelimit import DatabaseRateLimitBackend, RedisRateLimitBackend
from app.main import create_app
from tests.conftest import (
    REDIS_URL,
    TEST_JWT_SECRET,
    make_settings,
    recreate_pg_database,
    unavailable,
)
from tests.factories import DEFAULT_PASSWORD, make_account, unique_email

LIMIT = 5  # failures per (account, address) in a window, the default
BURST = 40
WRONG = "Not-The-Right-Password-1"


@asynccontextmanager
async def running_app(url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(url))
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def client_of(application: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # A fresh address per test, so no test meets another's per-address count.
    address = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=120
    ) as client:
        yield client


async def new_account_email(application: FastAPI) -> str:
    maker: async_sessionmaker[AsyncSession] = application.state.sessionmaker
    async with maker() as session:
        account = await make_account(session, email=unique_email(f"race{uuid.uuid4().hex[:8]}"))
    return account.email


async def login_burst(
    clients: list[httpx.AsyncClient], email: str, passwords: list[str]
) -> Counter[int]:
    """All attempts at once, spread over the clients in turn."""
    answers = await asyncio.gather(
        *(
            clients[i % len(clients)].post(
                "/v1/auth/token", data={"username": email, "password": password}
            )
            for i, password in enumerate(passwords)
        )
    )
    for answer in answers:
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) > 0
        else:
            assert answer.status_code in (200, 401), answer.text
    return Counter(a.status_code for a in answers)


async def assert_limit_holds_under_a_burst(clients: list[httpx.AsyncClient], email: str) -> None:
    statuses = await login_burst(clients, email, [WRONG] * BURST)
    # Each attempt is counted before its password is verified: at most LIMIT are verified.
    assert statuses[401] <= LIMIT, statuses
    assert statuses[429] == BURST - statuses[401], statuses

    # The limit is spent: a burst that includes the right password gets no token.
    statuses = await login_burst(clients, email, [DEFAULT_PASSWORD, WRONG] * 5)
    assert statuses == {429: 10}, statuses


@pytest.fixture(scope="module")
async def pg_url() -> str:
    name = os.environ.get("FACET_TEST_PG_DATABASE", "facet_test") + "_login_race"
    try:
        url = await recreate_pg_database(name)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", exc)
        raise
    await asyncio.to_thread(migrate, url)
    return url


@pytest.mark.postgres
async def test_concurrent_wrong_passwords_are_verified_at_most_limit_times_on_postgres(
    pg_url: str,
) -> None:
    async with running_app(pg_url) as application, client_of(application) as client:
        assert isinstance(application.state.rate_limit_backend, DatabaseRateLimitBackend)
        await assert_limit_holds_under_a_burst([client], await new_account_email(application))


async def test_concurrent_wrong_passwords_are_verified_at_most_limit_times_on_sqlite(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'login-race.db'}"
    await asyncio.to_thread(migrate, url)
    async with running_app(url) as application, client_of(application) as client:
        assert isinstance(application.state.rate_limit_backend, DatabaseRateLimitBackend)
        await assert_limit_holds_under_a_burst([client], await new_account_email(application))


async def test_database_counters_on_sqlite_never_wait_on_the_requests_own_lock(
    tmp_path: Path,
) -> None:
    # Every SQLite transaction takes the write lock: a counter written while the request's
    # session is open would wait 15 s and fail. Each throttled route, on its success path too.
    url = f"sqlite+aiosqlite:///{tmp_path / 'own-lock.db'}"
    await asyncio.to_thread(migrate, url)
    email = "own.lock@example.com"
    async with running_app(url) as application, client_of(application) as client:
        registered = await client.post(
            "/v1/accounts",
            json={
                "email": email,
                "password": DEFAULT_PASSWORD,
                "full_name": "Grace Hopper",
                "date_of_birth": "1980-12-09",
            },
        )
        assert registered.status_code == 201, registered.text
        wrong = await client.post("/v1/auth/token", data={"username": email, "password": WRONG})
        assert wrong.status_code == 401, wrong.text
        tokens = await client.post(
            "/v1/auth/token", data={"username": email, "password": DEFAULT_PASSWORD}
        )
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        renamed = await client.patch("/v1/me", json={"full_name": "G. Hopper"}, headers=headers)
        assert renamed.status_code == 200, renamed.text
        moved = await client.patch(
            "/v1/me",
            json={"email": "moved@example.com", "current_password": DEFAULT_PASSWORD},
            headers=headers,
        )
        assert moved.status_code == 200, moved.text
        changed = await client.post(
            "/v1/me/password",
            json={
                "current_password": DEFAULT_PASSWORD,
                "new_password": "Sapphire-Bezel-Setting-77",
            },
            headers=headers,
        )
        assert changed.status_code == 204, changed.text


@pytest.mark.postgres
async def test_concurrent_wrong_passwords_are_verified_at_most_limit_times_through_redis(
    pg_url: str,
) -> None:
    redis = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    prefix = f"facet-test:{uuid.uuid4().hex}:"
    try:
        async with running_app(pg_url) as application, client_of(application) as client:
            application.state.rate_limit_backend = RedisRateLimitBackend(redis, prefix=prefix)
            await assert_limit_holds_under_a_burst([client], await new_account_email(application))
    finally:
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


# --- two API processes, one PostgreSQL database, no Redis ----------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def two_api_processes(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two uvicorn processes serving the same database; yields their base URLs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="test",
        FACET_DATABASE_URL=pg_url,
        FACET_JWT_SECRET=TEST_JWT_SECRET,
        FACET_OUTBOX_IN_PROCESS="false",
        FACET_LOG_LEVEL="WARNING",
        FACET_MAIL_DIR=str(tmp_path_factory.mktemp("mail")),
    )
    ports = [free_port(), free_port()]
    processes = [start_api(port, env) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_until_serving(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_api(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(command, env=env, cwd=root)  # noqa: S603 - our interpreter, fixed args


def wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            pytest.fail(f"the API process exited with {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("the API process did not start")


@pytest.mark.postgres
async def test_login_limit_holds_across_two_api_processes_without_redis(
    two_api_processes: list[str],
) -> None:
    email = unique_email(f"procs{uuid.uuid4().hex[:8]}")
    async with (
        httpx.AsyncClient(base_url=two_api_processes[0], timeout=120) as first,
        httpx.AsyncClient(base_url=two_api_processes[1], timeout=120) as second,
    ):
        registered = await first.post(
            "/v1/accounts",
            json={
                "email": email,
                "password": DEFAULT_PASSWORD,
                "full_name": "Grace Hopper",
                "date_of_birth": "1980-12-09",
            },
        )
        assert registered.status_code == 201, registered.text
        await assert_limit_holds_under_a_burst([first, second], email)
