from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.core import security
from tests.factories import DEFAULT_PASSWORD, make_account

PROBLEM = "https://facet.example/problems/"


def registration(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "Grace.Hopper@Example.COM",
        "password": DEFAULT_PASSWORD,
        "full_name": "Grace Hopper",
        "phone": "+1 555 0100",
        "date_of_birth": "1980-12-09",
    }
    body.update(overrides)
    return body


async def count_accounts(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


async def test_register_returns_the_account_without_secrets(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/accounts", json=registration())
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "grace.hopper@example.com"
    assert body["full_name"] == "Grace Hopper"
    assert body["role"] == "customer"
    assert not {"password", "password_hash", "date_of_birth"} & body.keys()


async def test_register_under_18_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    today = date.today()
    seventeen = today.replace(year=today.year - 18) + timedelta(days=1)
    response = await client.post("/v1/accounts", json=registration(date_of_birth=str(seventeen)))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + "age-restricted"
    assert await count_accounts(session) == 0


async def test_register_on_18th_birthday_is_accepted(client: httpx.AsyncClient) -> None:
    today = date.today()
    try:
        birthday = today.replace(year=today.year - 18)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - 18, day=28)
    response = await client.post("/v1/accounts", json=registration(date_of_birth=str(birthday)))
    assert response.status_code == 201


async def test_register_duplicate_email_in_other_case_is_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session, email="grace.hopper@example.com")
    response = await client.post("/v1/accounts", json=registration())
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEM + "email-taken"
    assert await count_accounts(session) == 1


async def test_register_short_password_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/accounts", json=registration(password="short"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "password"]


async def test_register_common_password_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/v1/accounts", json=registration(password="password123"))
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM + "weak-password"
    assert await count_accounts(session) == 0


async def test_register_unknown_field_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/accounts", json=registration(role="staff"))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["type"] == "extra_forbidden"
    assert errors[0]["loc"] == ["body", "role"]


async def test_register_validation_error_does_not_echo_input(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/accounts", json=registration(email="not-an-email"))
    assert response.status_code == 422
    assert "not-an-email" not in response.text


async def test_account_table_holds_only_p1_personal_fields() -> None:
    pii = {c.name for c in Account.__table__.columns if c.info.get("pii")}
    assert pii == {"email", "full_name", "phone"}
    assert "date_of_birth" not in Account.__table__.columns


async def test_registration_over_the_per_address_limit_is_429_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    limit = bound_app.state.settings.registrations_per_ip_per_hour
    for n in range(limit):
        response = await client.post("/v1/accounts", json=registration(email=f"r{n}@example.com"))
        assert response.status_code == 201, response.text
    before = await count_accounts(session)

    response = await client.post("/v1/accounts", json=registration(email="one.more@example.com"))
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEM + "too-many-requests"
    assert int(response.headers["Retry-After"]) > 0
    assert await count_accounts(session) == before
    assert (
        await session.scalar(select(Account).where(Account.email == "one.more@example.com")) is None
    )


async def test_argon2_runs_in_worker_threads_not_on_the_event_loop(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []
    real_hasher = security._hasher

    class RecordingHasher:
        def hash(self, password: str) -> str:
            calls.append(("hash", threading.get_ident()))
            return real_hasher.hash(password)

        def verify(self, hash: str, password: str) -> bool:
            calls.append(("verify", threading.get_ident()))
            return real_hasher.verify(hash, password)

        def __getattr__(self, name: str) -> Any:
            return getattr(real_hasher, name)

    monkeypatch.setattr(security, "_hasher", RecordingHasher())
    loop_thread = threading.get_ident()
    email = "thread.check@example.com"
    assert (await client.post("/v1/accounts", json=registration(email=email))).status_code == 201
    await client.post("/v1/auth/token", data={"username": email, "password": DEFAULT_PASSWORD})
    await client.post("/v1/auth/token", data={"username": email, "password": "Wrong-Password-9"})

    assert [kind for kind, _ in calls] == ["hash", "verify", "verify"]
    assert all(thread != loop_thread for _, thread in calls)
