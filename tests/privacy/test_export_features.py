"""The export holds what the customer gave the referral, testimonial and contact
features: a handler's section that the export document does not declare would be
dropped silently, so each is checked here through the API."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import signed_in
from tests.referrals.helpers import refer


async def test_the_export_holds_referrals_testimonials_and_contact_requests(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    assert (await refer(client, headers, "friend.of.ada@example.net")).status_code == 202
    testimonial = {"title": "Lovely band", "body": "It sparkles.", "rating": 5, "is_adult": True}
    posted = await client.post("/v1/testimonials", json=testimonial, headers=headers)
    assert posted.status_code == 201, posted.text
    contact = {
        "name": account.full_name,
        "email": account.email,
        "topic": "order",
        "message": "When does my ring ship?",
        "is_adult": True,
    }
    assert (await client.post("/v1/contact", json=contact)).status_code == 202

    document = (await client.post("/v1/me/privacy/export", headers=headers)).json()

    assert document["referral_code"]
    assert [r["status"] for r in document["referrals_sent"]] == ["invited"]
    assert [(t["title"], t["body"]) for t in document["testimonials"]] == [
        ("Lovely band", "It sparkles.")
    ]
    assert [(r["email"], r["message"]) for r in document["support_requests"]] == [
        (account.email, "When does my ring ship?")
    ]
