"""The carts domain's personal-data handler: an account's cart says what its owner is
about to buy. Guest carts link to no one (a random id held in a cookie)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.carts.models import Cart, CartLine
from app.core.db import rows_affected
from app.privacy.registry import ErasureResult, Subject


class CartsPersonalData:
    name = "cart"
    tables = frozenset({"carts", "cart_lines"})

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        """Lock the account's cart before any other handler looks: a checkout locks it
        too, so a checkout running now either commits first (and its order is found)
        or waits and then finds no cart, never an order made behind the erasure's back.
        The registry runs this handler first."""
        if subject.account_id is not None:
            await session.execute(
                select(Cart.id).where(Cart.account_id == subject.account_id).with_for_update()
            )

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        if subject.account_id is None:
            return {}
        lines = await session.scalars(
            select(CartLine)
            .join(Cart, Cart.id == CartLine.cart_id)
            .where(Cart.account_id == subject.account_id)
            .order_by(CartLine.created_at, CartLine.id)
        )
        return {
            "cart": [
                {
                    "variant_id": line.variant_id,
                    "quantity": line.quantity,
                    "added_at": line.created_at,
                }
                for line in lines
            ]
        }

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        if subject.account_id is not None:
            deleted = await session.execute(
                delete(Cart).where(Cart.account_id == subject.account_id)
            )
            result.count_deleted("carts", rows_affected(deleted))
        return result
