"""The privacy domain's own personal-data handlers: an account's policy acceptances, the
consent ledger with what hangs on it, and the privacy requests, inquiries and legal
disclosures about a subject."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected, utcnow
from app.core.settings import Settings
from app.privacy.consent import current_state
from app.privacy.consent_models import (
    MARKETING_PURPOSES,
    Campaign,
    CampaignRecipient,
    ConsentEvent,
    ConsentSource,
    ContactAddress,
    NewsletterConfirmation,
    Purpose,
)
from app.privacy.models import (
    LegalDisclosure,
    PolicyAcceptance,
    PrivacyInquiry,
    PrivacyRequest,
    RequestStatus,
)
from app.privacy.registry import ErasureResult, Kept, Subject
from app.privacy.service import current_version
from app.privacy.subjects import account_subject, email_subject


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
            result.count_deleted("privacy_policy_acceptances", rows_affected(deleted))
        return result


class ConsentPersonalData:
    """The consent ledger of the subject's consent names (the account and the keyed hash
    of each verified address), the addresses kept to deliver what an email-hash subject
    asked for, pending newsletter links to the subject's addresses, and the campaigns
    queued for the subject.

    Erasure deletes the history but keeps one opt-out: for each verified address it
    writes a withdrawal of every marketing purpose against the address's keyed hash
    (no address stored, and the hash cannot be reversed without the privacy secret).
    A later guest checkout or newsletter sign-up with that address then starts from a
    recorded "no", and an old grant can never come back with it; only a new explicit
    choice (a ticked box, a confirmed newsletter link) grants again.
    """

    name = "consent"
    tables = frozenset({
        "consent_events", "privacy_contact_addresses", "newsletter_confirmations",
        "campaign_recipients",
    })  # fmt: skip

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _email_subjects(self, subject: Subject) -> list[str]:
        return sorted(email_subject(self._settings, email) for email in subject.verified_emails)

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        if subject.account_id is not None:
            subject.consent_subjects.add(account_subject(subject.account_id))
        subject.consent_subjects.update(self._email_subjects(subject))

    def _pending_links(self, subject: Subject) -> Any:
        if not subject.mail_addresses:
            return false()
        return func.lower(NewsletterConfirmation.email).in_(sorted(subject.mail_addresses))

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        names = sorted(subject.consent_subjects)
        if not names:
            return {}
        events = list(
            await session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.subject.in_(names))
                .order_by(ConsentEvent.seq)
            )
        )
        contacts = await session.scalars(
            select(ContactAddress)
            .where(ContactAddress.subject.in_(names))
            .order_by(ContactAddress.subject)
        )
        links = await session.scalars(
            select(NewsletterConfirmation)
            .where(self._pending_links(subject))
            .order_by(NewsletterConfirmation.created_at, NewsletterConfirmation.id)
        )
        campaigns = await session.execute(
            select(CampaignRecipient.subject, Campaign.purpose, Campaign.subject_line,
                   Campaign.created_at)
            .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
            .where(CampaignRecipient.subject.in_(names))
            .order_by(Campaign.created_at, Campaign.id)
        )  # fmt: skip
        latest: dict[tuple[str, Purpose], bool] = {}
        for event in events:
            latest[(event.subject, event.purpose)] = bool(event.granted)
        states = (
            await current_state(session, account_subject(subject.account_id))
            if subject.account_id is not None
            else []
        )
        return {
            "consents": [
                {"purpose": s.purpose.value, "granted": s.granted, "since": s.since}
                for s in states
            ],
            "consent_history": [
                {"subject": e.subject, "purpose": e.purpose.value, "granted": e.granted,
                 "source": e.source.value, "policy_version": e.policy_version,
                 "recorded_at": e.recorded_at}
                for e in events
            ],
            "newsletter": {
                "subscribed": any(
                    granted for (_, purpose), granted in latest.items()
                    if purpose == Purpose.newsletter
                ),
                "contact_addresses": [c.email for c in contacts],
                "confirmation_links": [
                    {"email": link.email, "created_at": link.created_at,
                     "expires_at": link.expires_at, "confirmed_at": link.confirmed_at}
                    for link in links
                ],
            },
            "campaigns": [
                {"subject": row.subject, "purpose": row.purpose.value,
                 "subject_line": row.subject_line, "queued_at": row.created_at}
                for row in campaigns
            ],
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        names = sorted(subject.consent_subjects)
        owned = [
            (ConsentEvent, ConsentEvent.subject.in_(names)),
            (ContactAddress, ContactAddress.subject.in_(names)),
            (CampaignRecipient, CampaignRecipient.subject.in_(names)),
            (NewsletterConfirmation, self._pending_links(subject)),
        ]
        for model, rows in owned:
            deleted = await session.execute(delete(model).where(rows))
            result.count_deleted(model.__tablename__, rows_affected(deleted))
        email_subjects = self._email_subjects(subject)
        if email_subjects:
            policy = await current_version(session)
            now = utcnow()
            session.add_all(
                ConsentEvent(
                    subject=hashed, purpose=purpose, granted=False, source=ConsentSource.erasure,
                    policy_version=policy.version if policy else None, recorded_at=now,
                )
                for hashed in email_subjects
                for purpose in MARKETING_PURPOSES
            )  # fmt: skip
            result.kept.append(
                Kept(
                    what="a keyed hash of your email address, marked as opted out of marketing",
                    why="so a later order or sign-up with that address is not opted back in; "
                    "the address itself is not kept",
                )
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
        result.count_deleted("privacy_requests", rows_affected(deleted))
        result.count_anonymized("privacy_requests", rows_affected(redacted))
        inquiries = await session.execute(
            delete(PrivacyInquiry).where(PrivacyInquiry.email.in_(addresses))
        )
        result.count_deleted("privacy_inquiries", rows_affected(inquiries))
        disclosures = await session.execute(
            update(LegalDisclosure)
            .where(self._disclosures(subject))
            .values(subject_email=None, account_id=None, subject_erased_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if rows_affected(disclosures):
            result.count_anonymized("legal_disclosures", rows_affected(disclosures))
            result.kept.append(Kept(
                what="the record of each disclosure of your data required by law (what, "
                     "to whom, on which legal basis, when), no longer naming you",
                why="the law requires us to account for every such disclosure",
            ))  # fmt: skip
        return result
