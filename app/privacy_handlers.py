"""The personal-data registry's one list (DESIGN §3), at the entry level: it may import
every domain, so the privacy domain need import none.

The order is the erasure order, chosen so every link survives until the data it leads
to is handled: stored idempotent answers and messages are found through the orders'
ids and addresses, orders through the account (and the account's verified email), and
the account goes last. The cart
comes first: locking it keeps a checkout of it from running during the erasure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.privacy import AccountsPersonalData, active_account_emails
from app.carts.privacy import CartsPersonalData
from app.catalog.privacy import CatalogPersonalData
from app.core.db import rows_affected
from app.core.idempotency import IdempotencyRecord
from app.core.settings import Settings
from app.orders.privacy import OrdersPersonalData
from app.outbox.models import MessageStatus, OutboxMessage
from app.privacy.personal_data import (
    ConsentPersonalData,
    PolicyAcceptancesPersonalData,
    PrivacyRecordsPersonalData,
)
from app.privacy.registry import ErasureResult, Registry, Subject
from app.referrals.privacy import ReferralsPersonalData
from app.support.privacy import SupportPersonalData
from app.testimonials.privacy import TestimonialsPersonalData

REDACTED = "(erased)"
REDACTED_RECIPIENT = "erased@erased.invalid"


class IdempotencyPersonalData:
    """Stored idempotent answers: checkout keeps the order id under a scope naming the
    account (`checkout:account:<id>`) or the guest cart. Erased with their subject."""

    name = "stored_answers"
    tables = frozenset({"idempotency_keys"})

    def _linked(self, subject: Subject) -> Any:
        found = [
            IdempotencyRecord.response_body.contains(str(order_id), autoescape=True)
            for order_id in sorted(subject.order_ids)
        ]
        if subject.account_id is not None:
            found.append(IdempotencyRecord.scope.endswith(f":account:{subject.account_id}"))
        return or_(false(), *found)

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        rows = await session.scalars(
            select(IdempotencyRecord)
            .where(self._linked(subject))
            .order_by(IdempotencyRecord.created_at)
        )
        return {
            "stored_answers": [
                {"operation": row.scope.split(":", 1)[0], "key": row.key,
                 "answer": row.response_body, "created_at": row.created_at}
                for row in rows
            ]
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        deleted = await session.execute(delete(IdempotencyRecord).where(self._linked(subject)))
        result.count_deleted("idempotency_keys", rows_affected(deleted))
        return result


class OutboxPersonalData:
    """Messages to the subject's addresses or naming the subject (`data_subject`, the
    consent ledger's name): pending ones are deleted (never sent), sent ones redacted
    (the row stays as the record that something was sent, and when)."""

    name = "messages"
    tables = frozenset({"outbox_messages"})

    def _to_subject(self, subject: Subject) -> Any:
        found = []
        if subject.mail_addresses:
            found.append(func.lower(OutboxMessage.recipient).in_(sorted(subject.mail_addresses)))
        if subject.consent_subjects:
            found.append(OutboxMessage.data_subject.in_(sorted(subject.consent_subjects)))
        return or_(false(), *found)

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(self._to_subject(subject))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
        return {
            "messages": [
                {"kind": m.kind, "recipient": m.recipient, "subject": m.subject,
                 "body": m.body, "status": m.status.value, "created_at": m.created_at,
                 "sent_at": m.sent_at, "headers": m.headers}
                for m in rows
            ]
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        to_subject = self._to_subject(subject)
        deleted = await session.execute(
            delete(OutboxMessage).where(to_subject, OutboxMessage.status != MessageStatus.sent)
        )
        redacted = await session.execute(
            update(OutboxMessage)
            .where(to_subject, OutboxMessage.status == MessageStatus.sent)
            .values(
                recipient=REDACTED_RECIPIENT,
                subject=REDACTED,
                body=REDACTED,
                data_subject=None,
                headers=None,
            )
            .execution_options(synchronize_session=False)
        )
        result.count_deleted("outbox_messages", rows_affected(deleted))
        result.count_anonymized("outbox_messages", rows_affected(redacted))
        return result


def create_registry(settings: Settings) -> Registry:
    return Registry(
        handlers=(
            CartsPersonalData(),  # first: its lock keeps a parallel checkout out
            IdempotencyPersonalData(),
            CatalogPersonalData(),
            OrdersPersonalData(),
            ReferralsPersonalData(),
            TestimonialsPersonalData(),
            SupportPersonalData(),
            OutboxPersonalData(),  # after orders: cancelling an order queues a message
            ConsentPersonalData(settings),  # its opt-out events name no address
            PolicyAcceptancesPersonalData(),
            PrivacyRecordsPersonalData(),  # before accounts: disclosures link to the account
            AccountsPersonalData(),
        ),
        notice_recipients=active_account_emails,
    )
