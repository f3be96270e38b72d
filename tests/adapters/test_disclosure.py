"""Every adapter's declaration holds to its port: each value the port hands an adapter is
declared as sent or as withheld, and nothing is declared from a value the port lacks."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from app.adapters.disclosure import (
    CONFIGURATION,
    FIXED,
    Channel,
    DataKind,
    DisclosedField,
    Processor,
    ProcessorRole,
    Wire,
    argument,
    dto_field,
    port_inputs,
    unaccounted_inputs,
)
from app.adapters.mail.base import OutgoingEmail
from app.adapters.mail.sink import MailSink
from app.adapters.mail.smtp import SmtpMailer
from app.adapters.payments.authorizenet import AuthorizeNetPaymentProvider
from app.adapters.payments.base import CaptureMode, PaymentRequest
from app.adapters.payments.fake import FakePaymentProvider
from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.register import ALL_PROCESSORS
from app.adapters.shipping.base import Parcel, Recipient
from app.adapters.shipping.fedex import FedExCarrier
from app.adapters.shipping.free import FreeShipping

THIRD_PARTIES = [p for p in ALL_PROCESSORS if p.third_party]


@dataclass(frozen=True)
class Label:
    name: str
    email: str  # new, and not yet in the declaration below


class LabelPort(Protocol):
    async def book(self, label: Label, *, reference: str) -> None: ...


@pytest.mark.parametrize("processor", THIRD_PARTIES, ids=lambda p: p.key)
def test_every_port_input_is_declared_sent_or_withheld(processor: Processor) -> None:
    assert unaccounted_inputs(processor) == frozenset()


@pytest.mark.parametrize("processor", THIRD_PARTIES, ids=lambda p: p.key)
def test_every_declared_source_is_a_port_input(processor: Processor) -> None:
    assert processor.port is not None
    stale = processor.declared_sources - port_inputs(processor.port) - {FIXED, CONFIGURATION}
    assert stale == frozenset()


def test_port_inputs_expand_dtos_into_their_fields() -> None:
    from app.adapters.payments.base import PaymentProvider
    from app.adapters.shipping.base import ShippingCarrier

    assert dto_field(PaymentRequest, "amount_minor") in port_inputs(PaymentProvider)
    assert argument(PaymentProvider.confirm, "payment_method") in port_inputs(PaymentProvider)
    assert {dto_field(Recipient, "phone"), dto_field(Parcel, "weight_grams")} <= port_inputs(
        ShippingCarrier
    )


def test_a_new_dto_field_is_unaccounted_until_declared() -> None:
    """What would happen if someone added `email` to what a carrier is handed."""
    declared_name_only = Processor(
        key="labels",
        name="Labels Inc.",
        role=ProcessorRole.carrier,
        description="",
        third_party=True,
        port=LabelPort,
        receives=(
            DisclosedField(
                "name",
                DataKind.personal,
                "On the label.",
                (dto_field(Label, "name"),),
                (Wire(Channel.json, "name"),),
            ),
        ),
        withheld={argument(LabelPort.book, "reference"): "kept"},
    )

    assert unaccounted_inputs(declared_name_only) == {"Label.email"}


def test_a_declaration_naming_a_field_the_dto_lacks_fails_at_import() -> None:
    with pytest.raises(ValueError, match="no field 'email'"):
        dto_field(Recipient, "email")
    with pytest.raises(ValueError, match="no argument"):
        argument(FedExCarrier.create_shipment, "email")


def test_an_embedded_adapter_cannot_declare_a_recipient() -> None:
    with pytest.raises(ValueError, match="embedded"):
        Processor(
            key="x",
            name="x",
            role=ProcessorRole.carrier,
            description="",
            third_party=False,
            receives=(DisclosedField("n", DataKind.personal, "", (FIXED,), ()),),
        )


@pytest.mark.parametrize(
    ("adapter", "key"),
    [
        (StripePaymentProvider, "stripe"),
        (AuthorizeNetPaymentProvider, "authorizenet"),
        (FakePaymentProvider, "fake"),
        (FedExCarrier, "fedex"),
        (FreeShipping, "free"),
        (SmtpMailer, "smtp"),
        (MailSink, "sink"),
    ],
)
def test_each_adapter_declares_itself_under_its_settings_name(adapter: Any, key: str) -> None:
    assert adapter.name == key
    assert adapter.disclosure.key == key
    assert adapter.disclosure in ALL_PROCESSORS


def test_personal_fields_are_only_sent_to_the_carrier_and_the_mail_relay() -> None:
    """P3: the payment processor is told nothing personal."""
    receiving = {
        processor.key
        for processor in ALL_PROCESSORS
        for item in processor.receives
        if item.kind == DataKind.personal
    }
    assert receiving == {"fedex", "smtp"}


async def test_embedded_adapters_open_no_connection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The embedded adapters say nothing leaves Facet: not one socket connects."""

    def refuse(*_: object) -> None:
        raise AssertionError("an embedded adapter opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    recipient = Recipient(
        "Ada Lovelace", "1 Main St", None, "Springfield", "IL", "62701", "US", None
    )
    parcel = Parcel(weight_grams=400, declared_value_minor=125_000, currency="USD")

    payments = FakePaymentProvider()
    intent = await payments.create_intent(
        PaymentRequest("ord_1", "FCT-1001", 125_000, "USD", CaptureMode.automatic, "k-1")
    )
    await payments.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="k-2")
    shipping = FreeShipping()
    shipment = await shipping.create_shipment(
        recipient, parcel, reference="FCT-1001", idempotency_key="k-3"
    )
    await shipping.track(shipment.tracking_number)
    sink = MailSink(tmp_path)
    await sink.send(OutgoingEmail(message_id="m-1", to="ada@example.com", subject="s", text="t"))

    assert sink.path_for("m-1") is not None
