"""The consent ledger (P2, P5): append-only events, the state they add up to, opt-out
tokens, and the check the outbox runs before it delivers marketing.

The state of a subject's purpose is its latest event; with no event it is withdrawn.
Nothing here imports another domain: callers pass account ids and email addresses.

Joining a guest's history to an account: a guest's choices are recorded against the
keyed hash of their email. When an account verifies that email, every purpose whose
latest hash event is newer than the account's own latest event for it is carried into
the account (a `verified_email` event with the same choice). Before verification the
account's state ignores the hash subject entirely.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from app.core.settings import Settings
from app.outbox.models import MessageCategory, OutboxMessage
from app.outbox.service import enqueue_email
from app.privacy.consent_models import (
    MARKETING_PURPOSES,
    ConsentEvent,
    ConsentSource,
    ContactAddress,
    Purpose,
)
from app.privacy.errors import InvalidOptOutToken
from app.privacy.service import current_version
from app.privacy.subjects import account_subject, email_subject, normalize_email, privacy_key

OPT_OUT_ALL = "all"
MAX_SEQ = 2**31 - 1


@dataclass(frozen=True)
class ConsentState:
    purpose: Purpose
    granted: bool
    since: datetime | None  # when the latest event was recorded; None: never chosen


async def _latest_events(
    session: AsyncSession, subject: str, purposes: list[Purpose] | None = None
) -> dict[Purpose, ConsentEvent]:
    latest = (
        select(func.max(ConsentEvent.seq))
        .where(ConsentEvent.subject == subject)
        .group_by(ConsentEvent.purpose)
    )
    if purposes is not None:
        latest = latest.where(ConsentEvent.purpose.in_(purposes))
    rows = await session.scalars(select(ConsentEvent).where(ConsentEvent.seq.in_(latest)))
    return {event.purpose: event for event in rows}


async def current_state(session: AsyncSession, subject: str) -> list[ConsentState]:
    """Every purpose, granted or not; a purpose never chosen is withdrawn."""
    latest = await _latest_events(session, subject)
    return [
        ConsentState(
            purpose=purpose,
            granted=bool(latest[purpose].granted) if purpose in latest else False,
            since=latest[purpose].recorded_at if purpose in latest else None,
        )
        for purpose in Purpose
    ]


async def holds(session: AsyncSession, subject: str, purpose: Purpose | str) -> bool:
    granted = await session.scalar(
        select(ConsentEvent.granted)
        .where(ConsentEvent.subject == subject, ConsentEvent.purpose == purpose)
        .order_by(ConsentEvent.seq.desc())
        .limit(1)
    )
    return bool(granted)


async def record(
    session: AsyncSession,
    subject: str,
    choices: Mapping[Purpose, bool],
    *,
    source: ConsentSource,
) -> list[ConsentEvent]:
    """Append one event per purpose whose state the choice changes. A repeated choice adds
    nothing (double submits and repeated opt-outs keep the history readable), and since
    everything starts withdrawn, a first withdrawal adds nothing either."""
    if not choices:
        return []
    latest = await _latest_events(session, subject, list(choices))
    policy = await current_version(session)
    now = utcnow()
    events = [
        ConsentEvent(
            subject=subject,
            purpose=purpose,
            granted=granted,
            source=source,
            policy_version=policy.version if policy else None,
            recorded_at=now,
        )
        for purpose, granted in choices.items()
        if (bool(latest[purpose].granted) if purpose in latest else False) != granted
    ]
    session.add_all(events)
    await session.flush()
    return events


async def record_for_email(
    session: AsyncSession,
    settings: Settings,
    email: str,
    choices: Mapping[Purpose, bool],
    *,
    source: ConsentSource,
) -> list[ConsentEvent]:
    """Record a choice of someone known only by an address; a grant keeps the address
    so what they asked for can be delivered."""
    subject = email_subject(settings, email)
    events = await record(session, subject, choices, source=source)
    if any(choices.values()):
        await _remember_address(session, subject, normalize_email(email))
    return events


async def _remember_address(session: AsyncSession, subject: str, email: str) -> None:
    contact = await session.get(ContactAddress, subject)
    if contact is not None:
        contact.email = email
        await session.flush()
        return
    try:
        async with session.begin_nested():
            session.add(ContactAddress(subject=subject, email=email, updated_at=utcnow()))
            await session.flush()
    except IntegrityError:  # a concurrent request stored the same address
        pass


async def join_verified_email(
    session: AsyncSession, settings: Settings, account_id: uuid.UUID, email: str
) -> list[ConsentEvent]:
    """Carry the email's newer choices into the account that has just verified it."""
    account = account_subject(account_id)
    from_email = await _latest_events(session, email_subject(settings, email))
    own = await _latest_events(session, account)
    carried = {
        purpose: bool(event.granted)
        for purpose, event in from_email.items()
        if purpose not in own or event.seq > own[purpose].seq
    }
    return await record(session, account, carried, source=ConsentSource.verified_email)


