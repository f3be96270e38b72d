"""Referrals (P6): invite a friend once, honour removal, track conversions, purge the
friend's data once its purpose is served, and count the programme without personal data.

Every accepted invitation request gets the same answer whether an email went out, the
address was invited before or it asked for removal, and the same row in the referrer's
list (`GET /v1/me/referrals`): neither reveals whether an address is known. The one
residual difference: a referral of an address that asked for removal holds no friend's
name or address (they may never be stored again), so the list shows it without them
from the start, as any referral looks once its window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Base, rows_affected, utcnow
from app.core.errors import AgeRestricted
from app.core.pagination import paginate_by_creation
from app.core.settings import Settings
from app.outbox.models import MessageStatus, OutboxMessage
from app.outbox.service import enqueue_email
from app.privacy.subjects import email_hash, normalize_email, privacy_key
from app.referrals.errors import (
    InvalidRemovalToken,
    ReferralMessageRefused,
)
from app.referrals.models import (
    Referral,
    ReferralCode,
    ReferralInvitation,
    ReferralStatus,
    ReferralSuppression,
)

INVITATION_KIND = "referral_invitation"
REDACTED = "(removed)"
REDACTED_RECIPIENT = "removed@removed.invalid"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
# Anything a mail client could turn into a link or markup.
LINK_OR_HTML = re.compile(r"[<>]|://|www\.|\b[\w-]+\.(?:[a-z]{2,})\b(?:/|\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Invitation:
    friend_name: str
    friend_email: str
    message: str | None
    is_adult: bool


def address_hash(settings: Settings, email: str) -> str:
    return email_hash(settings.privacy_hash_secret.get_secret_value(), email)


def removal_token(settings: Settings, hashed: str) -> str:
    mac = hmac.new(privacy_key(settings, "referral-removal"), hashed.encode(), hashlib.sha256)
    return f"{hashed}.{mac.hexdigest()}"


def read_removal_token(settings: Settings, token: str) -> str:
    hashed, _, mac = token.partition(".")
    expected = removal_token(settings, hashed).encode()
    if not hmac.compare_digest(expected, f"{hashed}.{mac}".encode()):
        raise InvalidRemovalToken()
    return hashed


def check_invitation(invitation: Invitation) -> None:
    """Before anything is stored: a refused request stores nothing."""
    if not invitation.is_adult:
        raise AgeRestricted("Facet only invites persons of 18 or over.")
    if invitation.message and LINK_OR_HTML.search(invitation.message):
        raise ReferralMessageRefused()


async def code_of(session: AsyncSession, account_id: uuid.UUID) -> str:
    """The account's referral code, made on first use."""
    existing = await session.scalar(
        select(ReferralCode.code).where(ReferralCode.account_id == account_id)
    )
    if existing is not None:
        return existing
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        try:
            async with session.begin_nested():
                session.add(ReferralCode(account_id=account_id, code=code))
                await session.flush()
        except IntegrityError:
            # The account's own code made by a parallel request, or (rarely) a code clash.
            existing = await session.scalar(
                select(ReferralCode.code).where(ReferralCode.account_id == account_id)
            )
            if existing is not None:
                return existing
            continue
        return code


async def invite(
    session: AsyncSession,
    settings: Settings,
    *,
    referrer_id: uuid.UUID,
    referrer_name: str,
    invitation: Invitation,
) -> None:
    """Record the referral in the referrer's list and queue the one invitation this
    address will ever get, if it is still to be had. The referral looks the same whether
    the address was new or known; for a suppressed address it holds no name or address."""
    check_invitation(invitation)
    address = normalize_email(invitation.friend_email)
    hashed = address_hash(settings, address)
    code = await code_of(session, referrer_id)
    claimed = await _claim_invitation(session, hashed)
    suppressed = await session.get(ReferralSuppression, hashed) is not None
    now = utcnow()
    referral = {
        "id": uuid.uuid4(),
        "address_hash": hashed,
        "referrer_id": referrer_id,
        "code": code,
        "status": ReferralStatus.invited,
        "created_at": now,
        "friend_name": None if suppressed else invitation.friend_name,
        "friend_email": None if suppressed else address,
        "friend_data_removed_at": now if suppressed else None,
    }
    await session.execute(
        _insert(session, Referral)
        .values(referral)
        .on_conflict_do_nothing(index_elements=["referrer_id", "address_hash"])
    )
    if not claimed or suppressed:
        return
    link = (
        f"{settings.storefront_url.rstrip('/')}/referrals/remove"
        f"?token={removal_token(settings, hashed)}"
    )
    note = f"\n\nTheir message:\n{invitation.message}" if invitation.message else ""
    message = enqueue_email(
        session,
        to=address,
        subject=f"{referrer_name} thinks you would like Facet",
        body=(
            f"Hello {invitation.friend_name},\n\n{referrer_name} invited you to Facet Fine "
            f"Jewelry. Use the code {code} when you register or check out.{note}\n\n"
            "This is the only invitation we will send to this address. To have your name "
            f"and address deleted and never be invited again, open:\n{link}\n\n"
            "Facet Fine Jewelry\n"
        ),
        kind=INVITATION_KIND,
    )
    await session.flush()
    await session.execute(
        update(ReferralInvitation)
        .where(ReferralInvitation.address_hash == hashed)
        .values(message_id=message.id)
        .execution_options(synchronize_session=False)
    )


