"""Staff list accounts; everyone else is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from tests.factories import make_account, signed_in

PROBLEM = "https://facet.example/problems/"
ACCOUNTS = "/v1/admin/accounts"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    return body


def forged_cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def walk(
    client: httpx.AsyncClient, headers: dict[str, str], **params: object
) -> list[list[str]]:
    """The ids of every page, following `next_cursor` to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(ACCOUNTS, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not terminate"


async def test_customer_is_refused_with_403(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    response = await client.get(ACCOUNTS, headers=headers)
    assert_problem(response, 403, "staff-only")


async def test_anonymous_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.get(ACCOUNTS)
    assert_problem(response, 401, "invalid-token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_staff_gets_a_page_of_accounts_without_secrets(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    customer = await make_account(session, email="listed@example.com")
    response = await client.get(ACCOUNTS, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [str(staff.id), str(customer.id)]
    listed = body["items"][1]
    assert (listed["email"], listed["role"]) == ("listed@example.com", "customer")
    for item in body["items"]:
        assert not {"password", "password_hash", "date_of_birth"} & item.keys()


async def test_cursor_walk_returns_every_account_once_in_creation_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    created = [staff] + [await make_account(session) for _ in range(4)]
    pages = await walk(client, headers, limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == [str(a.id) for a in created]


async def test_cursor_walk_with_a_page_size_dividing_the_total_ends_cleanly(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    created = [staff] + [await make_account(session) for _ in range(3)]
    pages = await walk(client, headers, limit=2)
    assert [i for page in pages for i in page] == [str(a.id) for a in created]
    assert all(pages), "no empty trailing page"


async def test_accounts_created_during_a_walk_are_not_skipped_or_repeated(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    created = [staff] + [await make_account(session) for _ in range(2)]
    first = (await client.get(ACCOUNTS, params={"limit": 2}, headers=headers)).json()
    created.append(await make_account(session))
    rest = await client.get(
        ACCOUNTS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    )
    seen = [i["id"] for i in first["items"]] + [i["id"] for i in rest.json()["items"]]
    assert seen == [str(a.id) for a in created]


@pytest.mark.parametrize("role", [Role.staff, Role.customer])
async def test_role_filter_lists_only_that_role(
    client: httpx.AsyncClient, session: AsyncSession, role: Role
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    other_staff = await make_account(session, role=Role.staff)
    customers = [await make_account(session) for _ in range(3)]
    expected = [staff, other_staff] if role == Role.staff else customers
    pages = await walk(client, headers, role=role.value, limit=1)
    assert [i for page in pages for i in page] == [str(a.id) for a in expected]


async def test_unknown_role_filter_is_422(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, headers = await signed_in(client, session, role=Role.staff)
    response = await client.get(ACCOUNTS, params={"role": "admin"}, headers=headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "role"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "bm90LWpzb24",  # "not-json"
        forged_cursor({"created_at": "2024-01-01"}),
        forged_cursor(["2024-01-01T00:00:00+00:00"]),
        forged_cursor(["not-a-date", "00000000-0000-0000-0000-000000000000"]),
        forged_cursor(["2024-01-01T00:00:00+00:00", "not-a-uuid"]),
        forged_cursor(["2024-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"]),
    ],
    ids=[
        "garbage",
        "not-json",
        "object",
        "short",
        "bad-date",
        "bad-id",
        "naive-date",
    ],
)
async def test_foreign_cursor_is_a_422_invalid_cursor_problem(
    client: httpx.AsyncClient, session: AsyncSession, cursor: str
) -> None:
    _, headers = await signed_in(client, session, role=Role.staff)
    response = await client.get(ACCOUNTS, params={"cursor": cursor}, headers=headers)
    assert_problem(response, 422, "invalid-cursor")


@pytest.mark.parametrize("limit", [0, -1, 101, "ten"])
async def test_limit_outside_1_to_100_is_422(
    client: httpx.AsyncClient, session: AsyncSession, limit: object
) -> None:
    _, headers = await signed_in(client, session, role=Role.staff)
    response = await client.get(ACCOUNTS, params={"limit": limit}, headers=headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("limit", [1, 100])
async def test_limit_at_the_bounds_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession, limit: int
) -> None:
    _, headers = await signed_in(client, session, role=Role.staff)
    response = await client.get(ACCOUNTS, params={"limit": limit}, headers=headers)
    assert response.status_code == 200, response.text


async def test_demoted_staff_is_refused_at_once_with_the_old_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    assert (await client.get(ACCOUNTS, headers=headers)).status_code == 200
    staff.role = Role.customer
    await session.commit()
    response = await client.get(ACCOUNTS, headers=headers)
    assert_problem(response, 403, "staff-only")


async def test_deactivated_staff_is_refused_with_the_old_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    staff, headers = await signed_in(client, session, role=Role.staff)
    staff.is_active = False
    await session.commit()
    response = await client.get(ACCOUNTS, headers=headers)
    assert_problem(response, 401, "invalid-token")
