"""Erasure at the processors: each third party's declaration says what an erasure can
delete there or why the data stays, and the erasure receipt lists the running ones."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.deps import get_payment_provider, get_shipping_carrier
from app.adapters.mail.smtp import SmtpMailer
from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.register import ALL_PROCESSORS
from app.adapters.shipping.fedex import FedExCarrier
from app.privacy.processors import erasure_notes
from tests.factories import DEFAULT_PASSWORD, signed_in


def test_every_third_party_says_what_erasure_does_there() -> None:
    third_parties = [p for p in ALL_PROCESSORS if p.third_party]
    assert third_parties
    assert all(p.at_erasure for p in third_parties)
    assert all(p.at_erasure is None for p in ALL_PROCESSORS if not p.third_party)
    assert "no API to delete" in (FedExCarrier.disclosure.at_erasure or "")
    assert "Nothing personal" in (StripePaymentProvider.disclosure.at_erasure or "")
    assert "cannot be recalled" in (SmtpMailer.disclosure.at_erasure or "")


@pytest.fixture
def running_stripe_and_fedex(bound_app: FastAPI) -> Iterator[None]:
    """Erasure calls no processor: stand-ins carrying the real declarations suffice."""
    bound_app.dependency_overrides[get_payment_provider] = lambda: SimpleNamespace(
        disclosure=StripePaymentProvider.disclosure
    )
    bound_app.dependency_overrides[get_shipping_carrier] = lambda: SimpleNamespace(
        disclosure=FedExCarrier.disclosure
    )
    yield
    bound_app.dependency_overrides.pop(get_payment_provider)
    bound_app.dependency_overrides.pop(get_shipping_carrier)


@pytest.mark.usefixtures("running_stripe_and_fedex")
async def test_the_erasure_receipt_lists_what_stays_with_each_running_processor(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)

    erased = await client.post(
        "/v1/me/privacy/erasure", headers=customer, json={"current_password": DEFAULT_PASSWORD}
    )

    assert erased.status_code == 200, erased.text
    kept = {k["what"]: k["why"] for k in erased.json()["kept"]}
    expected = erasure_notes([StripePaymentProvider.disclosure, FedExCarrier.disclosure])
    for note in expected:
        assert kept[note.what] == note.why
