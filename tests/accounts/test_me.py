"""The signed-in customer reads and rectifies their own profile and addresses."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, Address, Role
from tests.factories import DEFAULT_PASSWORD, bearer, login, make_account, signed_in

PROBLEM = "https://facet.example/problems/"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    return body


def address(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "full_name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    }
    body.update(overrides)
    return body


async def reload(session: AsyncSession, account: Account) -> Account:
    fresh = await session.get(Account, account.id, populate_existing=True)
    assert fresh is not None
    return fresh


async def count_addresses(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Address)) or 0)


async def add_address(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: object
) -> dict[str, Any]:
    response = await client.post("/v1/me/addresses", json=address(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def defaults(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, bool]:
    response = await client.get("/v1/me/addresses", headers=headers)
    assert response.status_code == 200
    return {a["id"]: a["is_default"] for a in response.json()}


# --- profile ---------------------------------------------------------------------------


async def test_me_returns_the_signed_in_account_without_secrets(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(account.id)
    assert body["email"] == account.email
    assert body["role"] == "customer"
    assert not {"password", "password_hash", "date_of_birth", "is_active"} & body.keys()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}],
    ids=["no-token", "garbage-token", "basic-auth"],
)
async def test_me_without_a_valid_token_is_401_with_bearer_challenge(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/me", headers=headers)
    assert_problem(response, 401, "invalid-token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_in_query_string_is_not_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    token = headers["Authorization"].removeprefix("Bearer ")
    response = await client.get("/v1/me", params={"access_token": token, "token": token})
    assert_problem(response, 401, "invalid-token")


async def test_patch_me_rectifies_name_and_phone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    response = await client.patch(
        "/v1/me",
        json={"full_name": "Augusta Ada King", "phone": "+44 20 7946 0000"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Augusta Ada King"
    assert response.json()["phone"] == "+44 20 7946 0000"
    stored = await reload(session, account)
    assert (stored.full_name, stored.phone) == ("Augusta Ada King", "+44 20 7946 0000")
    assert (await client.get("/v1/me", headers=headers)).json()["full_name"] == "Augusta Ada King"


async def test_patch_me_can_remove_the_phone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session, phone="+1 555 0100")
    headers = bearer((await login(client, account.email))["access_token"])
    response = await client.patch("/v1/me", json={"phone": None}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["phone"] is None
    assert (await reload(session, account)).phone is None


async def test_patch_me_with_null_name_keeps_the_name(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    response = await client.patch("/v1/me", json={"full_name": None}, headers=headers)
    assert response.status_code == 200, response.text
    assert (await reload(session, account)).full_name == "Ada Lovelace"


@pytest.mark.parametrize(
    "extra",
    [{}, {"current_password": "Wrong-Password-123"}],
    ids=["no-password", "wrong-password"],
)
async def test_email_change_without_the_right_current_password_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, extra: dict[str, str]
) -> None:
    account, headers = await signed_in(client, session)
    old_email = account.email
    response = await client.patch(
        "/v1/me",
        json={"email": "new.address@example.com", "full_name": "Someone Else", **extra},
        headers=headers,
    )
    assert_problem(response, 422, "current-password-required")
    stored = await reload(session, account)
    assert stored.email == old_email
    assert stored.full_name == "Ada Lovelace"  # nothing of the request was applied


async def test_email_change_with_current_password_moves_the_login(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    old_email = account.email
    response = await client.patch(
        "/v1/me",
        json={"email": "New.Address@Example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "new.address@example.com"
    assert (await reload(session, account)).email == "new.address@example.com"
    await login(client, "new.address@example.com")
    old = await client.post(
        "/v1/auth/token", data={"username": old_email, "password": DEFAULT_PASSWORD}
    )
    assert old.status_code == 401


async def test_same_email_in_other_case_needs_no_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    response = await client.patch("/v1/me", json={"email": account.email.upper()}, headers=headers)
    assert response.status_code == 200, response.text
    assert (await reload(session, account)).email == account.email


async def test_email_change_to_another_accounts_email_is_409(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    other = await make_account(session, email="taken@example.com")
    account, headers = await signed_in(client, session)
    old_email = account.email
    response = await client.patch(
        "/v1/me",
        json={"email": "TAKEN@example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert_problem(response, 409, "email-taken")
    assert (await reload(session, account)).email == old_email
    assert (await reload(session, other)).email == "taken@example.com"


async def test_patch_me_refuses_unknown_fields_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    response = await client.patch(
        "/v1/me",
        json={
            "full_name": "Mallory",
            "role": "staff",
            "id": str(uuid.uuid4()),
            "created_at": "2000-01-01T00:00:00Z",
            "password_hash": "$argon2id$forged",
        },
        headers=headers,
    )
    body = assert_problem(response, 422, "validation-error")
    rejected = {tuple(e["loc"]) for e in body["errors"] if e["type"] == "extra_forbidden"}
    assert rejected == {
        ("body", "role"),
        ("body", "id"),
        ("body", "created_at"),
        ("body", "password_hash"),
    }
    stored = await reload(session, account)
    assert stored.role == Role.customer
    assert stored.full_name == "Ada Lovelace"
    assert (await client.get("/v1/me", headers=headers)).json()["role"] == "customer"
    await login(client, account.email)  # the password still works


# --- addresses -------------------------------------------------------------------------


async def test_first_address_becomes_the_default(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    first = await add_address(client, headers)
    assert first["is_default"] is True
    assert first["country"] == "GB"
    second = await add_address(client, headers, line1="1 Infinite Loop", city="Cupertino")
    assert second["is_default"] is False
    assert await defaults(client, headers) == {first["id"]: True, second["id"]: False}


async def test_addresses_are_listed_in_creation_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    ids = [(await add_address(client, headers, line1=f"{n} Main Street"))["id"] for n in range(3)]
    response = await client.get("/v1/me/addresses", headers=headers)
    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == ids


async def test_patch_address_rectifies_it(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, headers = await signed_in(client, session)
    created = await add_address(client, headers)
    response = await client.patch(
        f"/v1/me/addresses/{created['id']}",
        json={"line1": "13 St James's Square", "line2": "Flat 2"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["line1"], body["line2"], body["city"]) == (
        "13 St James's Square",
        "Flat 2",
        "London",
    )
    listed = (await client.get("/v1/me/addresses", headers=headers)).json()
    assert listed[0]["line1"] == "13 St James's Square"


async def test_new_default_address_clears_the_previous_default(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    first = await add_address(client, headers)
    second = await add_address(client, headers, is_default=True)
    assert await defaults(client, headers) == {first["id"]: False, second["id"]: True}


async def test_setting_another_address_default_clears_the_previous_default(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    first = await add_address(client, headers)
    second = await add_address(client, headers, line1="1 Infinite Loop")
    response = await client.patch(
        f"/v1/me/addresses/{second['id']}", json={"is_default": True}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert await defaults(client, headers) == {first["id"]: False, second["id"]: True}


async def test_default_change_leaves_other_customers_defaults_alone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, alice = await signed_in(client, session)
    _, bob = await signed_in(client, session)
    bobs = await add_address(client, bob)
    await add_address(client, alice)
    await add_address(client, alice, is_default=True)
    assert await defaults(client, bob) == {bobs["id"]: True}


async def test_deleted_address_is_gone(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, headers = await signed_in(client, session)
    created = await add_address(client, headers)
    path = f"/v1/me/addresses/{created['id']}"
    response = await client.delete(path, headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.delete(path, headers=headers), 404, "address-not-found")
    assert_problem(
        await client.patch(path, json={"city": "Paris"}, headers=headers), 404, "address-not-found"
    )
    assert (await client.get("/v1/me/addresses", headers=headers)).json() == []
    assert await count_addresses(session) == 0


async def test_another_customers_address_is_not_found_and_untouched(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, owner = await signed_in(client, session)
    _, intruder = await signed_in(client, session)
    theirs = await add_address(client, owner)
    path = f"/v1/me/addresses/{theirs['id']}"

    patched = await client.patch(path, json={"city": "Elsewhere"}, headers=intruder)
    deleted = await client.delete(path, headers=intruder)
    unknown = await client.delete(f"/v1/me/addresses/{uuid.uuid4()}", headers=intruder)

    # Indistinguishable from an address that does not exist.
    for response in (patched, deleted):
        assert_problem(response, 404, "address-not-found")
        assert response.json()["title"] == unknown.json()["title"]
    assert (await client.get("/v1/me/addresses", headers=intruder)).json() == []
    assert (await client.get("/v1/me/addresses", headers=owner)).json() == [theirs]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_unknown_address_id_is_404(
    client: httpx.AsyncClient, session: AsyncSession, method: str
) -> None:
    _, headers = await signed_in(client, session)
    await add_address(client, headers)
    response = await client.request(
        method, f"/v1/me/addresses/{uuid.uuid4()}", json={"city": "Paris"}, headers=headers
    )
    assert_problem(response, 404, "address-not-found")


async def test_malformed_address_id_is_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    response = await client.delete("/v1/me/addresses/not-a-uuid", headers=headers)
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["path", "address_id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "GBR"),
        ("country", "1X"),
        ("country", ""),
        ("postal_code", "SW1Y<script>"),
        ("postal_code", "X"),
        ("postal_code", "1" * 21),
    ],
)
async def test_invalid_address_is_422_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, field: str, value: str
) -> None:
    _, headers = await signed_in(client, session)
    response = await client.post(
        "/v1/me/addresses", json=address(**{field: value}), headers=headers
    )
    body = assert_problem(response, 422, "validation-error")
    assert ["body", field] in [e["loc"] for e in body["errors"]]
    assert await count_addresses(session) == 0


async def test_invalid_address_rectification_is_422_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    created = await add_address(client, headers)
    response = await client.patch(
        f"/v1/me/addresses/{created['id']}", json={"country": "United Kingdom"}, headers=headers
    )
    assert_problem(response, 422, "validation-error")
    assert (await client.get("/v1/me/addresses", headers=headers)).json() == [created]


async def test_address_refuses_unknown_fields(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    other = await make_account(session)
    response = await client.post(
        "/v1/me/addresses", json=address(account_id=str(other.id)), headers=headers
    )
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["type"] == "extra_forbidden"
    assert await count_addresses(session) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/me/addresses"),
        ("POST", "/v1/me/addresses"),
        ("PATCH", f"/v1/me/addresses/{uuid.UUID(int=1)}"),
        ("DELETE", f"/v1/me/addresses/{uuid.UUID(int=1)}"),
        ("PATCH", "/v1/me"),
    ],
)
async def test_addresses_need_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    json_body = address() if method in {"POST", "PATCH"} else None
    response = await client.request(method, path, json=json_body)
    assert_problem(response, 401, "invalid-token")
    assert response.headers["www-authenticate"] == "Bearer"


# --- current-password re-checks are throttled like logins ------------------------------------

WRONG = "Wrong-Password-123"
NEW_PASSWORD = "Sapphire-Bezel-Setting-77"


def assert_throttled(response: httpx.Response) -> None:
    assert_problem(response, 429, "too-many-requests")
    assert int(response.headers["Retry-After"]) > 0


async def test_wrong_current_password_on_password_change_is_throttled(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    for _ in range(5):
        response = await client.post(
            "/v1/me/password",
            json={"current_password": WRONG, "new_password": NEW_PASSWORD},
            headers=headers,
        )
        assert_problem(response, 422, "current-password-required")

    # Even the right password is not checked any more in this window.
    response = await client.post(
        "/v1/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert_throttled(response)
    fresh = await reload(session, account)
    assert (await login(client, fresh.email))["access_token"]  # the old password still works


async def test_wrong_current_password_on_email_change_is_throttled(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    for _ in range(5):
        response = await client.patch(
            "/v1/me",
            json={"email": "thief@example.com", "current_password": WRONG},
            headers=headers,
        )
        assert_problem(response, 422, "current-password-required")

    response = await client.patch(
        "/v1/me",
        json={"email": "thief@example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert_throttled(response)
    assert (await reload(session, account)).email == account.email


async def test_profile_edits_without_a_password_neither_count_nor_get_throttled(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    for n in range(8):  # more than the limit: none of them checks a password
        response = await client.patch("/v1/me", json={"full_name": f"Ada {n}"}, headers=headers)
        assert response.status_code == 200, response.text
    changed = await client.patch(
        "/v1/me",
        json={"email": "ada.new@example.com", "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text

    for _ in range(5):
        await client.patch(
            "/v1/me", json={"email": "x@example.com", "current_password": WRONG}, headers=headers
        )
    # Once the limit is spent, an edit that checks no password still goes through.
    response = await client.patch("/v1/me", json={"phone": "+1 555 0142"}, headers=headers)
    assert response.status_code == 200, response.text
