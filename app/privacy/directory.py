"""What the privacy domain needs to know about accounts, without importing them.

The entry point (app/main.py) puts an implementation on `app.state.account_directory`;
routes receive it through `AccountDirectoryDep`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


class AccountDirectory(Protocol):
    async def addresses(
        self, session: AsyncSession, account_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        """The email of each active account among `account_ids`."""
        ...

    async def verified_owners(
        self, session: AsyncSession, emails: list[str]
    ) -> dict[str, uuid.UUID]:
        """The account that owns and has verified each (normalized) address, if any."""
        ...


def get_account_directory(request: Request) -> AccountDirectory:
    directory: AccountDirectory = request.app.state.account_directory
    return directory


AccountDirectoryDep = Annotated[AccountDirectory, Depends(get_account_directory)]
