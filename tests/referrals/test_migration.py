"""Revision 0012 carries existing referrals over: each keeps its referrer, and each
becomes its address's one invitation, so no address already invited is invited again."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from alembic import command

from app.cli import alembic_config

FIRST_SENT = "2026-11-01 10:00:00.000000"
SECOND_SENT = "2026-11-02 10:00:00.000000"
LATER = "2026-11-03 10:00:00.000000"


def rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return sorted(db.execute(query).fetchall(), key=repr)


def execute(path: Path, statement: str, *params: tuple[object, ...]) -> None:
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany(statement, params)


async def test_0012_keeps_each_referrer_and_makes_an_invitation_per_sent_referral(
    tmp_path: Path,
) -> None:
    path = tmp_path / "referrals.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    await asyncio.to_thread(command.upgrade, config, "0011")
    ada, bob = uuid.uuid4().hex, uuid.uuid4().hex
    execute(
        path,
        "INSERT INTO accounts (id, email, password_hash, full_name, role, is_active, "
        "adult_verified_at, created_at, updated_at) VALUES (?, ?, 'x', 'A', 'customer', 1, "
        "?, ?, ?)",
        (ada, "ada@example.com", FIRST_SENT, FIRST_SENT, FIRST_SENT),
        (bob, "bob@example.com", FIRST_SENT, FIRST_SENT, FIRST_SENT),
    )
    execute(
        path,
        "INSERT INTO referrals (id, address_hash, referrer_id, code, status, friend_name, "
        "friend_email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (uuid.uuid4().hex, "a" * 64, ada, "ADA", "invited", "Grace", "g@example.org", FIRST_SENT),
        (uuid.uuid4().hex, "b" * 64, bob, "BOB", "converted", None, None, SECOND_SENT),
    )

    invitation_email = uuid.uuid4().hex
    execute(
        path,
        "INSERT INTO outbox_messages (id, category, kind, recipient, subject, body, status, "
        "attempts, next_attempt_at, created_at) VALUES (?, 'transactional', ?, ?, 's', 'b', "
        "'sent', 1, ?, ?)",
        (invitation_email, "referral_invitation", "g@example.org", FIRST_SENT, FIRST_SENT),
        (uuid.uuid4().hex, "order_confirmation", "g@example.org", FIRST_SENT, FIRST_SENT),
    )

    await asyncio.to_thread(command.upgrade, config, "0012")

    assert rows(path, "SELECT address_hash, referrer_id, status, friend_email FROM referrals") == [
        ("a" * 64, ada, "invited", "g@example.org"),
        ("b" * 64, bob, "converted", None),
    ]
    # Linked to its email where the referral still holds the address it went to.
    invited = "SELECT address_hash, created_at, message_id FROM referral_invitations"
    assert rows(path, invited) == [
        ("a" * 64, FIRST_SENT, invitation_email),
        ("b" * 64, SECOND_SENT, None),
    ]
    # A second referrer of an invited address now gets a referral of their own.
    execute(
        path,
        "INSERT INTO referrals (id, address_hash, referrer_id, code, status, created_at) "
        "VALUES (?, ?, ?, 'BOB', 'invited', ?)",
        (uuid.uuid4().hex, "a" * 64, bob, LATER),
    )

    # Back to one referral per address: the first one, whose invitation was sent, stays.
    await asyncio.to_thread(command.downgrade, config, "0011")
    assert rows(path, "SELECT address_hash, referrer_id FROM referrals") == [
        ("a" * 64, ada),
        ("b" * 64, bob),
    ]