def _insert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can skip a row whose key is taken, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def _claim_invitation(session: AsyncSession, hashed: str) -> bool:
    """Take the address's one invitation. True for exactly one caller ever: a concurrent
    claimer waits on the primary key (PostgreSQL) or the write lock (SQLite) and finds it
    taken. A caller that finds it taken then shares a lock on it, which a removal takes
    exclusively: so no referral can store the friend's data beside a removal in flight."""
    claimed = await session.scalar(
        _insert(session, ReferralInvitation)
        .values(address_hash=hashed, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["address_hash"])
        .returning(ReferralInvitation.address_hash)
    )
    if claimed is not None:
        return True
    await session.execute(
        select(ReferralInvitation.address_hash)
        .where(ReferralInvitation.address_hash == hashed)
        .with_for_update(read=True)
    )
    return False


async def remove(session: AsyncSession, settings: Settings, token: str) -> None:
    """Delete the friend's data everywhere and suppress the address; idempotent."""
    hashed = read_removal_token(settings, token)
    # Waits for referrals of this address in flight, and holds later ones back until the
    # suppression is committed (see _claim_invitation).
    await session.execute(
        select(ReferralInvitation.address_hash)
        .where(ReferralInvitation.address_hash == hashed)
        .with_for_update()
    )
    addresses = set(
        await session.scalars(
            select(Referral.friend_email).where(
                Referral.address_hash == hashed, Referral.friend_email.is_not(None)
            )
        )
    )
    await forget_friend(session, hashed, addresses)
    await session.execute(
        _insert(session, ReferralSuppression)
        .values(address_hash=hashed, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["address_hash"])
    )


async def forget_friend(session: AsyncSession, hashed: str, addresses: set[str]) -> int:
    """Remove the friend's name and address from every referral of the address (whoever
    made it) and from their invitation: a queued invitation is dropped, a sent one
    redacted."""
    await session.execute(
        update(Referral)
        .where(Referral.address_hash == hashed, Referral.status == ReferralStatus.invited)
        .values(status=ReferralStatus.removed)
        .execution_options(synchronize_session=False)
    )
    changed = await session.execute(
        update(Referral)
        .where(Referral.address_hash == hashed, Referral.friend_email.is_not(None))
        .values(friend_name=None, friend_email=None, friend_data_removed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    sent_invitation = select(ReferralInvitation.message_id).where(
        ReferralInvitation.address_hash == hashed, ReferralInvitation.message_id.is_not(None)
    )
    to_friend = and_(
        OutboxMessage.kind == INVITATION_KIND,
        or_(
            OutboxMessage.id.in_(sent_invitation),
            func.lower(OutboxMessage.recipient).in_(sorted(addresses)),
        ),
    )
    await session.execute(
        delete(OutboxMessage).where(to_friend, OutboxMessage.status != MessageStatus.sent)
    )
    await session.execute(
        update(OutboxMessage)
        .where(to_friend, OutboxMessage.status == MessageStatus.sent)
        .values(recipient=REDACTED_RECIPIENT, subject=REDACTED, body=REDACTED)
        .execution_options(synchronize_session=False)
    )
    return rows_affected(changed)


async def record_conversion(
    session: AsyncSession, settings: Settings, *, code: str | None, email: str, via: str
) -> bool:
    """The friend registered or checked out with a referrer's code: the referral of
    their address under that code is converted and the friend's data dropped from it."""
    if not code:
        return False
    now = utcnow()
    result = await session.execute(
        update(Referral)
        .where(
            Referral.address_hash == address_hash(settings, email),
            Referral.code == code.upper(),
            Referral.status == ReferralStatus.invited,
        )
        .values(
            status=ReferralStatus.converted,
            converted_at=now,
            converted_via=via,
            friend_name=None,
            friend_email=None,
            friend_data_removed_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result) > 0


async def purge_served(
    session: AsyncSession, *, window_days: int, now: datetime | None = None
) -> int:
    """Drop friend data whose purpose is served: converted, removed, or past the window."""
    now = now or utcnow()
    served = or_(
        Referral.status != ReferralStatus.invited,
        Referral.created_at < now - timedelta(days=window_days),
    )
    result = await session.execute(
        update(Referral)
        .where(served, Referral.friend_email.is_not(None))
        .values(friend_name=None, friend_email=None, friend_data_removed_at=now)
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result)


async def list_mine(
    session: AsyncSession, account_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[Referral], str | None]:
    """The referrer's referrals, newest first."""
    return await paginate_by_creation(
        session, select(Referral).where(Referral.referrer_id == account_id),
        created_at=Referral.created_at, id_=Referral.id,
        limit=limit, cursor=cursor, newest_first=True,
    )  # fmt: skip


@dataclass(frozen=True)
class ProgrammeTotals:
    referrals: int
    sent: int
    suppressed: int
    converted: int
    conversion_rate: float


async def totals(session: AsyncSession) -> ProgrammeTotals:
    """Per address: invitations sent, addresses suppressed, addresses converted (by any of
    their referrers' codes), so the rate stays a share of the invitations; and referrals."""

    async def count(query: Select[tuple[int]]) -> int:
        return int(await session.scalar(query) or 0)

    referrals = await count(select(func.count()).select_from(Referral))
    sent = await count(select(func.count()).select_from(ReferralInvitation))
    suppressed = await count(select(func.count()).select_from(ReferralSuppression))
    converted = await count(
        select(func.count(func.distinct(Referral.address_hash))).where(
            Referral.status == ReferralStatus.converted
        )
    )
    rate = round(converted / sent, 4) if sent else 0.0
    return ProgrammeTotals(referrals, sent, suppressed, converted, rate)
