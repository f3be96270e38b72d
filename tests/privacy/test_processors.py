"""GET /v1/privacy/processors: the processors register, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.adapters.disclosure import Processor
from app.adapters.mail import create_mail_sender
from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.register import ALL_PROCESSORS
from app.adapters.shipping.fedex import FedExCarrier
from app.core.settings import Settings

URL = "/v1/privacy/processors"


def as_read(processor: Processor) -> list[dict[str, Any]]:
    """A declaration's fields as the API shows them."""
    return [
        {
            "name": item.name,
            "kind": item.kind.value,
            "purpose": item.purpose,
            "sent_as": [{"channel": w.channel.value, "name": w.name} for w in item.sent_as],
        }
        for item in processor.receives
    ]


@pytest.fixture
async def real_adapters(bound_app: FastAPI) -> AsyncIterator[FastAPI]:
    """Stripe, FedEx and an SMTP relay the settings name, as a production store runs."""
    state = bound_app.state
    saved = state.payment_provider, state.shipping_carrier, state.mail_sender
    state.payment_provider = StripePaymentProvider(
        api_key="sk_test_register", webhook_secret="whsec_register"
    )
    state.shipping_carrier = FedExCarrier(
        api_base="https://apis-sandbox.fedex.com",
        client_id="id",
        client_secret="secret",
        account_number="740561073",
        ship_from_postal_code="10036",
        ship_from_country="US",
    )
    state.mail_sender = create_mail_sender(
        Settings(  # type: ignore[call-arg]
            mail_backend="smtp",
            smtp_provider_name="Postmark (ActiveCampaign, LLC)",
            smtp_provider_privacy_url="https://postmarkapp.com/privacy-policy",
            smtp_provider_location="United States",
        )
    )
    try:
        yield bound_app
    finally:
        await state.payment_provider.close()
        await state.shipping_carrier.close()
        state.payment_provider, state.shipping_carrier, state.mail_sender = saved


async def test_the_embedded_defaults_send_nothing_to_anyone(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)

    assert response.status_code == 200
    processors = response.json()["processors"]
    assert [(p["key"], p["role"]) for p in processors] == [
        ("fake", "payment_processor"),
        ("free", "carrier"),
        ("sink", "email_delivery"),
    ]
    assert all(p["in_use"] and not p["third_party"] for p in processors)
    assert all(p["receives"] == [] for p in processors)


async def test_a_store_on_stripe_fedex_and_smtp_lists_exactly_their_declarations(
    real_adapters: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get(URL)

    assert response.status_code == 200
    stripe, fedex, smtp = response.json()["processors"]
    assert [stripe["key"], fedex["key"], smtp["key"]] == ["stripe", "fedex", "smtp"]
    assert all(p["in_use"] and p["third_party"] for p in (stripe, fedex, smtp))
    assert stripe["privacy_policy"] == "https://stripe.com/privacy"
    assert stripe["receives"] == as_read(StripePaymentProvider.disclosure)
    assert fedex["receives"] == as_read(FedExCarrier.disclosure)
    # The relay is whoever the store names in its settings.
    assert (smtp["name"], smtp["privacy_policy"], smtp["location"]) == (
        "Postmark (ActiveCampaign, LLC)",
        "https://postmarkapp.com/privacy-policy",
        "United States",
    )
    # P3: the payment processor gets nothing personal; the carrier gets the label's fields.
    assert {f["kind"] for f in stripe["receives"]}.isdisjoint({"personal"})
    personal = {f["name"] for f in fedex["receives"] if f["kind"] == "personal"}
    assert personal == {
        "recipient full name",
        "recipient phone",
        "recipient line1",
        "recipient line2",
        "recipient city",
        "recipient region",
        "recipient postal code",
        "recipient country",
    }


async def test_all_lists_every_processor_facet_can_be_configured_with(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(URL, params={"all": "true"})

    assert response.status_code == 200
    processors = response.json()["processors"]
    assert [(p["key"], p["in_use"]) for p in processors] == [
        ("fake", True),
        ("stripe", False),
        ("authorizenet", False),
        ("free", True),
        ("fedex", False),
        ("sink", True),
        ("smtp", False),
    ]
    by_key = {p["key"]: p for p in processors}
    for processor in ALL_PROCESSORS:
        assert by_key[processor.key]["receives"] == as_read(processor)


async def test_the_register_is_public_and_cacheable(client: httpx.AsyncClient) -> None:
    first = await client.get(URL)
    again = await client.get(URL, headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200
    assert first.headers["Cache-Control"].startswith("public")
    assert again.status_code == 304


async def test_a_malformed_all_flag_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"all": "maybe"})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
