"""Dedicated databases and apps for real-commit tests: unlike the per-test rolled-back
connection of conftest.py, every request here commits in its own transaction, so tests of
concurrency see what other transactions really see."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cli import migrate
from app.main import create_app
from tests.conftest import PG_TEST_DATABASE, make_settings, recreate_pg_database, unavailable


async def dedicated_pg_database(suffix: str) -> str:
    """A new, migrated PostgreSQL database named after this run's test database + `suffix`."""
    try:
        url = await recreate_pg_database(PG_TEST_DATABASE + suffix)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", exc)
        raise
    await asyncio.to_thread(migrate, url)  # alembic's env runs its own event loop
    return url


async def dedicated_sqlite_database(folder: Path, filename: str) -> str:
    """A new, migrated SQLite database file in `folder`."""
    url = f"sqlite+aiosqlite:///{folder / filename}"
    await asyncio.to_thread(migrate, url)
    return url


@asynccontextmanager
async def running_app(url: str, **settings: object) -> AsyncIterator[FastAPI]:
    """The app over `url`, started and stopped; `settings` override the test settings."""
    application = create_app(make_settings(url, **settings))
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def http_client(
    application: FastAPI, *, fresh_address: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app in-process; `fresh_address` makes it call from an address no other
    client uses, so per-address counts start at zero."""
    client_address = ("127.0.0.1", 123)  # httpx's default
    if fresh_address:
        client_address = (f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}", 40000)
    transport = httpx.ASGITransport(app=application, client=client_address)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=120
    ) as client:
        yield client


def sessions(application: FastAPI) -> async_sessionmaker[AsyncSession]:
    """The app's own sessionmaker: each session commits for real."""
    maker: async_sessionmaker[AsyncSession] = application.state.sessionmaker
    return maker
