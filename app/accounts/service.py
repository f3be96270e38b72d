"""Registration, profile rectification, addresses and staff account listing."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from app.accounts.errors import (
    AddressLimitReached,
    AddressNotFound,
    CurrentPasswordRequired,
    EmailTaken,
    WeakPassword,
)
from app.accounts.models import Account, Address, LoginSession, RefreshToken, Role
from app.accounts.schemas import AccountCreate, AccountUpdate, AddressCreate, AddressUpdate
from app.accounts.throttle import PasswordThrottle
from app.accounts.verification import send_verification
from app.core.db import rows_affected, utcnow
from app.core.errors import AgeRestricted
from app.core.pagination import paginate_by_creation
from app.core.security import hash_password_in_thread, verify_password_in_thread
from app.core.settings import Settings, get_settings
from app.privacy import consent
from app.privacy import service as privacy_service
from app.privacy.consent_models import ConsentSource, Purpose
from app.privacy.subjects import account_subject
from app.referrals import service as referrals

ADULT_AGE = 18
_COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])


def normalize_email(email: str) -> str:
    # NUL never belongs in an address, and PostgreSQL would refuse it in a query.
    return email.replace("\x00", "").strip().lower()


def is_adult(date_of_birth: date, *, today: date | None = None) -> bool:
    today = today or utcnow().date()
    had_birthday = (today.month, today.day) >= (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - (0 if had_birthday else 1) >= ADULT_AGE


def require_adult(date_of_birth: date) -> None:
    if not is_adult(date_of_birth):
        raise AgeRestricted("Facet does not collect data from or sell to persons under 18.")


def check_password_strength(password: str, *, email: str, full_name: str = "") -> None:
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise WeakPassword("This password is too common; choose a less predictable one.")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        raise WeakPassword("The password must not contain your email address.")
    if full_name and full_name.lower().replace(" ", "") == lowered.replace(" ", ""):
        raise WeakPassword("The password must not be your name.")


async def get_account_by_email(session: AsyncSession, email: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.email == normalize_email(email)))


async def register(
    session: AsyncSession,
    data: AccountCreate,
    *,
    role: Role = Role.customer,
    settings: Settings | None = None,
) -> Account:
    # The age check comes first: a refused minor's submission stores nothing (P9).
    require_adult(data.date_of_birth)
    email = normalize_email(data.email)
    check_password_strength(data.password, email=email, full_name=data.full_name)
    if await get_account_by_email(session, email) is not None:
        raise EmailTaken()
    account = Account(
        email=email,
        password_hash=await hash_password_in_thread(data.password),
        full_name=data.full_name,
        phone=data.phone,
        role=role,
        adult_verified_at=utcnow(),
    )
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken() from exc
    await privacy_service.accept_current(session, account.id, required=False)  # P12
    if data.marketing_opt_in:  # P2: an unticked box records nothing (all starts withdrawn)
        await consent.record(
            session,
            account_subject(account.id),
            {Purpose.marketing_email: True},
            source=ConsentSource.registration,
        )
    settings = settings or get_settings()
    await referrals.record_conversion(
        session, settings, code=data.referral_code, email=email, via="registration"
    )
    await send_verification(session, settings, account)
    return account


async def check_current_password(
    account: Account, password: str | None, throttle: PasswordThrottle, *, detail: str
) -> None:
    """Re-check the password before a sensitive change, under the login throttle."""
    if password is None:
        raise CurrentPasswordRequired(detail)
    throttle.check()
    if not await verify_password_in_thread(account.password_hash, password):
        throttle.record_failure()
        raise CurrentPasswordRequired(detail)
    throttle.record_success()


async def update_profile(
    session: AsyncSession,
    account: Account,
    data: AccountUpdate,
    throttle: PasswordThrottle,
    settings: Settings,
) -> Account:
    changes = data.model_dump(exclude_unset=True, exclude={"current_password", "email"})
    if "full_name" in changes and changes["full_name"] is None:
        del changes["full_name"]  # a name is required; null means "no change"
    for field, value in changes.items():
        setattr(account, field, value)
    email_changed = data.email is not None and normalize_email(data.email) != account.email
    if data.email is not None and email_changed:
        await check_current_password(
            account,
            data.current_password,
            throttle,
            detail="Changing the email needs the current password.",
        )
        new_email = normalize_email(data.email)
        if await get_account_by_email(session, new_email) is not None:
            raise EmailTaken()
        account.email = new_email
        account.email_verified_at = None  # the new address is not proven yet
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise EmailTaken() from exc
    if email_changed:
        await send_verification(session, settings, account)
    return account


async def list_addresses(session: AsyncSession, account: Account) -> list[Address]:
    rows = await session.scalars(
        select(Address)
        .where(Address.account_id == account.id)
        .order_by(Address.created_at, Address.id)
    )
    return list(rows)


async def get_address(session: AsyncSession, account: Account, address_id: uuid.UUID) -> Address:
    address = await session.scalar(
        select(Address).where(Address.id == address_id, Address.account_id == account.id)
    )
    if address is None:  # another customer's address is indistinguishable from none
        raise AddressNotFound()
    return address


async def _clear_default(session: AsyncSession, account: Account, *, keep: uuid.UUID) -> None:
    await session.execute(
        update(Address)
        .where(Address.account_id == account.id, Address.id != keep)
        .values(is_default=False)
    )


MAX_ADDRESSES = 20


async def add_address(session: AsyncSession, account: Account, data: AddressCreate) -> Address:
    count = await session.scalar(
        select(func.count()).select_from(Address).where(Address.account_id == account.id)
    )
    address = Address(account_id=account.id, **data.model_dump())
    if not count:
        address.is_default = True
    elif count >= MAX_ADDRESSES:
        raise AddressLimitReached(f"An account can keep at most {MAX_ADDRESSES} addresses.")
    session.add(address)
    await session.flush()
    if address.is_default:
        await _clear_default(session, account, keep=address.id)
    return address


async def update_address(
    session: AsyncSession, account: Account, address: Address, data: AddressUpdate
) -> Address:
    changes = data.model_dump(exclude_unset=True)
    required = {"full_name", "line1", "city", "postal_code", "country", "is_default"}
    for field, value in changes.items():
        if value is None and field in required:
            continue  # null on a required field means "no change"
        setattr(address, field, value)
    await session.flush()
    if address.is_default:
        await _clear_default(session, account, keep=address.id)
    return address


async def delete_address(session: AsyncSession, address: Address) -> None:
    await session.delete(address)
    await session.flush()


async def list_accounts(
    session: AsyncSession, *, limit: int, cursor: str | None, role: Role | None = None
) -> tuple[list[Account], str | None]:
    query = select(Account)
    if role is not None:
        query = query.where(Account.role == role)
    return await paginate_by_creation(
        session, query, created_at=Account.created_at, id_=Account.id, limit=limit, cursor=cursor
    )


async def promote_to_staff(session: AsyncSession, account: Account) -> Account:
    account.role = Role.staff
    await session.flush()
    return account


async def purge_ended_sessions(
    session: AsyncSession, *, retention_days: int, now: datetime | None = None
) -> int:
    """Login sessions and their refresh tokens that expired more than `retention_days` ago
    (a revoked session still ends at its expiry: reuse of its tokens is detected until then)."""
    before = (now or utcnow()) - timedelta(days=retention_days)
    await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < before))
    result = await session.execute(delete(LoginSession).where(LoginSession.expires_at < before))
    return rows_affected(result)
