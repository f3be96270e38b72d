"""Test harness: every database test runs on SQLite and on PostgreSQL.

Each backend gets one database per test session, built by running the Alembic
migrations. Each test runs inside a transaction that is rolled back, so tests
see an empty database and leave nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.cli import migrate
from app.core.db import create_engine
from app.core.http_cache import AnswerCache
from app.core.ratelimit import MemoryRateLimitBackend
from app.core.settings import Settings
from app.main import create_app
from tests.declared_problems import DeclaredProblems, check_response

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_DSN = os.environ.get(
    "FACET_TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_TEST_DATABASE = os.environ.get("FACET_TEST_PG_DATABASE", "facet_test")
REDIS_URL = os.environ.get("FACET_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def unavailable(service: str, reason: object) -> None:
    """A missing service skips locally, but fails the run in CI."""
    message = f"{service} is not available: {reason}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


async def recreate_pg_database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "redis_url": None,
        "log_level": "INFO",
        # Tests drive the outbox worker themselves.
        "outbox_in_process": False,
        # ... and flush the technical-data counts themselves.
        "technical_data_flush_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def redis_client() -> AsyncIterator[tuple[Redis, str]]:
    """A client of the test Redis database and a key prefix no other run uses; the keys
    under the prefix are deleted after."""
    redis = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    prefix = f"facet-test:{uuid.uuid4().hex}:"
    try:
        yield redis, prefix
    finally:
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@pytest.fixture(scope="session")
def pg_database_url() -> str:
    try:
        return asyncio.run(recreate_pg_database(PG_TEST_DATABASE))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", exc)
        raise


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A freshly migrated database of each backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "facet.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_database_url")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
async def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Commits inside the app only release a savepoint; the test's rollback undoes all.
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def bound_app(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]) -> Iterator[FastAPI]:
    """The session-wide app, talking to this test's transaction with fresh throttles."""
    saved = app.state.sessionmaker, app.state.rate_limit_backend, app.state.catalog_cache
    app.state.sessionmaker = sessionmaker
    app.state.rate_limit_backend = MemoryRateLimitBackend()
    # Each test's rollback rewinds the catalog version, so answers cached by an earlier
    # test could match a later one's version.
    app.state.catalog_cache = AnswerCache(entries=1000, seconds=60)
    try:
        yield app
    finally:
        (app.state.sessionmaker, app.state.rate_limit_backend, app.state.catalog_cache) = saved


@pytest.fixture
async def client(bound_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=bound_app, client=("203.0.113.7", 50000))
    checker = DeclaredProblems(bound_app.state.complete_openapi())

    async def answers_as_declared(response: httpx.Response) -> None:
        await check_response(checker, response)

    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks={"response": [answers_as_declared]},
    ) as c:
        yield c
