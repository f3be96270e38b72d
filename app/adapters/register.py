"""The processors register (P3): every adapter's declaration, and those of the running ones."""

from __future__ import annotations

from dataclasses import dataclass

from app.adapters.disclosure import Processor, ProcessorRole
from app.adapters.mail.base import MailSender
from app.adapters.mail.sink import MailSink
from app.adapters.mail.smtp import SmtpMailer
from app.adapters.payments.authorizenet import AuthorizeNetPaymentProvider
from app.adapters.payments.base import PaymentProvider
from app.adapters.payments.fake import FakePaymentProvider
from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.shipping.base import ShippingCarrier
from app.adapters.shipping.fedex import FedExCarrier
from app.adapters.shipping.free import FreeShipping

# Every processor Facet can be configured with, by role: payments, shipping, mail.
ALL_PROCESSORS: tuple[Processor, ...] = (
    StripePaymentProvider.disclosure,
    AuthorizeNetPaymentProvider.disclosure,
    FakePaymentProvider.disclosure,
    FedExCarrier.disclosure,
    FreeShipping.disclosure,
    SmtpMailer.disclosure,
    MailSink.disclosure,
)


@dataclass(frozen=True)
class RegisterEntry:
    processor: Processor
    in_use: bool


def register(
    payments: PaymentProvider,
    shipping: ShippingCarrier,
    mail: MailSender,
    *,
    include_unused: bool = False,
) -> list[RegisterEntry]:
    """The running adapters' declarations (as configured), then, when asked, every other
    processor Facet could be configured with."""
    running = [payments.disclosure, shipping.disclosure, mail.disclosure]
    entries = [RegisterEntry(processor, in_use=True) for processor in running]
    if include_unused:
        keys = {(processor.role, processor.key) for processor in running}
        entries += [
            RegisterEntry(processor, in_use=False)
            for processor in ALL_PROCESSORS
            if (processor.role, processor.key) not in keys
        ]
    # Grouped by role; within a role the running adapter comes first (the sort is stable).
    roles = list(ProcessorRole)
    return sorted(entries, key=lambda entry: roles.index(entry.processor.role))
