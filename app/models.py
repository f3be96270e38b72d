"""Imports every domain's models so `Base.metadata` is complete (Alembic, tests)."""

from app.accounts import models as accounts_models
from app.core.db import Base

__all__ = ["Base", "accounts_models"]
