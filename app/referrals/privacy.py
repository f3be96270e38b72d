"""The referrals domain's personal-data handler.

As a referrer, a subject's referrals are exported (status and dates; the friend's data
is the friend's) and unlinked from them on erasure, their code deleted. As a friend (an
address of the subject), every referral naming them (one per referrer) is exported with
the name and address it holds, which erasure removes. The keyed hashes stay (on the
referrals, the invitations and the suppressions): they are what keeps an address from
being invited twice or after removal, and cannot be read back into an address.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected, utcnow
from app.privacy.registry import ErasureResult, Kept, Subject
from app.referrals.models import Referral, ReferralCode


class ReferralsPersonalData:
    name = "referrals"
    tables = frozenset(
        {"referrals", "referral_codes", "referral_invitations", "referral_suppressions"}
    )

    def _as_friend(self, subject: Subject) -> Any:
        if not subject.mail_addresses:
            return false()
        return func.lower(Referral.friend_email).in_(sorted(subject.mail_addresses))

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        sent: list[Referral] = []
        code = None
        if subject.account_id is not None:
            code = await session.scalar(
                select(ReferralCode.code).where(ReferralCode.account_id == subject.account_id)
            )
            sent = list(
                await session.scalars(
                    select(Referral)
                    .where(Referral.referrer_id == subject.account_id)
                    .order_by(Referral.created_at)
                )
            )
        received = await session.scalars(
            select(Referral).where(self._as_friend(subject)).order_by(Referral.created_at)
        )
        return {
            "referral_code": code,
            "referrals_sent": [
                {"status": r.status.value, "created_at": r.created_at,
                 "converted_at": r.converted_at}
                for r in sent
            ],
            "invitations_received": [
                {"name": r.friend_name, "email": r.friend_email, "created_at": r.created_at}
                for r in received
            ],
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        forgotten = await session.execute(
            update(Referral)
            .where(self._as_friend(subject))
            .values(friend_name=None, friend_email=None, friend_data_removed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        result.count_anonymized("referrals", rows_affected(forgotten))
        if subject.account_id is not None:
            unlinked = await session.execute(
                update(Referral)
                .where(Referral.referrer_id == subject.account_id)
                .values(referrer_id=None)
                .execution_options(synchronize_session=False)
            )
            result.count_anonymized("referrals", rows_affected(unlinked))
            deleted = await session.execute(
                delete(ReferralCode).where(ReferralCode.account_id == subject.account_id)
            )
            result.count_deleted("referral_codes", rows_affected(deleted))
        result.kept.append(
            Kept(
                what="keyed hashes of invited and suppressed addresses",
                why="they keep an address from being invited twice or after removal",
            )
        )
        return result
