"""The newsletter (P2, P9): double opt-in, and unsubscribing that reveals nothing.

Every answer is the same whether or not an address is known; a minor's request stores
nothing. A confirmed subscription is a `newsletter` grant for the account that owns and
verified the address, or else for the address's keyed hash (whose address is kept to
deliver the newsletter).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected, utcnow
from app.core.errors import AgeRestricted
from app.core.security import hash_token, new_secret_token
from app.core.settings import Settings
from app.outbox.service import enqueue_email
from app.privacy import consent
from app.privacy.consent_models import ConsentSource, NewsletterConfirmation, Purpose
from app.privacy.directory import AccountDirectory
from app.privacy.errors import InvalidConfirmationToken
from app.privacy.subjects import account_subject, email_subject, normalize_email

CONFIRMATION_KIND = "newsletter_confirmation"
UNSUBSCRIBE_KIND = "newsletter_unsubscribe_link"


async def subscribe(session: AsyncSession, settings: Settings, email: str, *, adult: bool) -> None:
    """Send the confirmation link; nothing is granted until it is followed."""
    if not adult:  # checked first: a minor's request stores nothing (P9)
        raise AgeRestricted("Facet does not collect data from persons under 18.")
    address = normalize_email(email)
    token = new_secret_token()
    now = utcnow()
    session.add(
        NewsletterConfirmation(
            token_hash=hash_token(token),
            email=address,
            created_at=now,
            expires_at=now + timedelta(hours=settings.email_token_hours),
        )
    )
    link = f"{settings.storefront_url.rstrip('/')}/newsletter/confirm?token={token}"
    enqueue_email(
        session,
        to=address,
        subject="Please confirm your newsletter subscription",
        body=(
            "Hello,\n\nSomeone (we hope you) asked to receive the Facet newsletter at this "
            f"address. To confirm, open this link:\n{link}\n\nIf it was not you, ignore this "
            "message: without confirmation nothing is sent.\n\nFacet Fine Jewelry\n"
        ),
        kind=CONFIRMATION_KIND,
        data_subject=email_subject(settings, address),
    )
    await session.flush()


async def confirm(
    session: AsyncSession, settings: Settings, directory: AccountDirectory, token: str
) -> None:
    """Grant `newsletter` for the confirmed address (single use, expiring link)."""
    pending = await session.scalar(
        select(NewsletterConfirmation)
        .where(NewsletterConfirmation.token_hash == hash_token(token))
        .with_for_update()
    )
    now = utcnow()
    if pending is None or pending.confirmed_at is not None or pending.expires_at <= now:
        raise InvalidConfirmationToken()
    pending.confirmed_at = now
    choice = {Purpose.newsletter: True}
    owner = (await directory.verified_owners(session, [pending.email])).get(pending.email)
    if owner is not None:
        await consent.record(
            session, account_subject(owner), choice, source=ConsentSource.newsletter
        )
    else:
        await consent.record_for_email(
            session, settings, pending.email, choice, source=ConsentSource.newsletter
        )
    # The address now lives where the grant does; the pending row has done its work.
    pending.email = ""
    await session.flush()


async def send_unsubscribe_link(
    session: AsyncSession, settings: Settings, directory: AccountDirectory, email: str
) -> None:
    """Mail an opt-out link to a subscribed address; for any other address do nothing.
    The caller answers the same either way, so the answer reveals nothing."""
    address = normalize_email(email)
    owner = (await directory.verified_owners(session, [address])).get(address)
    subjects = [email_subject(settings, address)]
    if owner is not None:
        subjects.insert(0, account_subject(owner))
    for subject in subjects:
        if await consent.holds(session, subject, Purpose.newsletter):
            token = consent.opt_out_token(settings, subject, Purpose.newsletter)
            enqueue_email(
                session,
                to=address,
                subject="Unsubscribe from the Facet newsletter",
                body=(
                    "Hello,\n\nTo stop receiving our newsletter, open this link (or send the "
                    f"code below to our unsubscribe page):\n"
                    f"{consent.opt_out_link(settings, token)}\n\nCode: {token}\n\n"
                    "If you did not ask for this, ignore this message.\n\nFacet Fine Jewelry\n"
                ),
                kind=UNSUBSCRIBE_KIND,
                data_subject=subject,
            )
    await session.flush()


async def purge_finished_confirmations(session: AsyncSession) -> int:
    """Delete confirmation links that were used or expired: an unconfirmed address is
    kept no longer than its link works."""
    now = utcnow()
    result = await session.execute(
        delete(NewsletterConfirmation).where(
            (NewsletterConfirmation.expires_at <= now)
            | NewsletterConfirmation.confirmed_at.is_not(None)
        )
    )
    return rows_affected(result)
