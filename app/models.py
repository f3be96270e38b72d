"""Imports every domain's models so `Base.metadata` is complete (Alembic, tests)."""

from app.accounts import models as accounts_models
from app.carts import models as carts_models
from app.catalog import models as catalog_models
from app.core import idempotency, ratelimit
from app.core.db import Base
from app.orders import models as orders_models
from app.outbox import models as outbox_models
from app.privacy import consent_models
from app.privacy import models as privacy_models
from app.referrals import models as referrals_models
from app.support import models as support_models
from app.testimonials import models as testimonials_models

__all__ = [
    "Base",
    "accounts_models",
    "carts_models",
    "catalog_models",
    "consent_models",
    "idempotency",
    "orders_models",
    "outbox_models",
    "privacy_models",
    "ratelimit",
    "referrals_models",
    "support_models",
    "testimonials_models",
]


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Whether Alembic compares a database object with the models: the text-search
    structures (an FTS5 table and its shadow tables, trigram indexes) live only in the
    migrations."""
    return not (name or "").startswith(("products_search", "ix_products_search"))
