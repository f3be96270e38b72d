"""Login throttling under real concurrency: many attempts at once, each request in its own
committed transaction, the counters shared through the database (no Redis) or Redis. Across two API
processes: tests/test_scale_out.py."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from app.core.ratelimit import DatabaseRateLimitBackend, RedisRateLimitBackend
from tests.factories import DEFAULT_PASSWORD, make_account, unique_email
from tests.realdb import (
    dedicated_pg_database,
    dedicated_sqlite_database,
    http_client,
    running_app,
    sessions,
)

LIMIT = 5  # failures per (account, address) in a window, the default
BURST = 40
WRONG = "Not-The-Right-Password-1"


def client_of(application: FastAPI) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    # A fresh address per test, so no test meets another's per-address count.
    return http_client(application, fresh_address=True)


async def new_account_email(application: FastAPI) -> str:
    async with sessions(application)() as session:
        account = await make_account(session, email=unique_email(f"race{uuid.uuid4().hex[:8]}"))
    return account.email


async def register(client: httpx.AsyncClient, email: str) -> None:
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
    return await dedicated_pg_database("_login_race")


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
    url = await dedicated_sqlite_database(tmp_path, "login-race.db")
    async with running_app(url) as application, client_of(application) as client:
        assert isinstance(application.state.rate_limit_backend, DatabaseRateLimitBackend)
        await assert_limit_holds_under_a_burst([client], await new_account_email(application))


async def test_database_counters_on_sqlite_never_wait_on_the_requests_own_lock(
    tmp_path: Path,
) -> None:
    # Every SQLite transaction takes the write lock: a counter written while the request's
    # session is open would wait 15 s and fail. Each throttled route, on its success path too.
    url = await dedicated_sqlite_database(tmp_path, "own-lock.db")
    email = "own.lock@example.com"
    async with running_app(url) as application, client_of(application) as client:
        await register(client, email)
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
    pg_url: str, redis_client: tuple[Redis, str]
) -> None:
    redis, prefix = redis_client
    async with running_app(pg_url) as application, client_of(application) as client:
        application.state.rate_limit_backend = RedisRateLimitBackend(redis, prefix=prefix)
        await assert_limit_holds_under_a_burst([client], await new_account_email(application))