async def history(
    session: AsyncSession, subject: str, *, limit: int, cursor: str | None
) -> tuple[list[ConsentEvent], str | None]:
    """The subject's events, newest first."""
    query = (
        select(ConsentEvent)
        .where(ConsentEvent.subject == subject)
        .order_by(ConsentEvent.seq.desc())
        .limit(limit + 1)
    )
    if cursor:
        (before,) = decode_cursor(cursor, arity=1)
        if not isinstance(before, int) or isinstance(before, bool) or not 0 < before <= MAX_SEQ:
            raise InvalidCursor("The cursor is not one this API issued.", parameter="cursor")
        query = query.where(ConsentEvent.seq < before)
    rows = list(await session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].seq])


# ---- opt-out tokens ----
# A token is `<payload>.<mac>`: the payload names the subject and purpose, the MAC (HMAC
# over the payload with a key derived from the privacy secret) makes it unforgeable.
# No table: the same link keeps working, and withdrawing twice changes nothing.


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, payload: str) -> str:
    key = privacy_key(settings, "opt-out-token")
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def opt_out_token(settings: Settings, subject: str, purpose: Purpose) -> str:
    payload = _b64(f"{subject}|{purpose.value}".encode())
    return f"{payload}.{_mac(settings, payload)}"


def read_opt_out_token(settings: Settings, token: str) -> tuple[str, Purpose]:
    payload, _, mac = token.partition(".")
    if not payload or not mac or not hmac.compare_digest(mac, _mac(settings, payload)):
        raise InvalidOptOutToken()
    try:
        subject, _, purpose = _unb64(payload).decode().partition("|")
        return subject, Purpose(purpose)
    except ValueError as exc:  # signed by us but not a shape we issue
        raise InvalidOptOutToken() from exc


async def opt_out(
    session: AsyncSession, settings: Settings, token: str, purpose: str | None
) -> None:
    """Withdraw the token's purpose (or every marketing purpose with `all`). The answer
    is the same whether or not the subject exists or had consented."""
    subject, signed_purpose = read_opt_out_token(settings, token)
    if purpose is None or purpose == signed_purpose.value:
        withdrawn: tuple[Purpose, ...] = (signed_purpose,)
    elif purpose == OPT_OUT_ALL:
        withdrawn = MARKETING_PURPOSES
    else:  # a link for one purpose does not withdraw another one by one
        raise InvalidOptOutToken(parameter="purpose")
    await record(
        session, subject, dict.fromkeys(withdrawn, False), source=ConsentSource.opt_out_link
    )


def opt_out_link(settings: Settings, token: str) -> str:
    return f"{settings.public_api_url.rstrip('/')}/v1/privacy/opt-out/one-click?token={token}"


def enqueue_marketing(
    session: AsyncSession,
    settings: Settings,
    *,
    to: str,
    subject_line: str,
    text: str,
    kind: str,
    data_subject: str,
    purpose: Purpose,
) -> OutboxMessage:
    """Queue a marketing email carrying its opt-out: a link in the body and the RFC 8058
    one-click headers (mail clients POST `List-Unsubscribe=One-Click` to the link)."""
    token = opt_out_token(settings, data_subject, purpose)
    link = opt_out_link(settings, token)
    body = (
        f"{text.rstrip()}\n\n--\n"
        "You receive this because you agreed to hear from us. To stop, open this link "
        f"or send this code to our opt-out page:\n{link}\n\nOpt-out code: {token}\n"
    )
    return enqueue_email(
        session,
        to=to,
        subject=subject_line,
        body=body,
        kind=kind,
        category=MessageCategory.marketing,
        data_subject=data_subject,
        purpose=purpose.value,
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


async def may_deliver(session: AsyncSession, message: OutboxMessage) -> bool:
    """The outbox's check before sending: transactional mail always goes; marketing only
    while its subject still holds its purpose (a withdrawal after queueing stops it)."""
    if message.category != MessageCategory.marketing:
        return True
    if not message.data_subject or not message.purpose:
        return False
    return await holds(session, message.data_subject, message.purpose)
