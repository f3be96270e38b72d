"""The `facet` command an operator runs: staff accounts and the OpenAPI check."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import Account, Role
from app.cli import PROJECT_ROOT, migrate
from app.core.db import create_engine, create_sessionmaker
from app.core.security import verify_password
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import DEFAULT_PASSWORD, login, make_account

STAFF_EMAIL = "jeweller@example.com"

# app/cli.py `_create_staff` returns from inside `async for session in session_scope(...)`:
# the generator never resumes past its `yield`, so its commit never runs and the promotion
# or the new account is rolled back. Remove this marker once the CLI commits.


def run_facet(*args: str, database_url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env["FACET_DATABASE_URL"] = database_url
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def cli_database(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file that the CLI and the test both open."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    await asyncio.to_thread(migrate, url)
    return url


@pytest.fixture
async def cli_session(cli_database: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(cli_database)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def stored(session: AsyncSession, email: str) -> Account | None:
    session.expire_all()
    return await service.get_account_by_email(session, email)


async def test_create_staff_promotes_an_existing_customer(
    cli_database: str, cli_session: AsyncSession
) -> None:
    customer = await make_account(cli_session, email=STAFF_EMAIL)
    result = await asyncio.to_thread(
        run_facet, "create-staff", "Jeweller@Example.com", database_url=cli_database
    )
    assert result.returncode == 0, result.stderr
    assert str(customer.id) in result.stdout
    account = await stored(cli_session, STAFF_EMAIL)
    assert account is not None
    assert account.id == customer.id
    assert account.role == Role.staff
    assert verify_password(account.password_hash, DEFAULT_PASSWORD)  # password untouched


async def test_create_staff_creates_an_account_with_the_password_from_stdin(
    cli_database: str, cli_session: AsyncSession
) -> None:
    result = await asyncio.to_thread(
        run_facet,
        "create-staff",
        STAFF_EMAIL,
        "--name",
        "Grace Jeweller",
        database_url=cli_database,
        stdin=DEFAULT_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert DEFAULT_PASSWORD not in result.stdout + result.stderr
    account = await stored(cli_session, STAFF_EMAIL)
    assert account is not None
    assert account.role == Role.staff
    assert account.full_name == "Grace Jeweller"
    assert verify_password(account.password_hash, DEFAULT_PASSWORD)
    assert account.password_hash != DEFAULT_PASSWORD


async def test_new_staff_account_can_sign_in_and_list_accounts(cli_database: str) -> None:
    result = await asyncio.to_thread(
        run_facet,
        "create-staff",
        STAFF_EMAIL,
        database_url=cli_database,
        stdin=DEFAULT_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    app = create_app(make_settings(cli_database))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            tokens = await login(c, STAFF_EMAIL)
            response = await c.get(
                "/v1/admin/accounts",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
    assert response.status_code == 200, response.text
    assert [item["email"] for item in response.json()["items"]] == [STAFF_EMAIL]


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("password123", id="common"),
        pytest.param("short", id="short"),
        pytest.param("", id="empty"),
    ],
)
async def test_create_staff_with_a_bad_password_fails_and_stores_nothing(
    cli_database: str, cli_session: AsyncSession, password: str
) -> None:
    result = await asyncio.to_thread(
        run_facet, "create-staff", STAFF_EMAIL, database_url=cli_database, stdin=password + "\n"
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    if password:
        assert password not in result.stdout + result.stderr
    assert await stored(cli_session, STAFF_EMAIL) is None


def test_openapi_check_passes_on_the_committed_file() -> None:
    result = run_facet("openapi", "--check", database_url="sqlite+aiosqlite:///:memory:")
    assert result.returncode == 0, result.stderr
