"""Marketing mail (P2): staff campaigns reach exactly the consenting subjects once, every
marketing message carries a one-click opt-out, the outbox re-checks consent at delivery,
and opt-out tokens cannot be forged or turned on another subject or purpose."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.accounts.verification import VERIFICATION_EMAIL_KIND
from app.adapters.mail.base import OutgoingEmail
from app.core.settings import Settings
from app.outbox.models import MessageCategory, MessageStatus, OutboxMessage
from app.outbox.service import run_once
from app.privacy import consent
from app.privacy.consent_models import CampaignRecipient, ConsentSource, Purpose
from app.privacy.subjects import account_subject, email_subject
from tests.factories import signed_in, unique_email
from tests.orders.conftest import place_order
from tests.privacy.consent_helpers import consents, messages, problem_type


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    async def send(self, message: OutgoingEmail) -> None:
        self.sent.append(message)

    async def close(self) -> None:
        return None


async def deliver(sessionmaker: async_sessionmaker[AsyncSession]) -> Recorder:
    recorder = Recorder()
    await run_once(sessionmaker, recorder, may_deliver=consent.may_deliver)
    return recorder


async def campaign(
    client: httpx.AsyncClient, staff: dict[str, str], purpose: str = "marketing_email"
) -> httpx.Response:
    return await client.post(
        "/v1/admin/campaigns",
        json={"purpose": purpose, "subject_line": "The winter collection", "text": "New rings."},
        headers=staff,
    )


def token_of(message: OutgoingEmail | OutboxMessage) -> str:
    headers = message.headers or {}
    link = headers["List-Unsubscribe"].strip("<>")
    return link.split("token=", 1)[1]


async def test_a_campaign_reaches_exactly_the_consenting_subjects_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    bound_app: FastAPI,
) -> None:
    settings: Settings = bound_app.state.settings
    _, staff = await signed_in(client, session, role=Role.staff)
    consenting, consenting_headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=consenting_headers)
    silent, _ = await signed_in(client, session)
    changed_mind, changed_headers = await signed_in(client, session)
    for granted in (True, False):
        await client.put(
            "/v1/me/consents", json={"marketing_email": granted}, headers=changed_headers
        )
    newsletter_only, newsletter_headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"newsletter": True}, headers=newsletter_headers)
    guest = unique_email("guest")
    await place_order(client, session, email=guest, marketing_opt_in=True)
    await place_order(client, session, email=guest, marketing_opt_in=True)  # asked twice
    await deliver(sessionmaker)  # the transactional mail so far

    bound_app.state.settings = settings.model_copy(update={"campaign_batch_size": 1})
    try:
        queued = await campaign(client, staff)
    finally:
        bound_app.state.settings = settings
    delivered = await deliver(sessionmaker)

    assert queued.status_code == 201, queued.text
    assert queued.json()["queued"] == 2
    assert sorted(m.to for m in delivered.sent) == sorted([consenting.email, guest])
    recipients = set(await session.scalars(select(CampaignRecipient.subject)))
    assert recipients == {account_subject(consenting.id), email_subject(settings, guest)}
    assert silent.email not in {m.to for m in delivered.sent}
    assert changed_mind.email not in {m.to for m in delivered.sent}
    assert newsletter_only.email not in {m.to for m in delivered.sent}


async def test_a_subject_is_queued_once_per_campaign(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    _, headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=headers)
    campaign_id = uuid.UUID((await campaign(client, staff)).json()["id"])
    subject = await session.scalar(select(CampaignRecipient.subject))

    session.add(CampaignRecipient(campaign_id=campaign_id, subject=subject))
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()


async def test_a_newsletter_campaign_reaches_confirmed_subscribers_only(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    bound_app: FastAPI,
) -> None:
    settings: Settings = bound_app.state.settings
    _, staff = await signed_in(client, session, role=Role.staff)
    subscriber = unique_email("reader")
    await consent.record_for_email(
        session, settings, subscriber, {Purpose.newsletter: True}, source=ConsentSource.newsletter
    )
    marketing_only, headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=headers)
    await session.commit()
    await deliver(sessionmaker)

    queued = await campaign(client, staff, purpose="newsletter")
    delivered = await deliver(sessionmaker)

    assert queued.json()["queued"] == 1
    assert [m.to for m in delivered.sent] == [subscriber]
    assert marketing_only.email not in {m.to for m in delivered.sent}


async def test_postal_and_phone_campaigns_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)

    for purpose in ("marketing_mail", "marketing_phone"):
        refused = await campaign(client, staff, purpose=purpose)
        assert refused.status_code == 422
        assert problem_type(refused) == "campaign-channel-unsupported"


async def test_campaigns_are_staff_only_and_listed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    _, customer = await signed_in(client, session)
    await campaign(client, staff)

    assert (await campaign(client, customer)).status_code == 403
    listed = await client.get("/v1/admin/campaigns", headers=staff)
    assert [c["subject_line"] for c in listed.json()["items"]] == ["The winter collection"]


# ---- delivery re-checks consent ----


async def test_a_withdrawal_between_queueing_and_delivery_stops_the_email(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    _, headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=headers)
    await deliver(sessionmaker)
    assert (await campaign(client, staff)).json()["queued"] == 1

    await client.put("/v1/me/consents", json={"marketing_email": False}, headers=headers)
    delivered = await deliver(sessionmaker)

    assert delivered.sent == []
    (message,) = await messages(session, kind="campaign")
    assert message.status == MessageStatus.suppressed
    assert message.sent_at is None


async def test_marketing_without_a_delivery_check_is_never_sent(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    _, headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=headers)
    await campaign(client, staff)

    recorder = Recorder()
    await run_once(sessionmaker, recorder)

    assert all(m.subject != "The winter collection" for m in recorder.sent)
    (message,) = await messages(session, kind="campaign")
    assert message.status == MessageStatus.suppressed


async def test_transactional_mail_is_never_blocked_by_a_withdrawal(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account, headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": False}, headers=headers)
    await client.post("/v1/me/email-verification", headers=headers)

    delivered = await deliver(sessionmaker)

    verification = [m for m in delivered.sent if m.to == account.email]
    assert len(verification) == 2  # at registration, and the re-send
    stored = await messages(session, kind=VERIFICATION_EMAIL_KIND, to=account.email)
    assert {m.category for m in stored} == {MessageCategory.transactional}
    assert {m.status for m in stored} == {MessageStatus.sent}


async def test_one_click_headers_are_on_marketing_mail_and_not_on_transactional_mail(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    account, headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=headers)
    await campaign(client, staff)

    delivered = await deliver(sessionmaker)

    (marketing,) = [m for m in delivered.sent if m.subject == "The winter collection"]
    transactional = [m for m in delivered.sent if m.subject != "The winter collection"]
    assert marketing.to == account.email
    assert marketing.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = marketing.headers["List-Unsubscribe"]
    assert link.startswith("<https://") or link.startswith("<http://")
    assert "/v1/privacy/opt-out/one-click?token=" in link
    assert account.email not in link
    assert token_of(marketing) in marketing.text  # the body carries it too
    assert transactional
    for message in transactional:
        assert "List-Unsubscribe" not in message.headers
        assert "List-Unsubscribe-Post" not in message.headers


# ---- opt-out tokens ----


async def marketing_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> tuple[str, dict[str, str]]:
    _, staff = await signed_in(client, session, role=Role.staff)
    _, headers = await signed_in(client, session)
    await client.put(
        "/v1/me/consents", json={"marketing_email": True, "newsletter": True}, headers=headers
    )
    await campaign(client, staff)
    (message,) = await messages(session, kind="campaign")
    return token_of(message), headers


async def test_the_one_click_link_withdraws_without_login_and_is_idempotent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token, headers = await marketing_token(client, session)

    answers = [
        await client.post(
            f"/v1/privacy/opt-out/one-click?token={token}",
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [204, 204]
    state = await consents(client, headers)
    assert state["marketing_email"] is False
    assert state["newsletter"] is True  # the link withdraws its own purpose only
    history = (await client.get("/v1/me/consents/history", headers=headers)).json()["items"]
    assert [e["source"] for e in history].count("opt_out_link") == 1


async def test_opting_out_of_all_withdraws_every_marketing_purpose(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token, headers = await marketing_token(client, session)

    response = await client.post("/v1/privacy/opt-out", json={"token": token, "purpose": "all"})

    assert response.status_code == 204
    state = await consents(client, headers)
    assert state["marketing_email"] is False
    assert state["newsletter"] is False


async def test_a_forged_opt_out_token_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token, headers = await marketing_token(client, session)
    payload, _, mac = token.partition(".")

    forged = [
        f"{payload}.{mac[:-2]}AA",
        payload,
        "not-a-token",
        f"{payload}.",
    ]
    answers = [await client.post("/v1/privacy/opt-out", json={"token": t}) for t in forged]

    assert {a.status_code for a in answers} == {422}
    assert {problem_type(a) for a in answers} == {"invalid-opt-out-token"}
    assert (await consents(client, headers))["marketing_email"] is True


async def test_a_token_cannot_be_turned_on_another_subject_or_purpose(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    token, headers = await marketing_token(client, session)
    victim, victim_headers = await signed_in(client, session)
    await client.put("/v1/me/consents", json={"marketing_email": True}, headers=victim_headers)
    _, _, mac = token.partition(".")
    other_subject = (
        base64.urlsafe_b64encode(f"{account_subject(victim.id)}|marketing_email".encode())
        .decode()
        .rstrip("=")
    )

    cross_subject = await client.post(
        "/v1/privacy/opt-out", json={"token": f"{other_subject}.{mac}"}
    )
    cross_purpose = await client.post(
        "/v1/privacy/opt-out", json={"token": token, "purpose": "newsletter"}
    )

    assert cross_subject.status_code == cross_purpose.status_code == 422
    assert (await consents(client, victim_headers))["marketing_email"] is True
    assert (await consents(client, headers))["newsletter"] is True


async def test_a_valid_token_of_an_unknown_subject_gets_the_same_answer(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    token, _ = await marketing_token(client, session)
    nobody = consent.opt_out_token(
        bound_app.state.settings,
        email_subject(bound_app.state.settings, "nobody@example.com"),
        Purpose.marketing_email,
    )

    known = await client.post("/v1/privacy/opt-out", json={"token": token})
    unknown = await client.post("/v1/privacy/opt-out", json={"token": nobody})

    assert known.status_code == unknown.status_code == 204
    assert known.content == unknown.content == b""
    count = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count is not None
