"""Tell-a-friend referrals (P6, P9) on both databases, through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.adapters.payments.fake import FakePaymentProvider
from app.core.db import utcnow
from app.housekeeping import housekeeping
from app.orders.models import Order
from app.outbox.models import MessageStatus
from app.privacy.registry import Subject
from app.referrals.models import Referral, ReferralStatus, ReferralSuppression
from app.referrals.privacy import ReferralsPersonalData
from app.referrals.service import purge_served
from tests.factories import ADULT_DOB, signed_in
from tests.orders.conftest import place_order, problem_type
from tests.referrals.helpers import code_in, columns_holding, invitations, refer, removal_token

FRIEND = "grace.friend@example.org"


@contextmanager
def settings_changed(app: FastAPI, **changes: Any) -> Iterator[None]:
    original = app.state.settings
    app.state.settings = original.model_copy(update=changes)
    try:
        yield
    finally:
        app.state.settings = original


async def referral_rows(session: AsyncSession) -> list[Referral]:
    return list(await session.scalars(select(Referral)))


async def test_a_referral_queues_one_invitation_with_the_code_and_a_removal_link(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    referrer, headers = await signed_in(client, session)
    response = await refer(client, headers, FRIEND, message="You would love the rings.")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}

    (invitation,) = await invitations(session)
    assert invitation.recipient == FRIEND
    code = (await client.get("/v1/me/referral-code", headers=headers)).json()["code"]
    assert code_in(invitation.body) == code
    assert "You would love the rings." in invitation.body
    assert removal_token(invitation.body)
    (row,) = await referral_rows(session)
    assert (row.referrer_id, row.status, row.friend_email) == (
        referrer.id, ReferralStatus.invited, FRIEND,
    )  # fmt: skip


async def my_referrals(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/v1/me/referrals", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def shape(referral: dict[str, Any]) -> dict[str, Any]:
    """What a referrer can read off a referral, less its own id and time."""
    return {k: v for k, v in referral.items() if k not in {"id", "created_at"}}


async def test_a_second_referral_of_an_address_sends_nothing_and_answers_the_same(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, first = await signed_in(client, session)
    _, second = await signed_in(client, session)
    answers = [
        await refer(client, first, FRIEND),
        await refer(client, second, FRIEND.upper()),
        await refer(client, first, f"  {FRIEND} "),
    ]
    assert [(a.status_code, a.json()) for a in answers] == [(202, {"status": "accepted"})] * 3
    assert len(await invitations(session)) == 1
    # One referral per referrer: naming the address again adds nothing to the first's list.
    assert len(await referral_rows(session)) == 2
    assert len(await my_referrals(client, first)) == 1


async def test_referrers_of_one_address_each_see_their_referral_looking_the_same(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The list must not tell the second referrer that the address was already known."""
    _, first = await signed_in(client, session)
    _, second = await signed_in(client, session)
    await refer(client, first, FRIEND)
    await refer(client, second, FRIEND)
    await refer(client, second, "new.friend@example.org", friend_name="Ada Byron")

    (firsts,) = await my_referrals(client, first)
    known, fresh = sorted(await my_referrals(client, second), key=lambda r: r["friend_email"])
    assert shape(known) == shape(firsts) == {
        "status": "invited", "converted_at": None,
        "friend_name": "Grace Hopper", "friend_email": FRIEND,
    }  # fmt: skip
    assert shape(fresh) == {**shape(known), "friend_name": "Ada Byron",
                            "friend_email": "new.friend@example.org"}  # fmt: skip
    assert len(await invitations(session)) == 2


