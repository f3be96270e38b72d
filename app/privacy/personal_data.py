"""The privacy domain's own personal-data handlers: an account's policy acceptances, and the
privacy requests, inquiries and legal disclosures about a subject."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.privacy.models import (
    LegalDisclosure,
    PolicyAcceptance,
    PrivacyInquiry,
    PrivacyRequest,
    RequestStatus,
)
from app.privacy.registry import ErasureResult, Kept, Subject


class PolicyAcceptancesPersonalData:
    name = "policy_acceptances"
    tables = frozenset({"privacy_policy_acceptances"})

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        if subject.account_id is None:
            return {}
        rows = await session.scalars(
            select(PolicyAcceptance)
            .where(PolicyAcceptance.account_id == subject.account_id)
            .order_by(PolicyAcceptance.accepted_at)
        )
        return {
            "policy_acceptances": [
                {"version": row.version, "accepted_at": row.accepted_at} for row in rows
            ]
        }

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        if subject.account_id is not None:
            deleted = await session.execute(
                delete(PolicyAcceptance).where(PolicyAcceptance.account_id == subject.account_id)
            )
            result.count_deleted(
                "privacy_policy_acceptances", int(getattr(deleted, "rowcount", 0) or 0)
            )
        return result


class PrivacyRecordsPersonalData:
    """Privacy requests and inquiries sent from the subject's addresses, and legal
    disclosures about the subject (its account or addresses).

    Erasure deletes inquiries and unconfirmed requests; confirmed requests stay as the
    record that they were handled, without the address or the details; disclosures stay
    as the record the law asks for (what went to whom, on which basis) without saying
    who they were about."""

    name = "privacy_records"
    tables = frozenset({"privacy_requests", "privacy_inquiries", "legal_disclosures"})

    @staticmethod
    def _addresses(subject: Subject) -> list[str]:
        return sorted(subject.mail_addresses | subject.verified_emails)

    def _disclosures(self, subject: Subject) -> Any:
        found = [LegalDisclosure.subject_email.in_(self._addresses(subject))]
        if subject.account_id is not None:
            found.append(LegalDisclosure.account_id == subject.account_id)
        return or_(*found)

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        addresses = self._addresses(subject)
        requests = await session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.email.in_(addresses))
            .order_by(PrivacyRequest.created_at, PrivacyRequest.id)
        )
        inquiries = await session.scalars(
            select(PrivacyInquiry)
            .where(PrivacyInquiry.email.in_(addresses))
            .order_by(PrivacyInquiry.created_at, PrivacyInquiry.id)
        )
        disclosures = await session.scalars(
            select(LegalDisclosure)
            .where(self._disclosures(subject))
            .order_by(LegalDisclosure.recorded_at, LegalDisclosure.id)
        )
        return {
            "privacy_requests": [
                {"type": r.kind.value, "status": r.status.value, "email": r.email,
                 "details": r.details, "created_at": r.created_at, "due_on": r.due_on}
                for r in requests
            ],
            "privacy_inquiries": [
                {"reference": i.reference, "status": i.status.value, "email": i.email,
                 "message": i.message, "answer": i.answer, "created_at": i.created_at,
                 "due_on": i.due_on}
                for i in inquiries
            ],
            "legal_disclosures": [
                {"subject_email": d.subject_email, "data_categories": d.data_categories,
                 "recipient": d.recipient, "legal_basis": d.legal_basis,
                 "reference": d.reference, "disclosed_on": d.disclosed_on}
                for d in disclosures
            ],
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        addresses = self._addresses(subject)
        deleted = await session.execute(
            delete(PrivacyRequest).where(
                PrivacyRequest.email.in_(addresses),
                PrivacyRequest.status == RequestStatus.awaiting_verification,
            )
        )
        redacted = await session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.email.in_(addresses))
            .values(email=None, details=None)
            .execution_options(synchronize_session=False)
        )
        result.count_deleted("privacy_requests", _rows(deleted))
        result.count_anonymized("privacy_requests", _rows(redacted))
        inquiries = await session.execute(
            delete(PrivacyInquiry).where(PrivacyInquiry.email.in_(addresses))
        )
        result.count_deleted("privacy_inquiries", _rows(inquiries))
        disclosures = await session.execute(
            update(LegalDisclosure)
            .where(self._disclosures(subject))
            .values(subject_email=None, account_id=None, subject_erased_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if _rows(disclosures):
            result.count_anonymized("legal_disclosures", _rows(disclosures))
            result.kept.append(Kept(
                what="the record of each disclosure of your data required by law (what, "
                     "to whom, on which legal basis, when), no longer naming you",
                why="the law requires us to account for every such disclosure",
            ))  # fmt: skip
        return result


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
