"""Database engine, session factory and the declarative base."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.types import TypeDecorator, Uuid

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def str_enum(cls: type[StrEnum], length: int = 16) -> Enum:
    """A string column holding a StrEnum's values ("14k", not the member name "k14"),
    checked in Python rather than by a database enum type, so adding a value needs no DDL."""
    return Enum(
        cls,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def rows_affected(result: object) -> int:
    """Rows an UPDATE or DELETE touched (async results type it loosely)."""
    return int(getattr(result, "rowcount", 0) or 0)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    """Create the engine; SQLite gets foreign keys, WAL and write-locking transactions."""
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, echo=echo, **kwargs)

    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 15}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
        # We emit BEGIN ourselves: the driver's deferred transactions lose updates
        # under concurrent read-then-write (see shared/NOTES.md §5).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        # A read-only unit of work opens a deferred transaction: in WAL it reads a
        # snapshot and never waits for the write lock. Everything else takes the write
        # lock up front, so read-then-write cannot lose updates.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# A connection execution option, and the session flag, marking a unit of work that only reads.
READ_ONLY_OPTION = "facet_read_only"


class ReadOnlySessionError(RuntimeError):
    """A write was attempted in a unit of work opened for reading only (a programming error)."""


def read_only_session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session for work that only reads: on SQLite its transaction does not take the
    write lock, and any INSERT, UPDATE, DELETE or flush in it raises ReadOnlySessionError."""
    return sessionmaker(execution_options={READ_ONLY_OPTION: True}, info={READ_ONLY_OPTION: True})


@event.listens_for(Session, "do_orm_execute")
def _refuse_statement_in_read_only(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY_OPTION) and not state.is_select:
        raise ReadOnlySessionError(f"a read-only session cannot run {state.statement!s:.60}")


@event.listens_for(Session, "before_flush")
def _refuse_flush_in_read_only(session: Session, *_: Any) -> None:
    if session.info.get(READ_ONLY_OPTION) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("a read-only session cannot write")


async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends cleanly, roll back otherwise."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
