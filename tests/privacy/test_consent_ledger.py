"""The consent ledger (P2, P5): the customer's choices, registration and checkout opt-ins,
email verification, and a guest's opt-in joining the account once it verifies the email."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.accounts.verification import VERIFICATION_EMAIL_KIND
from app.core.settings import Settings
from app.privacy.consent_models import ConsentEvent, ContactAddress
from app.privacy.subjects import account_subject, email_subject
from tests.factories import ADULT_DOB, DEFAULT_PASSWORD, bearer, login, signed_in, unique_email
from tests.orders.conftest import place_order
from tests.privacy.consent_helpers import consents, latest_token, messages, problem_type

PURPOSES = {
    "marketing_email",
    "marketing_mail",
    "marketing_phone",
    "newsletter",
    "testimonial_name",
}


async def register(client: httpx.AsyncClient, email: str, **extra: object) -> httpx.Response:
    body = {
        "email": email,
        "password": DEFAULT_PASSWORD,
        "full_name": "Grace Hopper",
        "date_of_birth": ADULT_DOB.isoformat(),
        **extra,
    }
    return await client.post("/v1/accounts", json=body)


async def registered(client: httpx.AsyncClient, email: str, **extra: object) -> dict[str, str]:
    response = await register(client, email, **extra)
    assert response.status_code == 201, response.text
    return bearer((await login(client, email))["access_token"])


async def verify(client: httpx.AsyncClient, session: AsyncSession, email: str) -> httpx.Response:
    token = await latest_token(session, kind=VERIFICATION_EMAIL_KIND, to=email)
    return await client.post("/v1/accounts/email-verification", json={"token": token})


# ---- the customer's own choices ----


async def test_everything_starts_withdrawn(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)

    state = await consents(client, headers)

    assert state == dict.fromkeys(PURPOSES, False)


async def test_choices_are_appended_to_the_ledger_with_source_and_policy_version(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)

    granted = await client.put(
        "/v1/me/consents", json={"marketing_email": True, "newsletter": True}, headers=headers
    )
    withdrawn = await client.put(
        "/v1/me/consents", json={"marketing_email": False}, headers=headers
    )
    history = await client.get("/v1/me/consents/history", headers=headers)

    assert granted.status_code == withdrawn.status_code == 200
    assert {i["purpose"]: i["granted"] for i in withdrawn.json()}["newsletter"] is True
    assert await consents(client, headers) == {**dict.fromkeys(PURPOSES, False), "newsletter": True}
    events = history.json()["items"]
    assert next((e["purpose"], e["granted"]) for e in events) == ("marketing_email", False)
    assert sorted((e["purpose"], e["granted"]) for e in events[1:]) == [
        ("marketing_email", True),
        ("newsletter", True),
    ]
    assert {e["source"] for e in events} == {"preferences"}
    assert {e["policy_version"] for e in events} == {1}
    stored = await session.scalar(
        select(func.count()).where(ConsentEvent.subject == account_subject(account.id))
    )
    assert stored == 3


async def test_repeating_a_choice_adds_no_event(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)

    for _ in range(2):
        await client.put("/v1/me/consents", json={"newsletter": True}, headers=headers)
    history = await client.get("/v1/me/consents/history", headers=headers)

    assert len(history.json()["items"]) == 1


async def test_unknown_or_missing_purposes_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)

    unknown = await client.put("/v1/me/consents", json={"telepathy": True}, headers=headers)
    empty = await client.put("/v1/me/consents", json={}, headers=headers)
    not_a_flag = await client.put("/v1/me/consents", json={"newsletter": 1}, headers=headers)

    assert unknown.status_code == empty.status_code == not_a_flag.status_code == 422


async def test_consent_history_is_paginated_newest_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    for granted in (True, False, True):
        await client.put("/v1/me/consents", json={"newsletter": granted}, headers=headers)

    first = (await client.get("/v1/me/consents/history?limit=2", headers=headers)).json()
    second = (
        await client.get(
            f"/v1/me/consents/history?limit=2&cursor={first['next_cursor']}", headers=headers
        )
    ).json()

    assert [e["granted"] for e in first["items"] + second["items"]] == [True, False, True]
    assert second["next_cursor"] is None


async def test_consents_need_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/me/consents")).status_code == 401


# ---- registration and checkout opt-ins ----


async def test_the_registration_opt_in_is_a_ledger_event(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ticked = await registered(client, unique_email(), marketing_opt_in=True)
    unticked = await registered(client, unique_email())

    assert (await consents(client, ticked))["marketing_email"] is True
    assert (await consents(client, unticked))["marketing_email"] is False
    history = (await client.get("/v1/me/consents/history", headers=ticked)).json()["items"]
    assert [e["source"] for e in history] == ["registration"]


async def test_a_signed_in_checkout_opt_in_grants_the_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _account, headers = await signed_in(client, session)

    await place_order(client, session, headers=headers, marketing_opt_in=True)

    assert (await consents(client, headers))["marketing_email"] is True
    history = (await client.get("/v1/me/consents/history", headers=headers)).json()["items"]
    assert [e["source"] for e in history] == ["checkout"]


async def test_a_guest_checkout_opt_in_is_held_against_the_keyed_email_hash(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    email = unique_email("guest")

    await place_order(client, session, email=email, marketing_opt_in=True)

    settings: Settings = bound_app.state.settings
    subject = email_subject(settings, email)
    events = list(await session.scalars(select(ConsentEvent)))
    assert [(e.subject, e.purpose, e.granted, e.source) for e in events] == [
        (subject, "marketing_email", True, "checkout")
    ]
    assert email not in subject  # the ledger holds no address
    contact = await session.get(ContactAddress, subject)
    assert contact is not None
    assert contact.email == email


# ---- email verification ----


async def test_registration_sends_a_verification_link_that_works_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = unique_email()
    headers = await registered(client, email)
    assert (await client.get("/v1/me", headers=headers)).json()["email_verified"] is False
    token = await latest_token(session, kind=VERIFICATION_EMAIL_KIND, to=email)

    first = await client.post("/v1/accounts/email-verification", json={"token": token})
    again = await client.post("/v1/accounts/email-verification", json={"token": token})
    forged = await client.post("/v1/accounts/email-verification", json={"token": token + "x"})

    assert first.status_code == 200
    assert first.json()["email_verified"] is True
    assert (await client.get("/v1/me", headers=headers)).json()["email_verified"] is True
    assert again.status_code == forged.status_code == 422
    assert problem_type(again) == "invalid-verification-token"


async def test_changing_the_email_clears_verification_and_voids_old_links(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email, new_email = unique_email(), unique_email()
    headers = await registered(client, email)
    old_token = await latest_token(session, kind=VERIFICATION_EMAIL_KIND, to=email)
    assert (await verify(client, session, email)).status_code == 200

    changed = await client.patch(
        "/v1/me",
        json={"email": new_email, "current_password": DEFAULT_PASSWORD},
        headers=headers,
    )
    stale = await client.post("/v1/accounts/email-verification", json={"token": old_token})

    assert changed.status_code == 200
    assert changed.json()["email_verified"] is False
    assert stale.status_code == 422
    assert (await verify(client, session, new_email)).json()["email_verified"] is True


async def test_verification_emails_can_be_resent_a_few_times_an_hour(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    email = unique_email()
    headers = await registered(client, email)
    allowed = bound_app.state.settings.email_verification_resends_per_hour

    answers = [
        (await client.post("/v1/me/email-verification", headers=headers)).status_code
        for _ in range(allowed + 1)
    ]

    assert answers == [204] * allowed + [429]
    assert len(await messages(session, kind=VERIFICATION_EMAIL_KIND, to=email)) == allowed + 1


# ---- a guest's opt-in joins the account once it verifies the email ----


async def test_a_guest_opt_in_joins_the_account_after_verification_not_before(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = unique_email("guest")
    await place_order(client, session, email=email, marketing_opt_in=True)
    headers = await registered(client, email)

    before = await consents(client, headers)
    assert (await verify(client, session, email)).status_code == 200
    after = await consents(client, headers)

    assert before["marketing_email"] is False
    assert after["marketing_email"] is True
    history = (await client.get("/v1/me/consents/history", headers=headers)).json()["items"]
    assert [(e["source"], e["granted"]) for e in history] == [("verified_email", True)]


async def test_the_accounts_own_later_choice_wins_over_an_older_guest_opt_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = unique_email("guest")
    await place_order(client, session, email=email, marketing_opt_in=True)
    headers = await registered(client, email, marketing_opt_in=True)
    await client.put("/v1/me/consents", json={"marketing_email": False}, headers=headers)

    await verify(client, session, email)

    assert (await consents(client, headers))["marketing_email"] is False


async def test_another_accounts_verification_does_not_take_a_guests_opt_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    guest_email, other_email = unique_email("guest"), unique_email()
    await place_order(client, session, email=guest_email, marketing_opt_in=True)
    headers = await registered(client, other_email)

    await verify(client, session, other_email)

    assert (await consents(client, headers))["marketing_email"] is False
    account = await session.scalar(select(Account).where(Account.email == other_email))
    assert account is not None
    assert account.email_verified_at is not None
