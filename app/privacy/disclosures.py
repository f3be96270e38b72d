"""Legal disclosures (P10): personal data handed over because the law required it.

Append-only: staff record one and can list them; nothing updates or deletes one. When
its subject is erased, the record stays (who received what, on which legal basis, is
the accountability the law asks for) but no longer says who it was about: the email
and the account link are removed and `subject_erased_at` is set."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.pagination import paginate_by_creation
from app.privacy.errors import DisclosureSubjectRequired, UnknownDisclosureAccount
from app.privacy.models import LegalDisclosure
from app.privacy.schemas import DisclosureCreate


async def record_disclosure(
    session: AsyncSession, data: DisclosureCreate, *, recorded_by: uuid.UUID
) -> LegalDisclosure:
    if data.subject_email is None and data.account_id is None:
        raise DisclosureSubjectRequired(parameter="subject_email")
    disclosure = LegalDisclosure(
        id=uuid.uuid4(), account_id=data.account_id,
        subject_email=data.subject_email.strip().lower() if data.subject_email else None,
        data_categories=list(data.data_categories), recipient=data.recipient,
        legal_basis=data.legal_basis, reference=data.reference,
        disclosed_on=data.disclosed_on, recorded_by=recorded_by, recorded_at=utcnow(),
    )  # fmt: skip
    try:
        # Added inside the savepoint, so an unknown account discards it with the savepoint.
        async with session.begin_nested():
            session.add(disclosure)
            await session.flush()
    except IntegrityError as exc:  # the account id names no account
        raise UnknownDisclosureAccount(parameter="account_id") from exc
    return disclosure


async def list_disclosures(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[LegalDisclosure], str | None]:
    return await paginate_by_creation(
        session, select(LegalDisclosure), created_at=LegalDisclosure.recorded_at,
        id_=LegalDisclosure.id, limit=limit, cursor=cursor, newest_first=True,
    )  # fmt: skip
