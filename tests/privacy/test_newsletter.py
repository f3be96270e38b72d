"""The newsletter (P2, P9): double opt-in, answers that reveal nothing about an address,
a minor's request that stores nothing, and a per-address limit."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import EmailVerificationToken
from app.accounts.verification import purge_finished_tokens
from app.core.db import utcnow
from app.outbox.models import OutboxMessage
from app.privacy import consent
from app.privacy.consent_models import ConsentEvent, NewsletterConfirmation
from app.privacy.newsletter import (
    CONFIRMATION_KIND,
    UNSUBSCRIBE_KIND,
    purge_finished_confirmations,
)
from app.privacy.subjects import email_subject
from tests.factories import signed_in, unique_email
from tests.privacy.consent_helpers import consents, latest_token, messages, problem_type
from tests.privacy.test_consent_ledger import registered, verify


async def subscribe(client: httpx.AsyncClient, email: str, *, adult: bool = True) -> httpx.Response:
    return await client.post(
        "/v1/newsletter/subscriptions", json={"email": email, "is_adult": adult}
    )


async def confirm(client: httpx.AsyncClient, session: AsyncSession, email: str) -> httpx.Response:
    token = await latest_token(session, kind=CONFIRMATION_KIND, to=email)
    return await client.post("/v1/newsletter/confirm", json={"token": token})


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    return (a.status_code, a.content, a.headers.get("content-type")) == (
        b.status_code,
        b.content,
        b.headers.get("content-type"),
    )


async def test_subscribing_grants_nothing_until_the_link_is_followed(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    email = unique_email("reader")
    subject = email_subject(bound_app.state.settings, email)

    asked = await subscribe(client, email)
    assert asked.status_code == 204
    assert not await consent.holds(session, subject, "newsletter")

    confirmed = await confirm(client, session, email)
    replayed = await confirm(client, session, email)

    assert confirmed.status_code == 204
    assert await consent.holds(session, subject, "newsletter")
    assert replayed.status_code == 422
    assert problem_type(replayed) == "invalid-confirmation-token"


async def test_a_confirmed_address_of_a_verified_account_grants_the_account(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    email = unique_email()
    headers = await registered(client, email)
    await verify(client, session, email)

    await subscribe(client, email)
    await confirm(client, session, email)

    assert (await consents(client, headers))["newsletter"] is True
    hashed = email_subject(bound_app.state.settings, email)
    assert not await consent.holds(session, hashed, "newsletter")


async def test_subscription_answers_are_identical_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    known, _ = await signed_in(client, session)
    subscribed = unique_email("reader")
    await subscribe(client, subscribed)
    await confirm(client, session, subscribed)

    answers = [await subscribe(client, e) for e in (known.email, subscribed, unique_email())]

    assert same_answer(answers[0], answers[1])
    assert same_answer(answers[1], answers[2])


async def test_unsubscribe_answers_are_identical_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    subscribed, stranger = unique_email("reader"), unique_email("stranger")
    await subscribe(client, subscribed)
    await confirm(client, session, subscribed)

    known = await client.post("/v1/newsletter/unsubscribe", json={"email": subscribed})
    unknown = await client.post("/v1/newsletter/unsubscribe", json={"email": stranger})

    assert known.status_code == 204
    assert same_answer(known, unknown)
    assert len(await messages(session, kind=UNSUBSCRIBE_KIND, to=subscribed)) == 1
    assert await messages(session, kind=UNSUBSCRIBE_KIND, to=stranger) == []


async def test_the_mailed_unsubscribe_code_withdraws_the_newsletter(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    email = unique_email("reader")
    await subscribe(client, email)
    await confirm(client, session, email)
    await client.post("/v1/newsletter/unsubscribe", json={"email": email})
    token = await latest_token(session, kind=UNSUBSCRIBE_KIND, to=email)

    response = await client.post("/v1/newsletter/unsubscribe", json={"token": token})

    assert response.status_code == 204
    subject = email_subject(bound_app.state.settings, email)
    assert not await consent.holds(session, subject, "newsletter")


async def test_a_minors_request_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await subscribe(client, unique_email("young"), adult=False)

    assert response.status_code == 422
    assert problem_type(response) == "age-restricted"
    assert await count(session, NewsletterConfirmation) == 0
    assert await count(session, OutboxMessage) == 0
    assert await count(session, ConsentEvent) == 0


async def test_newsletter_requests_are_limited_per_client_address(
    client: httpx.AsyncClient, bound_app: FastAPI
) -> None:
    allowed = bound_app.state.settings.newsletter_requests_per_ip_per_hour

    answers = [(await subscribe(client, unique_email("r"))).status_code for _ in range(allowed)]
    over = await client.post("/v1/newsletter/unsubscribe", json={"email": unique_email()})

    assert answers == [204] * allowed
    assert over.status_code == 429
    assert "Retry-After" in over.headers


async def test_used_and_expired_email_links_are_purged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    confirmed, pending, expired = (unique_email("r") for _ in range(3))
    for email in (confirmed, pending, expired):
        await subscribe(client, email)
    await confirm(client, session, confirmed)
    await session.execute(
        update(NewsletterConfirmation)
        .where(NewsletterConfirmation.email == expired)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    account, _ = await signed_in(client, session)
    await session.execute(
        update(EmailVerificationToken)
        .where(EmailVerificationToken.account_id == account.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )

    purged = await purge_finished_confirmations(session) + await purge_finished_tokens(session)

    assert purged == 3
    left = list(await session.scalars(select(NewsletterConfirmation.email)))
    assert left == [pending]
    assert await count(session, EmailVerificationToken) == 0
