from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from app.accounts.deps import CurrentAccount, OptionalAccount
from app.carts import service
from app.carts.errors import (
    CartLineLimit,
    CartLineNotFound,
    CartNotFound,
    CurrencyMismatch,
    InsufficientStock,
    QuantityLimit,
    VariantUnavailable,
)
from app.carts.models import Cart
from app.carts.pricing import CartRules, cart_rules
from app.carts.schemas import CartClaim, CartLineCreate, CartLineUpdate, CartRead
from app.catalog.errors import VariantNotFound
from app.core.deps import SessionDep, SettingsDep
from app.core.openapi import sets_cookie
from app.core.problems import problem_responses, raises
from app.core.routing import FacetRoute

router = APIRouter(tags=["carts"], route_class=FacetRoute)

CART_COOKIE = "facet_cart"


def get_cart_rules(settings: SettingsDep) -> CartRules:
    return cart_rules(settings)


CartRulesDep = Annotated[CartRules, Depends(get_cart_rules)]


@raises(CartNotFound)
async def get_accessible_cart(
    session: SessionDep, actor: OptionalAccount, cart_id: uuid.UUID
) -> Cart:
    return await service.get_cart(session, cart_id, actor)


CartDep = Annotated[Cart, Depends(get_accessible_cart)]


@raises(CartNotFound)
async def get_cart_for_change(
    session: SessionDep, actor: OptionalAccount, cart_id: uuid.UUID
) -> Cart:
    """The cart, locked for this request: an edit racing a checkout of the same cart waits
    for it, then sees the emptied cart instead of changing lines that became an order."""
    return await service.get_cart(session, cart_id, actor, for_update=True)


CartForChangeDep = Annotated[Cart, Depends(get_cart_for_change)]


@router.post(
    "/carts",
    status_code=status.HTTP_201_CREATED,
    operation_id="createCart",
    summary="Create a cart",
    openapi_extra=sets_cookie(status.HTTP_201_CREATED),
)
async def create_cart(
    session: SessionDep, settings: SettingsDep, rules: CartRulesDep, response: Response
) -> CartRead:
    """Create a guest cart. Sets the API's only cookie: a session cookie with the cart id."""
    cart = await service.create_guest_cart(session)
    # P11: a session cookie (no Expires/Max-Age) holding a random id, never personal data.
    response.set_cookie(
        CART_COOKIE,
        str(cart.id),
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        path="/",
    )
    return await service.view(session, cart, rules)


@router.get(
    "/carts/{cart_id}",
    operation_id="getCart",
    summary="Get a cart",
    responses=problem_responses(CurrencyMismatch),
)
async def get_cart(session: SessionDep, cart: CartDep, rules: CartRulesDep) -> CartRead:
    """A cart with prices refreshed from the catalog and its totals."""
    return await service.view(session, cart, rules)


@router.post(
    "/carts/{cart_id}/items",
    status_code=status.HTTP_201_CREATED,
    operation_id="addCartItem",
    summary="Add an item to a cart",
    responses=problem_responses(
        VariantNotFound,
        VariantUnavailable,
        InsufficientStock,
        QuantityLimit,
        CartLineLimit,
        CurrencyMismatch,
    ),
)
async def add_item(
    session: SessionDep, cart: CartForChangeDep, rules: CartRulesDep, body: CartLineCreate
) -> CartRead:
    """Add a variant (1-10 per line, never more than is available, within the cart's
    limits on distinct items and pieces per order)."""
    await service.add_line(session, cart, rules, variant_id=body.variant_id, quantity=body.quantity)
    return await service.view(session, cart, rules)


@router.patch(
    "/carts/{cart_id}/items/{item_id}",
    operation_id="updateCartItem",
    summary="Change an item's quantity",
    responses=problem_responses(
        CartLineNotFound, VariantUnavailable, InsufficientStock, QuantityLimit, CurrencyMismatch
    ),
)
async def update_item(
    session: SessionDep,
    cart: CartForChangeDep,
    rules: CartRulesDep,
    item_id: uuid.UUID,
    body: CartLineUpdate,
) -> CartRead:
    """Change a line's quantity."""
    await service.update_line(session, cart, rules, item_id, quantity=body.quantity)
    return await service.view(session, cart, rules)


@router.delete(
    "/carts/{cart_id}/items/{item_id}",
    operation_id="removeCartItem",
    summary="Remove an item from a cart",
    responses=problem_responses(CartLineNotFound, CurrencyMismatch),
)
async def remove_item(
    session: SessionDep, cart: CartForChangeDep, rules: CartRulesDep, item_id: uuid.UUID
) -> CartRead:
    """Remove a line."""
    await service.remove_line(session, cart, item_id)
    return await service.view(session, cart, rules)


@router.get(
    "/me/cart",
    operation_id="getMyCart",
    summary="Get my cart",
    responses=problem_responses(CurrencyMismatch),
)
async def get_my_cart(
    session: SessionDep, account: CurrentAccount, rules: CartRulesDep
) -> CartRead:
    """The signed-in customer's cart (created empty if there is none)."""
    return await service.view(session, await service.account_cart(session, account), rules)


@router.post(
    "/me/cart/claim",
    operation_id="claimCart",
    summary="Claim a guest cart",
    responses=problem_responses(CartNotFound, CartLineLimit, CurrencyMismatch),
)
async def claim_cart(
    session: SessionDep, account: CurrentAccount, rules: CartRulesDep, body: CartClaim
) -> CartRead:
    """Merge a guest cart into the signed-in customer's cart; the guest cart is deleted."""
    cart = await service.claim(session, account, rules, body.cart_id)
    return await service.view(session, cart, rules)
