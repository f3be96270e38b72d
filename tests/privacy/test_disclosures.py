"""Legal disclosures (P10): recorded by staff, append-only, in the subject's export; an
account erasure keeps the record without naming the subject."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.privacy.models import LegalDisclosure
from tests.factories import DEFAULT_PASSWORD, signed_in

PROBLEM = "https://facet.example/problems/"


def disclosure(**subject: str) -> dict[str, object]:
    return {**subject, "data_categories": ["contact", "orders"], "recipient": "Police",
            "legal_basis": "Warrant 12/2026", "reference": "W-12",
            "disclosed_on": "2026-11-02"}  # fmt: skip


async def test_a_disclosure_appears_in_the_customers_export_and_outlives_the_erasure(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    account, customer = await signed_in(client, session)
    recorded = await client.post(
        "/v1/admin/privacy/disclosures", headers=staff, json=disclosure(account_id=str(account.id))
    )
    assert recorded.status_code == 201, recorded.text

    export = (await client.post("/v1/me/privacy/export", headers=customer)).json()
    assert [(d["recipient"], d["reference"]) for d in export["legal_disclosures"]] == [
        ("Police", "W-12")
    ]

    erased = await client.post(
        "/v1/me/privacy/erasure", headers=customer, json={"current_password": DEFAULT_PASSWORD}
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["anonymized"]["legal_disclosures"] == 1
    session.expire_all()
    kept = await session.get(LegalDisclosure, uuid.UUID(recorded.json()["id"]))
    assert kept is not None
    assert (kept.account_id, kept.subject_email, kept.reference) == (None, None, "W-12")
    assert kept.subject_erased_at is not None


async def test_disclosures_are_append_only_and_name_their_subject(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    recorded = await client.post(
        "/v1/admin/privacy/disclosures", headers=staff,
        json=disclosure(subject_email="someone@example.com"),
    )  # fmt: skip
    path = f"/v1/admin/privacy/disclosures/{recorded.json()['id']}"
    nameless = await client.post("/v1/admin/privacy/disclosures", headers=staff, json=disclosure())
    unknown = await client.post(
        "/v1/admin/privacy/disclosures",
        headers=staff,
        json=disclosure(account_id=str(uuid.uuid4())),
    )

    assert (await client.patch(path, headers=staff, json={})).status_code in {404, 405}
    assert (await client.delete(path, headers=staff)).status_code in {404, 405}
    assert (await client.delete("/v1/admin/privacy/disclosures", headers=staff)).status_code == 405
    assert nameless.json()["type"] == PROBLEM + "disclosure-subject-required"
    assert unknown.json()["type"] == PROBLEM + "unknown-disclosure-account"
