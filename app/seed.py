"""Sample data for a local run: the jewelry catalog and the guide pages.

`facet seed` and `facet serve` call `seed`; the data itself is in `app.catalog.seed`.
"""

from __future__ import annotations

from sqlalchemy import text

from app.catalog import seed as catalog_seed
from app.core.db import create_engine, create_sessionmaker, is_sqlite
from app.core.settings import get_settings

# Held for the seeding transaction on PostgreSQL, so two concurrent seeds of an empty
# database cannot both decide it is empty. (SQLite's BEGIN IMMEDIATE already serializes.)
_ADVISORY_LOCK_KEY = 0x5EED_FACE


class CatalogNotEmpty(RuntimeError):
    """Seeding was asked for, but the database already holds a catalog."""


async def seed(
    *, products: int | None, only_if_empty: bool = False, database_url: str | None = None
) -> str:
    """Load the sample catalog (300 products unless told otherwise) into an empty database.

    With `only_if_empty`, a database that already has categories is left alone; without it,
    that is an error, since the sample's slugs and SKUs would collide with the existing ones.
    Returns a one-line summary.
    """
    count = catalog_seed.DEFAULT_PRODUCTS if products is None else products
    if count < 0:
        raise ValueError("products must not be negative")
    url = database_url or get_settings().database_url
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if not is_sqlite(url):
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
            if not await catalog_seed.catalog_is_empty(session):
                if only_if_empty:
                    return "the catalog already has categories: nothing seeded"
                raise CatalogNotEmpty(
                    "the catalog is not empty; seed a fresh database (the sample's slugs and "
                    "SKUs would collide with the existing ones)"
                )
            counts = await catalog_seed.load(session, products=count)
        return counts.summary()
    finally:
        await engine.dispose()
