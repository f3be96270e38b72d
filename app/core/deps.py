"""Dependencies shared by every domain: settings, the request's session, the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import read_only_session
from app.core.errors import AppError
from app.core.ratelimit import RateLimitBackend
from app.core.security import client_address_key
from app.core.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except AppError as exc:
            if exc.commit_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for requests that only read: it never takes SQLite's write lock, so
    readers do not queue behind writers or each other, and it refuses any write."""
    async with read_only_session(request.app.state.sessionmaker) as session:
        yield session


def get_rate_limit_backend(request: Request) -> RateLimitBackend:
    backend: RateLimitBackend = request.app.state.rate_limit_backend
    return backend


def get_client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_client_key(request: Request) -> str:
    """The client's address as a keyed hash, for throttling counters."""
    return client_address_key(get_app_settings(request), get_client_ip(request))


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# scope="function": the commit runs when the endpoint returns, before the response goes out,
# so a failed commit becomes an error answer instead of a lost write after a 2xx.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
RateLimitDep = Annotated[RateLimitBackend, Depends(get_rate_limit_backend)]
ClientIpDep = Annotated[str, Depends(get_client_ip)]
ClientKeyDep = Annotated[str, Depends(get_client_key)]
