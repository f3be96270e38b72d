"""Login, access tokens, refresh rotation, logout, password change and login throttling."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import authentication
from app.accounts.models import Account, LoginSession, RefreshToken
from app.core import security
from app.core.db import utcnow
from app.core.logging import JsonFormatter
from app.core.ratelimit import RedisRateLimitBackend
from tests.conftest import REDIS_URL, TEST_JWT_SECRET
from tests.factories import DEFAULT_PASSWORD, bearer, login, make_account, unique_email

PROBLEM = "https://facet.example/problems/"
AUDIENCE = "facet-api"
ISSUER = "facet"
NEW_PASSWORD = "Sapphire-Bezel-Setting-77"
_DROP = object()  # marks a claim to leave out of a hand-built token


def token_claims(subject: uuid.UUID, sid: uuid.UUID, /, **changes: object) -> dict[str, Any]:
    """Claims of a well-formed access token, with some changed or (given `_DROP`) removed."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(subject),
        "role": "customer",
        "iat": now,
        "exp": now + 900,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "jti": uuid.uuid4().hex,
        "sid": str(sid),
    }
    for name, value in changes.items():
        if value is _DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(claims: dict[str, Any], *, key: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` JWT: header, payload and an empty signature."""
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."


async def live_session(session: AsyncSession, account: Account) -> uuid.UUID:
    """A login session of the account, as a login would start it."""
    now = utcnow()
    row = LoginSession(
        id=uuid.uuid4(), account_id=account.id, started_at=now, expires_at=now + timedelta(days=1)
    )
    session.add(row)
    await session.commit()
    return row.id


async def attempt_login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    return body


def assert_invalid_token(response: httpx.Response) -> None:
    assert_problem(response, 401, "invalid-token")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def assert_throttled(response: httpx.Response) -> int:
    assert_problem(response, 429, "too-many-requests")
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit(), retry_after
    assert int(retry_after) > 0
    return int(retry_after)


@pytest.fixture
def swap_state(bound_app: FastAPI) -> Iterator[Callable[[str, object], None]]:
    """Replace an `app.state` entry for one test. (`monkeypatch.setattr` cannot be used:
    Starlette's State keeps entries outside `__dict__`, so pytest's undo deletes them.)"""
    saved: dict[str, object] = {}

    def swap(name: str, value: object) -> None:
        saved.setdefault(name, getattr(bound_app.state, name))
        setattr(bound_app.state, name, value)

    yield swap
    for name, value in saved.items():
        setattr(bound_app.state, name, value)


# --- Login ----------------------------------------------------------------------------------------


async def test_login_returns_a_bearer_pair_whose_access_token_opens_me(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    response = await attempt_login(client, account.email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["refresh_token"] != body["access_token"]

    me = await client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(account.id)
    assert me.json()["email"] == account.email


async def test_login_email_is_case_and_whitespace_insensitive(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    response = await attempt_login(client, f"  {account.email.upper()} ")
    assert response.status_code == 200, response.text


async def test_wrong_password_and_unknown_email_are_indistinguishable(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await make_account(session)

    seen_hashes: list[str | None] = []
    real_verify = authentication.verify_password_in_thread

    async def recording_verify(password_hash: str | None, password: str) -> bool:
        seen_hashes.append(password_hash)
        return await real_verify(password_hash, password)

    argon2_verified: list[str] = []
    real_hasher = security._hasher

    class RecordingHasher:
        """Delegates to the real Argon2 hasher, noting which hash each verify checks."""

        def verify(self, hash: str, password: str) -> bool:
            argon2_verified.append(hash)
            return real_hasher.verify(hash, password)

        def __getattr__(self, name: str) -> Any:
            return getattr(real_hasher, name)

    monkeypatch.setattr(authentication, "verify_password_in_thread", recording_verify)
    monkeypatch.setattr(security, "_hasher", RecordingHasher())

    wrong_password = await attempt_login(client, account.email, "Not-The-Right-Password-1")
    assert seen_hashes == [account.password_hash]
    seen_hashes.clear()
    argon2_verified.clear()

    unknown_email = await attempt_login(client, unique_email("nobody"), "Not-The-Right-Password-1")
    # The unknown email still runs a password verification, against the dummy hash.
    assert seen_hashes == [None]
    assert argon2_verified == [security._DUMMY_HASH]

    for response in (wrong_password, unknown_email):
        assert_problem(response, 401, "invalid-credentials")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    def shape(response: httpx.Response) -> dict[str, Any]:
        return {k: v for k, v in response.json().items() if k != "request_id"}

    assert shape(wrong_password) == shape(unknown_email)
    assert wrong_password.headers["content-type"] == unknown_email.headers["content-type"]


@pytest.mark.parametrize("stored_hash", [None, ""])
def test_missing_or_blank_hash_never_verifies_even_the_dummy_password(
    stored_hash: str | None,
) -> None:
    # The dummy hash that unknown accounts are checked against must not open any account.
    dummy_password = "an unknown account still costs one verification"
    assert security._hasher.verify(security._DUMMY_HASH, dummy_password)
    assert security.verify_password(stored_hash, dummy_password) is False


async def test_login_of_deactivated_account_is_refused_like_a_wrong_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    account.is_active = False
    await session.commit()
    response = await attempt_login(client, account.email)
    assert_problem(response, 401, "invalid-credentials")


# --- Access tokens --------------------------------------------------------------------------------


async def test_hand_built_token_with_every_claim_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Control for the refusals below: the test's own token builder makes a token the API takes.
    account = await make_account(session)
    sid = await live_session(session, account)
    response = await client.get("/v1/me", headers=bearer(sign(token_claims(account.id, sid))))
    assert response.status_code == 200, response.text


def _expired(subject: uuid.UUID, sid: uuid.UUID) -> str:
    now = int(time.time())
    return sign(token_claims(subject, sid, iat=now - 3600, exp=now - 60))


def _tampered(subject: uuid.UUID, sid: uuid.UUID) -> str:
    """A genuine signature over claims that were then changed (promoted to staff)."""
    header, _, signature = sign(token_claims(subject, sid)).split(".")
    return f"{header}.{b64url(token_claims(subject, sid, role='staff'))}.{signature}"


# Each case gets the account's id and the id of one of its live login sessions.
REFUSED_TOKENS: dict[str, Callable[[uuid.UUID, uuid.UUID], dict[str, str]]] = {
    "no-token": lambda _, __: {},
    "empty-bearer": lambda _, __: {"Authorization": "Bearer "},
    "basic-scheme": lambda sub, sid: {"Authorization": "Basic " + sign(token_claims(sub, sid))},
    "alg-none": lambda sub, sid: bearer(unsigned(token_claims(sub, sid))),
    "hs512-right-key": lambda sub, sid: bearer(sign(token_claims(sub, sid), algorithm="HS512")),
    "signed-with-other-key": lambda sub, sid: bearer(
        sign(token_claims(sub, sid), key="another-secret-that-is-long-enough-for-hs256-xyz")
    ),
    "expired": lambda sub, sid: bearer(_expired(sub, sid)),
    "wrong-audience": lambda sub, sid: bearer(sign(token_claims(sub, sid, aud="some-other-api"))),
    "wrong-issuer": lambda sub, sid: bearer(sign(token_claims(sub, sid, iss="someone-else"))),
    "missing-exp": lambda sub, sid: bearer(sign(token_claims(sub, sid, exp=_DROP))),
    "missing-iat": lambda sub, sid: bearer(sign(token_claims(sub, sid, iat=_DROP))),
    "missing-sub": lambda sub, sid: bearer(sign(token_claims(sub, sid, sub=_DROP))),
    "missing-aud": lambda sub, sid: bearer(sign(token_claims(sub, sid, aud=_DROP))),
    "missing-iss": lambda sub, sid: bearer(sign(token_claims(sub, sid, iss=_DROP))),
    "missing-jti": lambda sub, sid: bearer(sign(token_claims(sub, sid, jti=_DROP))),
    # A token tied to no session could never be revoked.
    "missing-sid": lambda sub, sid: bearer(sign(token_claims(sub, sid, sid=_DROP))),
    "sid-not-a-uuid": lambda sub, sid: bearer(sign(token_claims(sub, sid, sid=7))),
    "unknown-sid": lambda sub, sid: bearer(sign(token_claims(sub, uuid.uuid4()))),
    "sub-not-a-uuid": lambda sub, sid: bearer(sign(token_claims(sub, sid, sub="admin"))),
    "garbage": lambda _, __: bearer("this-is-not-a-jwt"),
    "tampered-payload": lambda sub, sid: bearer(_tampered(sub, sid)),
    # The session exists but belongs to another account.
    "nonexistent-account": lambda _, sid: bearer(sign(token_claims(uuid.uuid4(), sid))),
}


@pytest.mark.parametrize("case", REFUSED_TOKENS.keys())
async def test_refused_access_token_gets_401_invalid_token_with_bearer_challenge(
    client: httpx.AsyncClient, session: AsyncSession, case: str
) -> None:
    account = await make_account(session)
    sid = await live_session(session, account)
    response = await client.get("/v1/me", headers=REFUSED_TOKENS[case](account.id, sid))
    assert_invalid_token(response)


async def test_token_of_deleted_account_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    token = sign(token_claims(account.id, await live_session(session, account)))
    await session.delete(account)
    await session.commit()
    assert_invalid_token(await client.get("/v1/me", headers=bearer(token)))


async def test_token_of_deactivated_account_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    tokens = await login(client, account.email)
    account.is_active = False
    await session.commit()
    assert_invalid_token(await client.get("/v1/me", headers=bearer(tokens["access_token"])))


@pytest.mark.parametrize("parameter", ["access_token", "token"])
async def test_access_token_in_query_string_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, parameter: str
) -> None:
    account = await make_account(session)
    tokens = await login(client, account.email)
    response = await client.get("/v1/me", params={parameter: tokens["access_token"]})
    assert_invalid_token(response)


# --- Refresh and logout ---------------------------------------------------------------------------


async def test_refresh_rotates_to_a_new_working_pair(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    first = await login(client, account.email)

    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["token_type"] == "bearer"
    assert second["expires_in"] == 900
    assert second["refresh_token"] != first["refresh_token"]
    me = await client.get("/v1/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == str(account.id)

    # The rotated-to token keeps working for the next rotation.
    third = await refresh(client, second["refresh_token"])
    assert third.status_code == 200, third.text


async def test_refresh_with_unknown_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await refresh(client, "never-issued-refresh-token")
    assert_problem(response, 401, "invalid-refresh-token")


async def test_refresh_reuse_revokes_whole_family(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    first = await login(client, account.email)
    other_session = await login(client, account.email)

    rotated = await refresh(client, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    successor = rotated.json()["refresh_token"]

    # The old token comes back (e.g. it was stolen): refused...
    reused = await refresh(client, first["refresh_token"])
    assert_problem(reused, 401, "invalid-refresh-token")
    # ...and the token its rotation issued is now dead too: the whole login session is over.
    assert_problem(await refresh(client, successor), 401, "invalid-refresh-token")

    # A separate login of the same account is another family, and is unaffected.
    survivor = await refresh(client, other_session["refresh_token"])
    assert survivor.status_code == 200, survivor.text


async def test_logout_revokes_the_refresh_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    tokens = await login(client, account.email)
    response = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "invalid-refresh-token")


async def test_logout_after_rotation_ends_the_whole_login_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    first = await login(client, account.email)
    second = (await refresh(client, first["refresh_token"])).json()
    response = await client.post("/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 204
    assert_problem(await refresh(client, second["refresh_token"]), 401, "invalid-refresh-token")


async def test_logout_with_unknown_token_is_still_204(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/logout", json={"refresh_token": "never-issued"})
    assert response.status_code == 204


# --- Sessions: access tokens end with their login session ----------------------------------------


async def test_access_token_is_refused_after_logout(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    tokens = await login(client, account.email)
    headers = bearer(tokens["access_token"])
    assert (await client.get("/v1/me", headers=headers)).status_code == 200  # now cached live
    await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert_invalid_token(await client.get("/v1/me", headers=headers))


async def test_access_token_of_another_session_is_refused_after_password_change(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    current = await login(client, account.email)
    other = await login(client, account.email)
    assert (await client.get("/v1/me", headers=bearer(other["access_token"]))).status_code == 200
    changed = await client.post(
        "/v1/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    assert_invalid_token(await client.get("/v1/me", headers=bearer(other["access_token"])))
    kept = await client.get("/v1/me", headers=bearer(current["access_token"]))
    assert kept.status_code == 200, kept.text


async def test_access_token_is_refused_after_refresh_reuse_revokes_the_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    first = await login(client, account.email)
    rotated = (await refresh(client, first["refresh_token"])).json()
    for access in (first["access_token"], rotated["access_token"]):
        assert (await client.get("/v1/me", headers=bearer(access))).status_code == 200
    assert_problem(await refresh(client, first["refresh_token"]), 401, "invalid-refresh-token")
    for access in (first["access_token"], rotated["access_token"]):
        assert_invalid_token(await client.get("/v1/me", headers=bearer(access)))


async def test_revocation_by_another_process_is_seen_once_the_cache_window_passes(
    client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    # Only the authentication module's clock moves (the event loop keeps the real one).
    monkeypatch.setattr(authentication, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    account = await make_account(session)
    tokens = await login(client, account.email)
    headers = bearer(tokens["access_token"])
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    # Another process logs the session out: this process's cache does not hear of it.
    await session.execute(update(LoginSession).values(revoked_at=utcnow()))
    await session.commit()
    assert (await client.get("/v1/me", headers=headers)).status_code == 200  # within the window
    clock[0] += 10
    assert_invalid_token(await client.get("/v1/me", headers=headers))


async def login_session_of(session: AsyncSession, access_token: str) -> LoginSession:
    sid = uuid.UUID(jwt.get_unverified_claims(access_token)["sid"])
    row = await session.get(LoginSession, sid, populate_existing=True)
    assert row is not None
    return row


async def test_refresh_never_extends_a_session_past_its_absolute_lifetime(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    account = await make_account(session)
    tokens = await login(client, account.email)
    login_session = await login_session_of(session, tokens["access_token"])
    max_days = bound_app.state.settings.session_max_days
    lifetime = login_session.expires_at - login_session.started_at
    assert lifetime == timedelta(days=max_days)

    rotated = (await refresh(client, tokens["refresh_token"])).json()
    assert (await login_session_of(session, rotated["access_token"])).expires_at == (
        login_session.expires_at
    )
    stored = await session.scalar(
        select(RefreshToken).where(
            RefreshToken.token_hash == security.hash_token(rotated["refresh_token"])
        )
    )
    assert stored is not None
    assert stored.expires_at <= login_session.expires_at

    # The session reaches its end while its refresh token still has time left.
    await session.execute(
        update(LoginSession)
        .where(LoginSession.id == login_session.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == login_session.id)
        .values(expires_at=utcnow() + timedelta(days=1))
    )
    await session.commit()
    assert_problem(await refresh(client, rotated["refresh_token"]), 401, "invalid-refresh-token")
    assert_invalid_token(await client.get("/v1/me", headers=bearer(rotated["access_token"])))


async def test_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    tokens = await login(client, account.email)
    # The token's own expiry passed; its login session is still live.
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == security.hash_token(tokens["refresh_token"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    assert_problem(await refresh(client, tokens["refresh_token"]), 401, "invalid-refresh-token")
    assert (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).status_code == 200


# --- Password change ------------------------------------------------------------------------------


async def test_password_change_signs_out_other_sessions_but_keeps_this_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    current = await login(client, account.email)
    other = await login(client, account.email)

    response = await client.post(
        "/v1/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )
    assert response.status_code == 204, response.text

    assert_problem(await refresh(client, other["refresh_token"]), 401, "invalid-refresh-token")
    kept = await refresh(client, current["refresh_token"])
    assert kept.status_code == 200, kept.text

    old = await attempt_login(client, account.email, DEFAULT_PASSWORD)
    assert_problem(old, 401, "invalid-credentials")
    new = await attempt_login(client, account.email, NEW_PASSWORD)
    assert new.status_code == 200, new.text


async def test_password_change_from_a_refreshed_session_keeps_that_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    first = await login(client, account.email)
    rotated = (await refresh(client, first["refresh_token"])).json()
    response = await client.post(
        "/v1/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(rotated["access_token"]),
    )
    assert response.status_code == 204, response.text
    assert (await refresh(client, rotated["refresh_token"])).status_code == 200


async def test_password_change_with_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    current = await login(client, account.email)
    other = await login(client, account.email)

    response = await client.post(
        "/v1/me/password",
        json={"current_password": "Not-The-Right-Password-1", "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )
    assert_problem(response, 422, "current-password-required")

    assert (await refresh(client, other["refresh_token"])).status_code == 200
    assert (await attempt_login(client, account.email, DEFAULT_PASSWORD)).status_code == 200
    assert_problem(
        await attempt_login(client, account.email, NEW_PASSWORD), 401, "invalid-credentials"
    )


async def test_password_change_needs_an_access_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert_invalid_token(response)


# --- Login throttling (in-memory backend) ---------------------------------------------------------

WRONG = "Not-The-Right-Password-1"


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from another address."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def tightened(bound_app: FastAPI, swap_state: Callable[[str, object], None], **limits: int) -> None:
    swap_state("settings", bound_app.state.settings.model_copy(update=limits))


async def fail_logins(client: httpx.AsyncClient, email: str, times: int) -> None:
    """`times` wrong passwords for `email`, each refused as invalid (none throttled yet)."""
    for _ in range(times):
        assert_problem(await attempt_login(client, email, WRONG), 401, "invalid-credentials")


async def spray(client: httpx.AsyncClient, times: int) -> None:
    """`times` wrong passwords from one address, each on another unknown email."""
    for _ in range(times):
        failed = await attempt_login(client, unique_email("spray"), WRONG)
        assert_problem(failed, 401, "invalid-credentials")


async def assert_logs_in(client: httpx.AsyncClient, email: str) -> None:
    response = await attempt_login(client, email)
    assert response.status_code == 200, response.text


async def test_login_locks_account_at_one_address_after_max_failures_even_for_right_password(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    settings = bound_app.state.settings
    assert settings.login_max_failures_per_account_ip == 5
    account = await make_account(session)
    await fail_logins(client, account.email, settings.login_max_failures_per_account_ip)

    retry_after = assert_throttled(await attempt_login(client, account.email, DEFAULT_PASSWORD))
    assert retry_after <= settings.login_failure_window_seconds


async def test_login_throttle_counts_email_spellings_of_one_account_together(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    spellings = [account.email, account.email.upper(), f" {account.email} "]
    for attempt in range(5):
        failed = await attempt_login(client, spellings[attempt % 3], WRONG)
        assert_problem(failed, 401, "invalid-credentials")
    assert_throttled(await attempt_login(client, account.email))


async def test_login_throttle_follows_configured_account_and_address_limit(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    swap_state: Callable[[str, object], None],
) -> None:
    tightened(bound_app, swap_state, login_max_failures_per_account_ip=2)
    account = await make_account(session)
    await fail_logins(client, account.email, 2)
    assert_throttled(await attempt_login(client, account.email))


async def test_failures_from_other_addresses_do_not_lock_the_owner_out(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    # Attack: strangers fail on the owner's account from elsewhere to lock the owner out.
    account = await make_account(session)
    for address in ("198.51.100.1", "198.51.100.2"):
        async with client_at(bound_app, address) as stranger:
            for _ in range(5):
                failed = await attempt_login(stranger, account.email, WRONG)
                assert failed.status_code in (401, 429)
            assert_throttled(await attempt_login(stranger, account.email, WRONG))

    # The owner, from their own address, still logs in.
    await assert_logs_in(client, account.email)


async def test_failures_from_one_address_do_not_lock_every_account_behind_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Attack: 20 failures from one shared address (an office NAT) over many accounts.
    await spray(client, 20)

    # Someone else behind the same address logs in to their own account.
    colleague = await make_account(session)
    await assert_logs_in(client, colleague.email)


async def test_per_account_ceiling_stops_a_guesser_spread_over_many_addresses(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    swap_state: Callable[[str, object], None],
) -> None:
    tightened(bound_app, swap_state, login_max_failures_per_account=6)
    account = await make_account(session)
    for n in range(6):
        async with client_at(bound_app, f"198.51.100.{10 + n}") as guesser:
            assert_problem(
                await attempt_login(guesser, account.email, WRONG), 401, "invalid-credentials"
            )
    async with client_at(bound_app, "198.51.100.99") as guesser:
        assert_throttled(await attempt_login(guesser, account.email))


async def test_login_locks_client_address_after_failures_across_many_emails(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    swap_state: Callable[[str, object], None],
) -> None:
    assert bound_app.state.settings.login_max_failures_per_ip == 100
    tightened(bound_app, swap_state, login_max_failures_per_ip=8)
    await spray(client, 8)

    # A fresh email with the right password, from the same address: throttled by address.
    account = await make_account(session)
    assert_throttled(await attempt_login(client, account.email))


async def test_login_success_resets_the_account_failure_count(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await make_account(session)
    await fail_logins(client, account.email, 4)
    await login(client, account.email)
    # Without the reset these four would make eight failures, well over the limit of five.
    await fail_logins(client, account.email, 4)
    await assert_logs_in(client, account.email)


async def test_successful_logins_do_not_use_up_the_address_limit(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    swap_state: Callable[[str, object], None],
) -> None:
    # Attempts are counted before the password is checked; a success gives its count back.
    tightened(bound_app, swap_state, login_max_failures_per_ip=3)
    for _ in range(5):
        account = await make_account(session)
        await login(client, account.email)


async def test_login_failures_of_one_account_do_not_lock_another(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    victim = await make_account(session)
    bystander = await make_account(session)
    await fail_logins(client, victim.email, 5)
    assert_throttled(await attempt_login(client, victim.email))
    await assert_logs_in(client, bystander.email)


async def test_throttle_keys_hold_no_email_or_address(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    account = await make_account(session)
    await attempt_login(client, account.email, WRONG)
    keys = list(bound_app.state.rate_limit_backend._windows)
    assert keys
    leaked = [k for k in keys if account.email in k or "203.0.113.7" in k]
    assert not leaked


# --- Login throttling shared through Redis --------------------------------------------------------


@pytest.fixture
async def redis_backends(
    redis_client: tuple[Redis, str],
) -> AsyncIterator[tuple[RedisRateLimitBackend, RedisRateLimitBackend]]:
    """Two backends on separate connections (as two workers have), under one unique prefix."""
    first, prefix = redis_client
    second = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield (
            RedisRateLimitBackend(first, prefix=prefix),
            RedisRateLimitBackend(second, prefix=prefix),
        )
    finally:
        await second.aclose()


async def test_login_throttle_is_shared_by_workers_through_redis(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    swap_state: Callable[[str, object], None],
    redis_backends: tuple[RedisRateLimitBackend, RedisRateLimitBackend],
) -> None:
    worker_a, worker_b = redis_backends
    account = await make_account(session)

    swap_state("rate_limit_backend", worker_a)
    await fail_logins(
        client, account.email, bound_app.state.settings.login_max_failures_per_account_ip
    )

    # The next request lands on the other worker: it sees the same count and throttles.
    swap_state("rate_limit_backend", worker_b)
    retry_after = assert_throttled(await attempt_login(client, account.email))
    assert retry_after <= bound_app.state.settings.login_failure_window_seconds


# --- Logs -----------------------------------------------------------------------------------------


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_auth_flow_logs_no_email_password_or_tokens(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = f"Log.Capture.{uuid.uuid4().hex[:8]}@Example.COM"
    root = logging.getLogger()
    handler = _ListHandler()
    saved_level = root.level
    root.setLevel(logging.INFO)  # the production default
    root.addHandler(handler)
    try:
        registered = await client.post(
            "/v1/accounts",
            json={
                "email": email,
                "password": DEFAULT_PASSWORD,
                "full_name": "Lovelace Byron-King",
                "phone": "+1 555 0199",
                "date_of_birth": "1985-06-15",
            },
        )
        assert registered.status_code == 201, registered.text
        failed = await attempt_login(client, email, "Typo-In-The-Password-9")
        assert failed.status_code == 401
        tokens = await login(client, email)
        me = await client.get("/v1/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200
        rotated = await refresh(client, tokens["refresh_token"])
        assert rotated.status_code == 200
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)

    account = await session.get(Account, uuid.UUID(registered.json()["id"]))
    assert account is not None
    output = "\n".join(handler.lines)
    secrets = {
        "email": email,
        "normalized email": email.lower(),
        "email local part": email.split("@")[0].lower(),
        "password": DEFAULT_PASSWORD,
        "mistyped password": "Typo-In-The-Password-9",
        "password hash": account.password_hash,
        "full name": "Lovelace Byron-King",
        "phone": "555 0199",
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "rotated access token": rotated.json()["access_token"],
        "rotated refresh token": rotated.json()["refresh_token"],
    }
    leaked = [name for name, value in secrets.items() if value.lower() in output.lower()]
    assert not leaked, f"logs contain: {leaked}"

    records = [json.loads(line) for line in handler.lines]
    access = [r for r in records if r["logger"] == "facet.access"]
    routes = {r["route"] for r in access}
    assert {"/v1/accounts", "/v1/auth/token", "/v1/me", "/v1/auth/refresh"} <= routes
    assert all(r.get("request_id") for r in access)
