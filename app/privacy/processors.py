"""`GET /v1/privacy/processors`: the processors register (P3).

Built from the adapters' own declarations (`app.adapters.disclosure`), so what the API
says a third party receives is what the adapter sends: tests compare both with what
loopback fakes of Stripe, FedEx and SMTP receive.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ConfigDict, Field

from app.adapters.deps import MailSenderDep, PaymentProviderDep, ShippingCarrierDep
from app.adapters.disclosure import Channel, DataKind, Processor, ProcessorRole
from app.adapters.register import ALL_PROCESSORS, RegisterEntry, register
from app.core.http_cache import NOT_MODIFIED, cached_json
from app.core.routing import FacetRoute
from app.core.schemas import OutputModel
from app.privacy.registry import Kept

router = APIRouter(tags=["privacy"], route_class=FacetRoute)


class SentAs(OutputModel):
    """Where one field travels in the request to the third party."""

    channel: Channel = Field(
        description="`form` field, `json` path (`[]`: every list element), `url` path "
        "segment, `header` (`*`: any extra header of an email), or `smtp` command."
    )
    name: str = Field(description="The vendor's name for it on the wire.")


class ReceivedField(OutputModel):
    """One field a third party receives, what kind of data it is, and why."""

    name: str
    """What the field is, e.g. `shipping address`."""
    kind: DataKind = Field(
        description="`personal`: identifies or reaches a person; `reference`: an id meaningless "
        "without Facet's records; `order`: amounts, weight; `store`: the store's own "
        "account; `technical`: protocol details and options."
    )
    purpose: str = Field(description="Why the third party needs it.")
    sent_as: list[SentAs]
    """Where it travels in the vendor's request (one field may travel in several places)."""


class ProcessorRead(OutputModel):
    """A third party the store may hand data to (P3), and exactly what it receives."""

    key: str = Field(description="The adapter's name in the settings (e.g. `stripe`).")
    name: str
    """The third party's name, e.g. `Stripe`."""
    role: ProcessorRole
    """What it does for the store."""
    in_use: bool = Field(description="Whether this store runs with it now.")
    third_party: bool = Field(
        description="False for the adapters built into Facet: they send nothing to anyone."
    )
    description: str
    """What it does with the data, in English."""
    privacy_policy: str | None = Field(description="The third party's privacy policy.")
    location: str | None = Field(description="Where it processes the data, when known.")
    receives: list[ReceivedField] = Field(description="Every field it receives, and why.")

    @classmethod
    def of(cls, processor: Processor, *, in_use: bool) -> ProcessorRead:
        return cls(
            key=processor.key,
            name=processor.name,
            role=processor.role,
            in_use=in_use,
            third_party=processor.third_party,
            description=processor.description,
            privacy_policy=processor.privacy_policy,
            location=processor.location,
            receives=[
                ReceivedField(
                    name=item.name,
                    kind=item.kind,
                    purpose=item.purpose,
                    sent_as=[SentAs(channel=wire.channel, name=wire.name) for wire in item.sent_as],
                )
                for item in processor.receives
            ],
        )


class ProcessorRegister(OutputModel):
    """The processors register (P3): every third party that receives data to process an order, and
    the exact fields."""

    # The example is built from the declarations themselves, so it cannot drift from them.
    model_config = ConfigDict(json_schema_extra=lambda schema: schema.update(examples=[_example()]))

    processors: list[ProcessorRead]
    """The processors, the ones in use first."""

    @classmethod
    def of(cls, entries: list[RegisterEntry]) -> ProcessorRegister:
        return cls(
            processors=[ProcessorRead.of(entry.processor, in_use=entry.in_use) for entry in entries]
        )


def _example() -> dict[str, Any]:
    """Stripe and FedEx as they are declared, trimmed to two fields each. (The document drops
    null values from examples, so an entry without a privacy policy or location, like SMTP's,
    would show without those required fields.)"""
    chosen = [p for p in ALL_PROCESSORS if p.key in {"stripe", "fedex"}]
    register_ = ProcessorRegister.of([RegisterEntry(p, in_use=True) for p in chosen])
    for processor in register_.processors:
        processor.receives = processor.receives[:2]
    return register_.model_dump(mode="json")


@router.get(
    "/privacy/processors", operation_id="listProcessors",
    summary="List the third parties that receive data", response_model=ProcessorRegister,
    responses={200: {"content": {"application/json": {"example": _example()}}}, **NOT_MODIFIED},
)  # fmt: skip
async def list_processors(
    request: Request,
    payments: PaymentProviderDep,
    shipping: ShippingCarrierDep,
    mail: MailSenderDep,
    include_all: Annotated[
        bool,
        Query(
            alias="all",
            description="Also list every processor Facet can be configured with "
            "(`in_use: false`), not only the running ones.",
        ),
    ] = False,
) -> Response:
    """The third parties that receive data to process an order (payment, shipping, email),
    each with its role, its privacy policy and the exact fields it receives, and why."""
    entries = register(payments, shipping, mail, include_unused=include_all)
    return cached_json(request, ProcessorRegister.of(entries))


def erasure_notes(processors: list[Processor]) -> list[Kept]:
    """What an erasure leaves with each running third party, and why (the receipt's lines)."""
    return [
        Kept(what=f"data held by {processor.name}", why=processor.at_erasure)
        for processor in processors
        if processor.third_party and processor.at_erasure
    ]


def get_erasure_notes(
    payments: PaymentProviderDep, shipping: ShippingCarrierDep, mail: MailSenderDep
) -> list[Kept]:
    return erasure_notes([payments.disclosure, shipping.disclosure, mail.disclosure])


ErasureNotesDep = Annotated[list[Kept], Depends(get_erasure_notes)]
