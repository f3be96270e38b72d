"""The personal-data registry (DESIGN §3): how the privacy domain finds, exports and
erases a person's data without importing any other domain.

Each domain that stores personal data provides one `PersonalDataHandler` (in its own
`privacy.py`); the entry level (app/privacy_handlers.py) lists them in erasure order
and hands the list to the application. A handler names the tables whose personal
columns it covers (a test fails on a personal column no handler covers).

A `Subject` starts as an account and/or a set of verified email addresses; `expand`
adds what each domain links to it (the orders placed by the account or with a verified
address, the addresses those orders were sent to), round after round until nothing new
turns up, since a link found late (the account's verified email) leads others further.
Erasure runs the handlers in the registry's order, which keeps every link until the data
it leads to is handled: orders are anonymized before the account is deleted, so `orders.account_id`
still finds them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

MIN_SEARCH_TERM = 3


@dataclass
class Subject:
    account_id: uuid.UUID | None = None
    # The account's own address: messages to it are the subject's, but orders placed
    # with it join the subject only once it is verified.
    account_email: str | None = None
    # Addresses the subject proved they hold (lower case): the accounts handler adds the
    # account's email once it is verified, and the orders handler then finds guest orders
    # placed with it. An unverified address links nothing: anyone can type it.
    verified_emails: set[str] = field(default_factory=set)
    # The consent ledger's names for the subject: `account:<id>` and the keyed hash
    # (`email:<hmac>`) of each verified address; outbox messages carry them too.
    consent_subjects: set[str] = field(default_factory=set)
    order_ids: set[uuid.UUID] = field(default_factory=set)
    # Every address that mail about the subject went to (lower case): the account's,
    # the verified ones and those written on the subject's orders.
    mail_addresses: set[str] = field(default_factory=set)
    # The subject's names, addresses and phone numbers as written in their rows: free-text
    # notes (staff notes on stock movements) are searched for them.
    search_terms: set[str] = field(default_factory=set)

    def add_address(self, address: str | None) -> None:
        if address:
            self.mail_addresses.add(address.strip().lower())
            self.add_term(address)

    def add_term(self, value: str | None) -> None:
        # Terms shorter than this would match unrelated notes.
        if value and len(value.strip()) >= MIN_SEARCH_TERM:
            self.search_terms.add(value.strip().lower())


@dataclass
class Kept:
    """Data that stays after an erasure, and why."""

    what: str
    why: str


@dataclass
class ErasureResult:
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    anonymized: dict[str, int] = field(default_factory=dict)  # table -> rows anonymized
    kept: list[Kept] = field(default_factory=list)

    def count_deleted(self, table: str, rows: int) -> None:
        if rows:
            self.deleted[table] = self.deleted.get(table, 0) + rows

    def count_anonymized(self, table: str, rows: int) -> None:
        if rows:
            self.anonymized[table] = self.anonymized.get(table, 0) + rows

    def merge(self, other: ErasureResult) -> None:
        for table, rows in other.deleted.items():
            self.count_deleted(table, rows)
        for table, rows in other.anonymized.items():
            self.count_anonymized(table, rows)
        self.kept.extend(other.kept)


class PersonalDataHandler(Protocol):
    # The section of the export this handler fills (e.g. "account", "orders").
    name: str
    # The tables whose personal columns this handler finds, exports and erases.
    tables: frozenset[str]

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        """Add to the subject what this domain links to it."""
        ...

    async def export(self, session: AsyncSession, subject: Subject) -> Any:
        """Every personal datum this domain holds about the subject, JSON-ready."""
        ...

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        """Raise a domain error when the subject cannot be erased yet (every handler is
        asked before any erases, so an erasure is never half done)."""
        ...

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        """Delete or anonymize the subject's data, in the request's transaction."""
        ...


class MailCopies(Protocol):
    """Copies of sent mail kept outside the database (the mail sink's files)."""

    def forget(self, address: str) -> int: ...


@dataclass(frozen=True)
class Registry:
    """The handlers, in erasure order, and what else the privacy domain is handed."""

    handlers: Sequence[PersonalDataHandler]
    # Yields every active account's email, a batch at a time (policy notices).
    notice_recipients: Callable[[AsyncSession], AsyncIterator[list[str]]]

    def covered_tables(self) -> set[str]:
        return {table for handler in self.handlers for table in handler.tables}
