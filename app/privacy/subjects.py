"""Who a consent belongs to, as the ledger and the outbox write it.

`account:<uuid>` for an account; `email:<hex>` for a person known only by an email
address, where the hex is an HMAC of the normalized address under the privacy secret
(FACET_PRIVACY_HASH_SECRET), so the ledger holds no address and a stolen table cannot
be reversed by hashing a list of addresses without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from app.core.settings import Settings

ACCOUNT_PREFIX = "account:"
EMAIL_PREFIX = "email:"


def normalize_email(email: str) -> str:
    """The same rule the accounts domain applies, so both find one person."""
    return email.replace("\x00", "").strip().lower()


def privacy_key(settings: Settings, purpose: str) -> bytes:
    """A key per use of the privacy secret (email hashing, opt-out tokens, ...)."""
    secret = settings.privacy_hash_secret.get_secret_value()
    return hashlib.sha256(f"{purpose}:{secret}".encode()).digest()


def email_hash(secret: str, email: str) -> str:
    key = hashlib.sha256(f"email-subject:{secret}".encode()).digest()
    return hmac.new(key, normalize_email(email).encode(), hashlib.sha256).hexdigest()


def email_subject(settings: Settings, email: str) -> str:
    return EMAIL_PREFIX + email_hash(settings.privacy_hash_secret.get_secret_value(), email)


def account_subject(account_id: uuid.UUID) -> str:
    return ACCOUNT_PREFIX + str(account_id)


def account_of(subject: str) -> uuid.UUID | None:
    """The account id of an `account:` subject, else None."""
    if not subject.startswith(ACCOUNT_PREFIX):
        return None
    try:
        return uuid.UUID(subject.removeprefix(ACCOUNT_PREFIX))
    except ValueError:
        return None