async def test_a_referral_of_a_removed_address_is_listed_but_stores_nothing_of_the_friend(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, first = await signed_in(client, session)
    _, later = await signed_in(client, session)
    await refer(client, first, FRIEND)
    (invitation,) = await invitations(session)
    await client.post("/v1/referrals/removal", json={"token": removal_token(invitation.body)})

    for _ in range(2):  # naming it again still makes one referral
        again = await refer(client, later, FRIEND, key=uuid.uuid4().hex)
        assert (again.status_code, again.json()) == (202, {"status": "accepted"})
    (mine,) = await my_referrals(client, later)
    # Listed as invited, like any referral; without the friend, as once its window passed.
    assert shape(mine) == {"status": "invited", "converted_at": None,
                           "friend_name": None, "friend_email": None}  # fmt: skip
    assert await invitations(session) == []  # the queued one was dropped on removal
    assert await columns_holding(session, FRIEND) == []
    assert await columns_holding(session, "Grace Hopper") == []


async def test_a_minors_referral_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    response = await refer(client, headers, FRIEND, is_adult=False)
    assert response.status_code == 422
    assert problem_type(response) == "age-restricted"
    assert await referral_rows(session) == []
    assert await invitations(session) == []
    assert await columns_holding(session, FRIEND) == []


async def test_a_message_with_a_link_or_html_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    for message in ("see https://evil.example", "<b>hi</b>", "go to www.x.com", "x.ru/promo"):
        response = await refer(client, headers, FRIEND, message=message)
        assert response.status_code == 422, message
        assert problem_type(response) == "referral-message-refused"
    too_long = await refer(client, headers, FRIEND, message="a" * 501)
    assert too_long.status_code == 422
    assert await referral_rows(session) == []
    assert await columns_holding(session, FRIEND) == []


async def test_removal_deletes_the_friends_data_and_no_later_referral_sends_or_stores(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    _, second = await signed_in(client, session)
    _, other = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    await refer(client, second, FRIEND.upper(), friend_name="Gracie")
    (invitation,) = await invitations(session)
    token = removal_token(invitation.body)

    for _ in range(2):  # idempotent
        removed = await client.post("/v1/referrals/removal", json={"token": token})
        assert removed.status_code == 204, removed.text
    assert await session.scalar(select(func.count()).select_from(ReferralSuppression)) == 1
    # Gone from every referrer's referral, not only the one whose invitation was sent.
    assert await columns_holding(session, FRIEND) == []
    assert await columns_holding(session, "Gracie") == []
    for referrer in (headers, second):
        (mine,) = await my_referrals(client, referrer)
        assert (mine["status"], mine["friend_name"], mine["friend_email"]) == (
            "removed", None, None,
        )  # fmt: skip

    again = await refer(client, other, FRIEND)
    assert (again.status_code, again.json()) == (202, {"status": "accepted"})
    assert await invitations(session) == []
    assert await columns_holding(session, FRIEND) == []
    statuses = sorted(row.status for row in await referral_rows(session))
    assert statuses == [ReferralStatus.invited, ReferralStatus.removed, ReferralStatus.removed]


async def test_removal_after_the_window_still_redacts_the_sent_invitation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    (invitation,) = await invitations(session)
    invitation.status, invitation.sent_at = MessageStatus.sent, utcnow()
    await purge_served(session, window_days=30, now=utcnow() + timedelta(days=31))
    await session.commit()
    assert await columns_holding(session, FRIEND) == ["outbox_messages.recipient"]

    removed = await client.post(
        "/v1/referrals/removal", json={"token": removal_token(invitation.body)}
    )
    assert removed.status_code == 204
    assert await columns_holding(session, FRIEND) == []
    assert await columns_holding(session, "Grace Hopper") == []


async def test_a_forged_removal_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/referrals/removal", json={"token": "a" * 64 + "." + "b" * 64})
    assert response.status_code == 422
    assert problem_type(response) == "invalid-removal-token"
    garbled = await client.post("/v1/referrals/removal", json={"token": "\u00e9" * 64})
    assert garbled.status_code == 422


async def test_the_daily_cap_refuses_further_referrals_with_429(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    _, headers = await signed_in(client, session)
    with settings_changed(bound_app, referrals_per_account_per_day=2):
        answers = [await refer(client, headers, f"friend{n}@example.org") for n in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert len(await referral_rows(session)) == 2


async def test_a_retried_referral_replays_the_answer(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    first = await refer(client, headers, FRIEND, key="same-key-1234")
    again = await refer(client, headers, FRIEND, key="same-key-1234")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(await invitations(session)) == 1


async def test_registering_with_the_code_converts_the_referral_and_drops_the_friends_data(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    referrer, headers = await signed_in(client, session)
    _, other = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    await refer(client, other, FRIEND)
    (invitation,) = await invitations(session)
    registered = await client.post(
        "/v1/accounts",
        json={"email": FRIEND, "password": "a long unusual passphrase 42",
              "full_name": "Grace Hopper", "date_of_birth": ADULT_DOB.isoformat(),
              "referral_code": code_in(invitation.body)},
    )  # fmt: skip
    assert registered.status_code == 201, registered.text
    (row,) = await session.scalars(select(Referral).where(Referral.referrer_id == referrer.id))
    await session.refresh(row)
    assert (row.status, row.converted_via) == (ReferralStatus.converted, "registration")
    assert (row.friend_name, row.friend_email) == (None, None)
    (mine,) = (await client.get("/v1/me/referrals", headers=headers)).json()["items"]
    assert (mine["status"], mine["friend_email"], mine["friend_name"]) == ("converted", None, None)
    # The other referrer's code was not the one used: their referral is still open.
    (theirs,) = await my_referrals(client, other)
    assert (theirs["status"], theirs["friend_email"]) == ("invited", FRIEND)


async def test_checking_out_with_the_code_converts_the_referral_and_the_order_carries_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    (invitation,) = await invitations(session)
    code = code_in(invitation.body)
    order = await place_order(client, session, email=FRIEND, referral_code=code)
    (row,) = await referral_rows(session)
    await session.refresh(row)
    assert (row.status, row.converted_via) == (ReferralStatus.converted, "checkout")
    assert row.friend_email is None
    assert (
        await session.scalar(select(Order.referral_code).where(Order.id == uuid.UUID(order.id)))
        == code
    )


async def test_a_code_used_by_someone_else_converts_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    (invitation,) = await invitations(session)
    await place_order(client, session, email="stranger@example.org",
                      referral_code=code_in(invitation.body))  # fmt: skip
    (row,) = await referral_rows(session)
    assert row.status == ReferralStatus.invited


async def test_my_referrals_show_the_friend_only_while_held(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    (mine,) = (await client.get("/v1/me/referrals", headers=headers)).json()["items"]
    assert (mine["status"], mine["friend_email"]) == ("invited", FRIEND)

    later = utcnow() + timedelta(days=31)
    assert await purge_served(session, window_days=30, now=later) == 1
    await session.commit()
    (mine,) = (await client.get("/v1/me/referrals", headers=headers)).json()["items"]
    assert (mine["status"], mine["friend_email"], mine["friend_name"]) == ("invited", None, None)
    # Only the record of the one invitation sent remains (the outbox's, erased with it).
    assert await columns_holding(session, FRIEND) == ["outbox_messages.recipient"]


async def test_staff_see_programme_totals_without_personal_data(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)
    _, another = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    await refer(client, customer, FRIEND)
    await refer(client, customer, "ada.friend@example.org")
    await refer(client, another, "ada.friend@example.org")
    (first, _) = await invitations(session)
    await client.post("/v1/referrals/removal", json={"token": removal_token(first.body)})
    await place_order(client, session, email="ada.friend@example.org",
                      referral_code=code_in(first.body))  # fmt: skip

    assert (await client.get("/v1/admin/referrals/totals", headers=customer)).status_code == 403
    totals = await client.get("/v1/admin/referrals/totals", headers=staff)
    assert totals.status_code == 200
    assert totals.json() == {
        "referrals": 3, "sent": 2, "suppressed": 1, "converted": 1, "conversion_rate": 0.5,
    }  # fmt: skip


async def test_housekeeping_purges_the_friends_data_once_the_window_has_passed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    bound_app: FastAPI,
) -> None:
    _, headers = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    await refer(client, headers, "recent.friend@example.org")
    old = utcnow() - timedelta(days=31)
    await session.execute(
        update(Referral).where(Referral.friend_email == FRIEND).values(created_at=old)
    )
    await session.commit()

    done = await housekeeping(sessionmaker, FakePaymentProvider(), bound_app.state.settings)

    assert done.purged_referral_friends == 1
    held = {r.friend_email for r in await referral_rows(session)}
    assert held == {None, "recent.friend@example.org"}


async def test_erasure_unlinks_the_referrer_and_forgets_the_friend_keeping_the_hash(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    referrer, headers = await signed_in(client, session)
    _, second = await signed_in(client, session)
    await refer(client, headers, FRIEND)
    await refer(client, second, FRIEND, friend_name="Gracie")
    handler = ReferralsPersonalData()

    exported = await handler.export(session, Subject(account_id=referrer.id))
    assert [r["status"] for r in exported["referrals_sent"]] == ["invited"]
    as_friend = Subject()
    as_friend.add_address(FRIEND)
    received = (await handler.export(session, as_friend))["invitations_received"]
    assert sorted((r["name"], r["email"]) for r in received) == [
        ("Grace Hopper", FRIEND), ("Gracie", FRIEND),
    ]  # fmt: skip

    await handler.erase(session, Subject(account_id=referrer.id))
    (theirs,) = await my_referrals(client, second)  # another referrer's stays theirs
    assert theirs["friend_name"] == "Gracie"
    await handler.erase(session, as_friend)
    await session.commit()
    rows = await referral_rows(session)
    for row in rows:
        await session.refresh(row)
    assert sorted((r.referrer_id is None, r.friend_name, r.friend_email) for r in rows) == [
        (False, None, None), (True, None, None),
    ]  # fmt: skip
    assert await columns_holding(session, "Gracie") == []
    # The hash stays, so the address is still never invited twice.
    _, other = await signed_in(client, session)
    await refer(client, other, FRIEND)
    assert len(await invitations(session)) == 1
