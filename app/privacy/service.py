"""Privacy policy versions and acceptances (P12).

Publishing a material version queues one transactional notice email per active
account, in the publishing transaction. The accounts themselves come from a
`NoticeRecipients` callable the caller passes in: this domain imports no other.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.mail.base import MailError, MailSender, OutgoingEmail
from app.core.db import utcnow
from app.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from app.outbox.service import enqueue_email
from app.privacy.errors import (
    InvalidEffectiveDate,
    NoPolicyInForce,
    PolicyUnchanged,
    PolicyVersionConflict,
)
from app.privacy.models import PolicyAcceptance, PolicyVersion
from app.privacy.registry import ErasureResult, Kept, Registry, Subject
from app.privacy.schemas import (
    ErasureKept,
    ErasureReceipt,
    PersonalDataExport,
    PolicyNotice,
    PolicyPublish,
)

# Yields the email addresses of every active account, a batch at a time.
NoticeRecipients = Callable[[AsyncSession], AsyncIterator[list[str]]]

log = logging.getLogger("facet.privacy")

NOTICE_EMAIL_KIND = "privacy_policy_notice"
# A change is announced ahead of time, but not so far ahead that the notice loses meaning.
MAX_ANNOUNCEMENT = timedelta(days=366)
MAX_VERSION = 2**31 - 1


def _today() -> date:
    return utcnow().date()


async def current_version(
    session: AsyncSession, *, today: date | None = None
) -> PolicyVersion | None:
    """The newest version already in effect."""
    return await session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.effective_on <= (today or _today()))
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )


async def require_current_version(session: AsyncSession) -> PolicyVersion:
    version = await current_version(session)
    if version is None:
        raise NoPolicyInForce()
    return version


async def running_notice(
    session: AsyncSession, *, today: date | None = None
) -> PolicyNotice | None:
    """The newest material change whose notice period runs today (it may not be in effect yet)."""
    version = await session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.material, PolicyVersion.notice_until >= (today or _today()))
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )
    if version is None or version.notice_until is None or version.notice_text is None:
        return None
    return PolicyNotice(
        version=version.version,
        text=version.notice_text,
        effective_on=version.effective_on,
        until=version.notice_until,
    )


async def list_versions(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[PolicyVersion], str | None]:
    """Every published version, newest first."""
    query = select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(limit + 1)
    if cursor:
        (before,) = decode_cursor(cursor, arity=1)
        if not isinstance(before, int) or isinstance(before, bool) or not 0 < before <= MAX_VERSION:
            raise InvalidCursor("The cursor is not one this API issued.", parameter="cursor")
        query = query.where(PolicyVersion.version < before)
    rows = list(await session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].version])


@dataclass(frozen=True)
class Publication:
    version: PolicyVersion
    notices_queued: int


def _default_notice(version: int, effective_on: date) -> str:
    return (
        f"We have made an important change to our privacy policy (version {version}), "
        f"in effect from {effective_on.isoformat()}. Please read it."
    )


def _notice_email(version: PolicyVersion) -> tuple[str, str]:
    subject = "An important change to our privacy policy"
    body = (
        "Hello,\n\n"
        f"We have made a material change to our privacy policy. Version {version.version} "
        f"takes effect on {version.effective_on.isoformat()}.\n\n"
        f"{version.notice_text}\n\n"
        "You can read the full policy in your account or on our website, and accept it "
        "from your account. You receive this message because you have an account with us; "
        "it is a service notice, not marketing.\n\n"
        "Facet Fine Jewelry\n"
    )
    return subject, body


async def publish(
    session: AsyncSession,
    data: PolicyPublish,
    *,
    published_by: uuid.UUID,
    recipients: NoticeRecipients,
) -> Publication:
    """Publish the next version; a material one notifies every active account once."""
    today = _today()
    effective_on = data.effective_on or today
    if not today <= effective_on <= today + MAX_ANNOUNCEMENT:
        raise InvalidEffectiveDate(parameter="effective_on")
    latest = await session.scalar(
        select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1)
    )
    if latest is not None and latest.text_markdown == data.text_markdown:
        raise PolicyUnchanged()
    number = (latest.version if latest else 0) + 1
    version = PolicyVersion(
        version=number,
        effective_on=effective_on,
        text_markdown=data.text_markdown,
        material=data.material,
        published_by=published_by,
        published_at=utcnow(),
    )
    if data.material:
        version.notice_until = effective_on + timedelta(days=data.notice_days)
        version.notice_text = data.notice_text or _default_notice(number, effective_on)
    session.add(version)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent publication took this number
        raise PolicyVersionConflict() from exc

    queued = 0
    if data.material:
        subject, body = _notice_email(version)
        async for batch in recipients(session):
            messages = [
                enqueue_email(session, to=email, subject=subject, body=body, kind=NOTICE_EMAIL_KIND)
                for email in batch
            ]
            await session.flush()
            # A large store has many accounts: keep only one batch in memory at a time.
            for message in messages:
                session.expunge(message)
            queued += len(messages)
    return Publication(version=version, notices_queued=queued)


async def accept_current(
    session: AsyncSession, account_id: uuid.UUID, *, required: bool = True
) -> PolicyAcceptance | None:
    """Record that the account accepts the version in force; accepting again changes nothing.

    With `required=False` (registration) a store without a policy records nothing.
    """
    version = await current_version(session)
    if version is None:
        if required:
            raise NoPolicyInForce()
        return None
    existing = await _acceptance(session, account_id, version.version)
    if existing is not None:
        return existing
    acceptance = PolicyAcceptance(
        account_id=account_id, version=version.version, accepted_at=utcnow()
    )
    try:
        # Added inside the savepoint, so a lost race discards it with the savepoint.
        async with session.begin_nested():
            session.add(acceptance)
            await session.flush()
    except IntegrityError:  # the same account accepted in a concurrent request
        return await _acceptance(session, account_id, version.version)
    return acceptance


async def _acceptance(
    session: AsyncSession, account_id: uuid.UUID, version: int
) -> PolicyAcceptance | None:
    return await session.scalar(
        select(PolicyAcceptance).where(
            PolicyAcceptance.account_id == account_id, PolicyAcceptance.version == version
        )
    )


async def acceptance_pending(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """Whether the version in force still awaits the account's acceptance (one indexed query)."""
    in_force = (
        select(func.max(PolicyVersion.version))
        .where(PolicyVersion.effective_on <= _today())
        .scalar_subquery()
    )
    accepted = (
        select(PolicyAcceptance.id)
        .where(PolicyAcceptance.account_id == account_id, PolicyAcceptance.version == in_force)
        .exists()
    )
    pending = await session.scalar(select(in_force.is_not(None) & ~accepted))
    return bool(pending)


