"""What each adapter tells about itself: the party behind it and what leaves Facet for it (P3).

Every adapter class carries a `disclosure`: who the party is, its role, and each field it
sends, with its purpose, the kind of data, where the value comes from (a field of the
port's DTO, an argument of a port method, the store's configuration, or a fixed value)
and the vendor's name for it on the wire. The processors register
(`GET /v1/privacy/processors`) is built from these declarations, and tests hold them to
the port (every value the port hands an adapter is declared as sent or as withheld) and
to the wire (the loopback fakes of Stripe, FedEx and SMTP receive exactly the declared
fields).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any

# A value that is the same in every request (an API version, a label format).
FIXED = "fixed value"
# The store's own settings (credentials, account number, ship-from address, host name).
CONFIGURATION = "configuration"
# HTTP plumbing that carries nothing of the store's or of anyone's: not declared.
TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "content-type", "accept", "accept-encoding", "connection"}
)


class ProcessorRole(StrEnum):
    """What a third party does for the store.

    - `payment_processor`: authorizes and charges cards (Stripe, Authorize.Net).
    - `carrier`: ships orders (FedEx).
    - `email_delivery`: delivers the store's emails (an SMTP relay).
    """

    payment_processor = "payment_processor"
    carrier = "carrier"
    email_delivery = "email_delivery"


class DataKind(StrEnum):
    """What kind of data a processor receives.

    - `personal`: identifies or reaches a person: name, address, phone, email, a message.
    - `reference`: an id that means nothing without the store's or the vendor's records.
    - `order`: amounts, currency, weight: what the order is, not who placed it.
    - `store`: the store's own account, credentials and ship-from address.
    - `technical`: protocol and software details, service options, idempotency keys.
    """

    personal = "personal"  # identifies or reaches a person: name, address, phone, email, a message
    reference = "reference"  # an id that means nothing without Facet's or the vendor's records
    order = "order"  # amounts, currency, weight: what the order is, not who placed it
    store = "store"  # the store's own account, credentials and ship-from address
    technical = "technical"  # protocol and software details, service options, idempotency keys


class Channel(StrEnum):
    """Where a value travels in the request to a processor.

    - `form`: a form-encoded body field; `[]` stands for every index of a list.
    - `json`: a JSON body path, dotted; `[]` stands for every element of a list.
    - `url`: a value carried in the request path.
    - `header`: an HTTP header, or a header of an email.
    - `smtp`: an SMTP command (EHLO, AUTH, MAIL FROM, RCPT TO) or the message body (DATA).
    """

    form = "form"  # a form-encoded body field; `[]` stands for every index of a list
    json = "json"  # a JSON body path, dotted; `[]` stands for every element of a list
    url = "url"  # a value carried in the request path
    header = "header"  # an HTTP header, or a header of an email
    smtp = "smtp"  # an SMTP command (EHLO, AUTH, MAIL FROM, RCPT TO) or the message body (DATA)


@dataclass(frozen=True)
class Wire:
    """Where a value lands in the vendor's request."""

    channel: Channel
    name: str


@dataclass(frozen=True)
class DisclosedField:
    name: str
    kind: DataKind
    purpose: str
    sources: tuple[str, ...]  # from `dto_field`, `argument`, CONFIGURATION or FIXED
    sent_as: tuple[Wire, ...]


@dataclass(frozen=True)
class Processor:
    key: str  # the adapter's `name`, as chosen in settings
    name: str
    role: ProcessorRole
    description: str
    third_party: bool  # False for the embedded adapters: nothing leaves Facet
    privacy_policy: str | None = None  # a URL, or where to find it
    location: str | None = None  # where it processes the data, when known
    receives: tuple[DisclosedField, ...] = ()
    # The port whose inputs the declaration must account for, and the inputs it keeps
    # back on purpose (input -> why it is not sent).
    port: type | None = None
    withheld: Mapping[str, str] = field(default_factory=dict)
    # What an erasure can delete or redact at the provider, or why the data stays there
    # (listed on the erasure receipt). None for the embedded adapters: nothing left Facet.
    at_erasure: str | None = None

    def __post_init__(self) -> None:
        if not self.third_party and self.receives:
            raise ValueError(f"{self.key}: an embedded adapter sends nothing to anyone")
        if self.third_party and self.port is None:
            raise ValueError(f"{self.key}: a third party's declaration names its port")

    @property
    def wires(self) -> frozenset[Wire]:
        return frozenset(wire for item in self.receives for wire in item.sent_as)

    @property
    def declared_sources(self) -> frozenset[str]:
        return frozenset(source for item in self.receives for source in item.sources)


def dto_field(dto: type, name: str) -> str:
    """`Recipient.full_name`; fails at import when the DTO has no such field."""
    if name not in {f.name for f in fields(dto)}:
        raise ValueError(f"{dto.__name__} has no field {name!r}")
    return f"{dto.__name__}.{name}"


def argument(method: Callable[..., Any], name: str) -> str:
    """`PaymentProvider.confirm(payment_method)`; fails at import for an unknown argument."""
    if name not in inspect.signature(method).parameters:
        raise ValueError(f"{method.__qualname__} takes no argument {name!r}")
    return f"{method.__qualname__}({name})"


def port_inputs(port: type) -> frozenset[str]:
    """Every value the port's methods hand an adapter, as `dto_field`/`argument` names:
    a DTO argument counts as its fields, every other argument as itself."""
    inputs: set[str] = set()
    for method_name, method in inspect.getmembers(port, inspect.isfunction):
        if method_name.startswith("_"):
            continue
        hints = typing.get_type_hints(method)
        for parameter in list(inspect.signature(method).parameters)[1:]:  # past `self`
            annotation = hints.get(parameter)
            if isinstance(annotation, type) and is_dataclass(annotation):
                inputs |= {dto_field(annotation, f.name) for f in fields(annotation)}
            else:
                inputs.add(argument(method, parameter))
    return frozenset(inputs)


def unaccounted_inputs(processor: Processor) -> frozenset[str]:
    """Port inputs that the declaration neither sends nor withholds (should be empty)."""
    if processor.port is None:
        return frozenset()
    return port_inputs(processor.port) - processor.declared_sources - set(processor.withheld)
