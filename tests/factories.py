"""Typed helpers that build test data through the service layer or the API."""

from __future__ import annotations

import itertools
from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import Account, Role
from app.accounts.schemas import AccountCreate

DEFAULT_PASSWORD = "Emerald-Cut-Sparkle-42"
ADULT_DOB = date(1985, 6, 15)
_counter = itertools.count(1)


def unique_email(prefix: str = "customer") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def make_account(
    session: AsyncSession,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str = "Ada Lovelace",
    phone: str | None = None,
    role: Role = Role.customer,
) -> Account:
    data = AccountCreate(
        email=email or unique_email(),
        password=password,
        full_name=full_name,
        phone=phone,
        date_of_birth=ADULT_DOB,
    )
    account = await service.register(session, data, role=role)
    await session.commit()
    return account


async def login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def signed_in(
    client: httpx.AsyncClient, session: AsyncSession, *, role: Role = Role.customer
) -> tuple[Account, dict[str, str]]:
    """A new account and the Authorization header of a fresh login."""
    account = await make_account(session, role=role)
    tokens = await login(client, account.email)
    return account, bearer(tokens["access_token"])