# -- Access and erasure through the personal-data registry (issue 9) ------------------------

RECEIPT_SUBJECT = "Your personal data has been erased"


async def find_subject(session: AsyncSession, registry: Registry, account_id: uuid.UUID) -> Subject:
    """The account and everything each domain links to it. The handlers run in erasure
    order (the cart's lock comes first), so a link found by a later one (the account's
    verified email) is followed by another round until nothing new turns up."""
    subject = Subject(account_id=account_id)
    while True:
        before = copy.deepcopy(subject)
        for handler in registry.handlers:
            await handler.expand(session, subject)
        if subject == before:
            return subject


async def export_personal_data(
    session: AsyncSession, registry: Registry, account_id: uuid.UUID
) -> PersonalDataExport:
    subject = await find_subject(session, registry, account_id)
    return PersonalDataExport.model_validate(await export_document(session, registry, subject))


async def export_document(
    session: AsyncSession, registry: Registry, subject: Subject
) -> dict[str, Any]:
    """Every handler's section for an already expanded subject."""
    document: dict[str, Any] = {"generated_at": utcnow()}
    for handler in registry.handlers:
        document.update(await handler.export(session, subject))
    return PersonalDataExport.model_validate(document).model_dump(mode="json")


@dataclass(frozen=True)
class Erasure:
    receipt: ErasureReceipt
    # Where the receipt goes (the account's address), and every address whose mail
    # copies the mail backend then forgets.
    receipt_to: str | None
    forget_addresses: frozenset[str]


