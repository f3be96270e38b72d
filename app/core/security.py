"""Passwords, access tokens and opaque secrets.

This is the only module that imports `jose`, so the JWT library stays swappable.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from jose import JWTError, jwt

from app.core.db import utcnow
from app.core.settings import Settings

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("an unknown account still costs one verification")

_REQUIRED_CLAIMS = {
    f"require_{claim}": True for claim in ("exp", "iat", "sub", "aud", "iss", "jti")
}
# python-jose has no `require_sid`: decode_access_token checks it itself. A token without
# a session cannot be revoked, so it is refused.


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown account) still spend the same work."""
    try:
        # A blank hash counts as none: it must never match the dummy hash's password.
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Argon2 costs ~50 ms of CPU and 64 MiB per call: run it in threads so the event loop keeps
# serving, and in a pool no larger than the CPU count so a login burst cannot exhaust memory.
_password_pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")


async def hash_password_in_thread(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_password_pool, hash_password, password)


async def verify_password_in_thread(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _password_pool, verify_password, password_hash, password
    )


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    role: str
    token_id: str
    session_id: uuid.UUID  # the login session (refresh-token family) the token belongs to
    expires_at: datetime


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not meant for this API."""


def create_access_token(
    settings: Settings,
    *,
    subject: uuid.UUID,
    role: str,
    session_id: uuid.UUID,
    now: datetime | None = None,
) -> AccessToken:
    issued = now or utcnow()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "sub": str(subject),
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "jti": uuid.uuid4().hex,
        "sid": str(session_id),
    }
    token = jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )
    return AccessToken(token=token, expires_in=int(lifetime.total_seconds()))


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options=_REQUIRED_CLAIMS,
        )
        return AccessClaims(
            subject=uuid.UUID(claims["sub"]),
            role=str(claims.get("role", "customer")),
            token_id=str(claims["jti"]),
            session_id=uuid.UUID(str(claims["sid"])),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=utcnow().tzinfo),
        )
    except (JWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken from exc


def new_secret_token(nbytes: int = 32) -> str:
    """A random, URL-safe secret (refresh tokens, order tokens, opt-out links)."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256 digests: they are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_hash(settings: Settings, value: str, *, purpose: str) -> str:
    """A keyed digest of a personal value, for lookups that must not store the value."""
    key = hashlib.sha256(f"{purpose}:{settings.jwt_secret.get_secret_value()}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def client_address_key(settings: Settings, client_ip: str) -> str:
    """The client's address as throttling counters store it: keyed, never the raw
    address (P4 keeps only coarse technical data, and counters are no exception)."""
    return keyed_hash(settings, client_ip, purpose="client-address")
