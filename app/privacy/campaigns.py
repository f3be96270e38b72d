"""Staff marketing campaigns: one message per subject that holds the purpose, once.

Only email purposes are sent (`marketing_email`, `newsletter`); postal mail and phone
campaigns are refused, since Facet has no channel to deliver them. Subjects are walked
in keyset batches; each gets a `campaign_recipients` row (unique per campaign) and a
marketing message carrying its opt-out. The outbox checks the consent again when it
delivers, so a withdrawal after queueing still stops the message.

An email-hash subject whose address an account has verified is skipped: that account's
own state (into which the address's choices were carried at verification) decides.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.pagination import paginate_by_creation
from app.core.settings import Settings
from app.privacy import consent
from app.privacy.consent_models import (
    Campaign,
    CampaignRecipient,
    ConsentEvent,
    ContactAddress,
    Purpose,
)
from app.privacy.directory import AccountDirectory
from app.privacy.errors import CampaignChannelUnsupported
from app.privacy.schemas import CampaignCreate
from app.privacy.subjects import EMAIL_PREFIX, account_of

EMAIL_PURPOSES = frozenset({Purpose.marketing_email, Purpose.newsletter})
CAMPAIGN_KIND = "campaign"


async def consenting_subjects(
    session: AsyncSession, purpose: Purpose, *, after: str | None, limit: int
) -> list[str]:
    """Subjects whose latest event for `purpose` grants it, in subject order."""
    later = aliased(ConsentEvent)
    newer_exists = (
        select(later.seq)
        .where(
            later.subject == ConsentEvent.subject,
            later.purpose == purpose,
            later.seq > ConsentEvent.seq,
        )
        .exists()
    )
    query = (
        select(ConsentEvent.subject)
        .where(ConsentEvent.purpose == purpose, ConsentEvent.granted, ~newer_exists)
        .order_by(ConsentEvent.subject)
        .limit(limit)
    )
    if after is not None:
        query = query.where(ConsentEvent.subject > after)
    return list(await session.scalars(query))


async def _addresses(
    session: AsyncSession, directory: AccountDirectory, subjects: list[str]
) -> dict[str, str]:
    """The address of each subject that can still be reached."""
    accounts = {s: account_of(s) for s in subjects}
    by_account = await directory.addresses(session, [a for a in accounts.values() if a])
    found = {s: by_account[a] for s, a in accounts.items() if a is not None and a in by_account}
    hashed = [s for s in subjects if s.startswith(EMAIL_PREFIX)]
    if hashed:
        contacts = {
            c.subject: c.email
            for c in await session.scalars(
                select(ContactAddress).where(ContactAddress.subject.in_(hashed))
            )
        }
        owned = await directory.verified_owners(session, list(set(contacts.values())))
        found.update({s: e for s, e in contacts.items() if e not in owned})
    return found


async def create(
    session: AsyncSession,
    settings: Settings,
    directory: AccountDirectory,
    data: CampaignCreate,
    *,
    created_by: uuid.UUID,
) -> Campaign:
    purpose = Purpose(data.purpose)
    if purpose not in EMAIL_PURPOSES:
        raise CampaignChannelUnsupported(parameter="purpose")
    campaign = Campaign(
        purpose=purpose, subject_line=data.subject_line, body=data.text, created_by=created_by
    )
    session.add(campaign)
    await session.flush()
    after: str | None = None
    while True:
        subjects = await consenting_subjects(
            session, purpose, after=after, limit=settings.campaign_batch_size
        )
        if not subjects:
            break
        after = subjects[-1]
        addresses = await _addresses(session, directory, subjects)
        batch: list[object] = []
        for subject, email in addresses.items():
            recipient = CampaignRecipient(campaign_id=campaign.id, subject=subject)
            session.add(recipient)
            message = consent.enqueue_marketing(
                session,
                settings,
                to=email,
                subject_line=data.subject_line,
                text=data.text,
                kind=CAMPAIGN_KIND,
                data_subject=subject,
                purpose=purpose,
            )
            batch += [recipient, message]
        await session.flush()
        campaign.queued += len(addresses)
        for obj in batch:  # a large list: keep one batch in memory at a time
            session.expunge(obj)
    await session.flush()
    return campaign


async def list_campaigns(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[Campaign], str | None]:
    return await paginate_by_creation(
        session,
        select(Campaign),
        created_at=Campaign.created_at,
        id_=Campaign.id,
        limit=limit,
        cursor=cursor,
    )
