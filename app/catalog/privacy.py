"""The catalog's personal-data handler: staff notes on stock movements are free text
and may name a customer ("returned by ..."). Notes that mention the subject (a name,
address, email or phone found by the other handlers) and notes written by the subject
as staff are exported and, on erasure, blanked; the movement itself stays (it is the
stock ledger)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import InventoryMovement
from app.core.db import rows_affected
from app.privacy.registry import ErasureResult, Subject


def _about(subject: Subject) -> ColumnElement[bool]:
    note = func.lower(InventoryMovement.note)
    found = [note.contains(term, autoescape=True) for term in sorted(subject.search_terms)]
    if subject.account_id is not None:
        found.append(InventoryMovement.actor_account_id == subject.account_id)
    return or_(false(), *found)


class CatalogPersonalData:
    name = "inventory_notes"
    tables = frozenset({"inventory_movements"})

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        movements = await session.scalars(
            select(InventoryMovement)
            .where(InventoryMovement.note.is_not(None), _about(subject))
            .order_by(InventoryMovement.created_at, InventoryMovement.id)
        )
        return {
            "inventory_notes": [
                {"at": m.created_at, "reason": m.reason.value, "note": m.note} for m in movements
            ]
        }

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        blanked = await session.execute(
            update(InventoryMovement)
            .where(InventoryMovement.note.is_not(None), _about(subject))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        result.count_anonymized("inventory_movements", rows_affected(blanked))
        return result