async def erase_personal_data(
    session: AsyncSession,
    registry: Registry,
    account_id: uuid.UUID,
    *,
    confirm_password: Callable[[], Awaitable[None]],
    mail_keeps_copies: bool,
    processor_notes: Sequence[Kept] = (),
) -> Erasure:
    """Erase the account's personal data in the registry's order, in this transaction.
    Every handler may refuse first (an open order), so nothing is ever half erased."""
    await confirm_password()
    subject = await find_subject(session, registry, account_id)
    return await erase_subject(
        session, registry, subject, receipt_to=subject.account_email,
        mail_keeps_copies=mail_keeps_copies, processor_notes=processor_notes,
    )  # fmt: skip


async def erase_subject(
    session: AsyncSession,
    registry: Registry,
    subject: Subject,
    *,
    receipt_to: str | None,
    mail_keeps_copies: bool,
    processor_notes: Sequence[Kept] = (),
) -> Erasure:
    """Erase an expanded subject; `processor_notes` say what stays with each processor."""
    for handler in registry.handlers:
        await handler.check(session, subject)
    result = ErasureResult()
    for handler in registry.handlers:
        result.merge(await handler.erase(session, subject))
        await session.flush()
    if mail_keeps_copies:
        result.kept.append(
            Kept(
                what="nothing of the emails we sent you",
                why="our copies are deleted once this receipt is sent",
            )
        )
    else:
        result.kept.append(Kept(
            what="the emails we sent you, this receipt included, in your own mailbox",
            why="mail handed to your mail provider cannot be recalled; we keep no copy",
        ))  # fmt: skip
    result.kept.extend(processor_notes)
    receipt = ErasureReceipt(
        erased_at=utcnow(),
        deleted=result.deleted,
        anonymized=result.anonymized,
        kept=[ErasureKept(what=k.what, why=k.why) for k in result.kept],
    )
    return Erasure(receipt, receipt_to, frozenset(subject.mail_addresses))


def receipt_text(receipt: ErasureReceipt) -> str:
    lines = ["Hello,", "", "as you asked, we erased your personal data.", "", "Deleted:"]
    lines += [f"- {table}: {rows}" for table, rows in sorted(receipt.deleted.items())]
    lines += ["", "Anonymized (kept without anything that names you):"]
    lines += [f"- {table}: {rows}" for table, rows in sorted(receipt.anonymized.items())]
    lines += ["", "Kept, and why:"]
    lines += [f"- {kept.what}: {kept.why}" for kept in receipt.kept]
    lines += ["", "This is the last message we send to this address.", "", "Facet Fine Jewelry"]
    return "\n".join(lines)


async def send_receipt_and_forget(sender: MailSender, erasure: Erasure) -> None:
    """After the erasure committed: the receipt is the last message to the address, sent
    directly (the outbox would keep the address in its row); then the mail backend
    forgets its copies of everything sent to the subject's addresses, the receipt too.
    A failed send is logged without content: the answer already carried the receipt."""
    if erasure.receipt_to is not None:
        try:
            await sender.send(
                OutgoingEmail(
                    message_id=uuid.uuid4().hex,
                    to=erasure.receipt_to,
                    subject=RECEIPT_SUBJECT,
                    text=receipt_text(erasure.receipt),
                )
            )
        except MailError as exc:
            log.warning("erasure receipt not sent", extra={"error_type": type(exc).__name__})
    for address in sorted(erasure.forget_addresses):
        await sender.forget(address)
