"""Dependencies that hand routers the adapters chosen by settings (kept on app.state,
so tests swap fakes in without patching modules)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.adapters.mail.base import MailSender
from app.adapters.payments.base import PaymentProvider
from app.adapters.shipping.base import ShippingCarrier


def get_payment_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.payment_provider
    return provider


def get_shipping_carrier(request: Request) -> ShippingCarrier:
    carrier: ShippingCarrier = request.app.state.shipping_carrier
    return carrier


def get_mail_sender(request: Request) -> MailSender:
    sender: MailSender = request.app.state.mail_sender
    return sender


PaymentProviderDep = Annotated[PaymentProvider, Depends(get_payment_provider)]
ShippingCarrierDep = Annotated[ShippingCarrier, Depends(get_shipping_carrier)]
MailSenderDep = Annotated[MailSender, Depends(get_mail_sender)]
