"""Schemathesis fuzzes every operation of the app's two OpenAPI documents, in process.

For each operation: no 5xx, responses conform to the schema, every status code is
documented. It runs against SQLite and PostgreSQL, signed in as staff, so the
private and admin operations are exercised past their authentication.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.accounts.authentication import start_session
from app.accounts.models import Role
from app.accounts.schemas import AccountCreate
from app.accounts.service import register
from app.cli import migrate
from app.core.db import create_engine, create_sessionmaker, session_scope
from app.core.security import create_access_token
from app.main import create_app
from tests.conftest import PG_TEST_DATABASE, make_settings, recreate_pg_database
from tests.factories import ADULT_DOB, DEFAULT_PASSWORD

MAX_EXAMPLES = 10

_sqlite_url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'contract.db'}"
_pg_url = "postgresql+asyncpg://postgres@127.0.0.1:5432/" + PG_TEST_DATABASE + "_contract"

sqlite_app = create_app(make_settings(_sqlite_url))
pg_app = create_app(make_settings(_pg_url))


def _load(app: object, url: str) -> schemathesis.schemas.BaseSchema:
    schema = schemathesis.openapi.from_asgi(url, app)
    schema.config.generation.update(max_examples=MAX_EXAMPLES)
    return schema


# Both published documents: the storefront's and the staff's.
sqlite_schema = _load(sqlite_app, "/openapi.json")
pg_schema = _load(pg_app, "/openapi.json")
sqlite_admin_schema = _load(sqlite_app, "/admin/openapi.json")
pg_admin_schema = _load(pg_app, "/admin/openapi.json")


async def _staff_token(url: str) -> str:
    app_settings = make_settings(url)
    engine = create_engine(url)
    try:
        async for session in session_scope(create_sessionmaker(engine)):
            account = await register(
                session,
                AccountCreate(
                    email="contract-staff@example.com",
                    password=DEFAULT_PASSWORD,
                    full_name="Contract Staff",
                    date_of_birth=ADULT_DOB,
                ),
                role=Role.staff,
            )
            login_session = await start_session(session, app_settings, account)
    finally:
        await engine.dispose()
    return create_access_token(
        app_settings, subject=account.id, role="staff", session_id=login_session.id
    ).token


@pytest.fixture(scope="module")
def sqlite_headers() -> dict[str, str]:
    migrate(_sqlite_url)
    return {"Authorization": f"Bearer {asyncio.run(_staff_token(_sqlite_url))}"}


@pytest.fixture(scope="module")
def pg_headers() -> dict[str, str]:
    from tests.conftest import unavailable

    try:
        url = asyncio.run(recreate_pg_database(PG_TEST_DATABASE + "_contract"))
    except OSError as exc:
        unavailable("PostgreSQL", exc)
        raise
    migrate(url)
    return {"Authorization": f"Bearer {asyncio.run(_staff_token(url))}"}


# Business rules a schema cannot state (age 18+, common passwords, current password)
# answer 422 to schema-valid data by design, so that one check is left out.
EXCLUDED = [positive_data_acceptance]

FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@sqlite_schema.parametrize()
@FUZZ
def test_contract_sqlite(case: schemathesis.Case, sqlite_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=sqlite_headers, excluded_checks=EXCLUDED)


@pg_schema.parametrize()
@FUZZ
def test_contract_postgres(case: schemathesis.Case, pg_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=pg_headers, excluded_checks=EXCLUDED)


@sqlite_admin_schema.parametrize()
@FUZZ
def test_admin_contract_sqlite(case: schemathesis.Case, sqlite_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=sqlite_headers, excluded_checks=EXCLUDED)


@pg_admin_schema.parametrize()
@FUZZ
def test_admin_contract_postgres(case: schemathesis.Case, pg_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=pg_headers, excluded_checks=EXCLUDED)
