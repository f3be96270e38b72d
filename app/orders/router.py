from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse

from app.accounts.deps import CurrentAccount, OptionalAccount, StaffAccount, bearer
from app.adapters.deps import PaymentProviderDep, ShippingCarrierDep
from app.carts.errors import (
    CartCheckedOut,
    CartEmpty,
    CartLineLimit,
    CartNotFound,
    CurrencyMismatch,
    QuantityLimit,
    VariantUnavailable,
)
from app.carts.router import CartRulesDep
from app.core.deps import ClientKeyDep, RateLimitDep, SessionDep, SettingsDep
from app.core.errors import AgeRestricted, PayloadTooLarge, TooManyRequests
from app.core.idempotency import REPLAYED_HEADERS, IdempotentRequest, idempotency
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses, raises
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.core.security import InvalidToken, decode_access_token
from app.orders import checkout as checkout_service
from app.orders import fulfilment, payments
from app.orders.errors import (
    CarrierRejected,
    CarrierUnavailable,
    IllegalTransition,
    InvalidWebhookProblem,
    OrderChangedMeanwhile,
    OrderNotFound,
    OutOfStock,
    PaymentAttemptsExhausted,
    PaymentDeclinedProblem,
    PaymentMethodNotAccepted,
    PaymentNotShippable,
    PaymentProviderUnavailable,
    PaymentRejectedProblem,
    PaymentUnderReview,
)
from app.orders.models import Order, OrderStatus
from app.orders.payments import PaymentAttempts
from app.orders.schemas import (
    AdminOrderRead,
    CheckoutRequest,
    CheckoutResponse,
    OrderContactUpdate,
    OrderRead,
    OrderSummary,
    PaymentConfirm,
    PaymentResult,
    RefundRequest,
    TrackingRead,
    TrackRequest,
)
from app.orders.service import (
    admin_order_read,
    get_accessible_order,
    list_orders,
    load_order,
    order_read,
    rectify_contact,
)

router = APIRouter(tags=["orders"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/orders", tags=["admin"], route_class=FacetRoute)
# Its own router, so the processors' callbacks carry one tag (an SDK emits one per tag).
webhooks_router = APIRouter(tags=["webhooks"], route_class=FacetRoute)

TRACK_LIMIT_PER_MINUTE = 30

OrderToken = Annotated[
    str | None,
    Header(
        alias="X-Order-Token",
        max_length=128,
        description="The `order_token` checkout returned; guests need it, owners do not.",
    ),
]


async def checkout_caller(
    request: Request, settings: SettingsDep, token: Annotated[str | None, Depends(bearer)]
) -> str:
    """Whose checkout this is, for scoping its Idempotency-Key, without touching the
    database: the signed-in account (from the token's signature; an invalid token is
    refused later anyway), else the guest cart named in the body, which only its holder
    knows."""
    if token:
        try:
            return f"account:{decode_access_token(settings, token).subject}"
        except InvalidToken:
            return "invalid-token"
    try:
        body = json.loads(await request.body())
        return f"cart:{uuid.UUID(str(body['cart_id']))}"
    except (ValueError, TypeError, KeyError):
        return "invalid-body"  # refused by validation before anything happens


CheckoutIdempotency = Annotated[
    IdempotentRequest, Depends(idempotency("checkout", checkout_caller))
]


@raises(TooManyRequests)
async def throttle_checkout(
    idem: CheckoutIdempotency,
    limiter: RateLimitDep,
    client_key: ClientKeyDep,
    settings: SettingsDep,
) -> None:
    """Checkouts per client address (a replay is free). Runs right after the key is claimed
    and before the request's session is used: the counter may write in its own transaction."""
    if idem.replay is not None:
        return
    window = await limiter.hit(f"checkout:ip:{client_key}", settings.checkout_window_seconds)
    if window.count > settings.checkout_max_per_ip:
        raise TooManyRequests(window.resets_in, "Too many checkouts from this address.")


@raises(OrderNotFound)
async def get_order_for_caller(
    session: SessionDep, actor: OptionalAccount, order_id: uuid.UUID, token: OrderToken = None
) -> Order:
    return await get_accessible_order(session, order_id, actor, token)


CallerOrder = Annotated[Order, Depends(get_order_for_caller)]


@router.post(
    "/checkout",
    status_code=status.HTTP_201_CREATED,
    operation_id="checkout",
    summary="Check out a cart",
    response_model=CheckoutResponse,
    responses=problem_responses(
        AgeRestricted,
        CartCheckedOut,
        CartLineLimit,
        CartEmpty,
        CartNotFound,
        CurrencyMismatch,
        OutOfStock,
        QuantityLimit,
        VariantUnavailable,
    ),
    dependencies=[Depends(throttle_checkout)],
)
async def checkout(
    idem: CheckoutIdempotency,
    session: SessionDep,
    settings: SettingsDep,
    rules: CartRulesDep,
    actor: OptionalAccount,
    body: CheckoutRequest,
) -> JSONResponse:
    """Turn a cart into an order awaiting payment, reserving its stock. A cart becomes at
    most one order: a later checkout of it is a 409 `cart-checked-out`.

    The `Idempotency-Key` is required and belongs to the caller (the signed-in account, or
    for a guest the cart): a retry by the same caller with the same key and body replays
    the order. The `order_token` is never stored: while the order awaits payment a replay
    issues a fresh one that replaces the earlier one (only the latest works); after that
    a replay answers with `order_token: null`. Checkouts are limited per client address
    (429 with `Retry-After`)."""
    if idem.replay is not None:
        order_id = uuid.UUID(idem.replay.body["order_id"])
        order, token = await checkout_service.reissue_token(session, order_id)
        answer = order_read(order, CheckoutResponse, order_token=token).model_dump(mode="json")
        return JSONResponse(answer, status_code=idem.replay.status, headers=REPLAYED_HEADERS)
    order, token = await checkout_service.checkout(session, settings, rules, actor, body)
    # Only the order id is kept: a replay rebuilds its answer, so the stored row holds
    # neither the token nor the buyer's personal data.
    await idem.complete(session, status.HTTP_201_CREATED, {"order_id": str(order.id)})
    answer = order_read(order, CheckoutResponse, order_token=token).model_dump(mode="json")
    return JSONResponse(answer, status_code=status.HTTP_201_CREATED)


async def count_payment_attempt(
    limiter: RateLimitDep, settings: SettingsDep, client_key: ClientKeyDep, order_id: uuid.UUID
) -> PaymentAttempts:
    """Count the attempt per order and per address before anything reads the database:
    the counters may live in the database, written in their own transaction."""
    window = settings.payment_attempt_window_seconds
    on_order = await limiter.hit(f"pay:order:{order_id}", window)
    from_address = await limiter.hit(f"pay:ip:{client_key}", window)
    return PaymentAttempts(
        on_order=on_order.count,
        order_resets_in=on_order.resets_in,
        from_address=from_address.count,
        address_resets_in=from_address.resets_in,
    )


@router.post(
    "/orders/{order_id}/payments",
    operation_id="payOrder",
    summary="Pay for an order",
    responses=problem_responses(
        OrderNotFound,
        IllegalTransition,
        OrderChangedMeanwhile,
        PaymentAttemptsExhausted,
        PaymentDeclinedProblem,
        PaymentMethodNotAccepted,
        PaymentProviderUnavailable,
        PaymentRejectedProblem,
        PaymentUnderReview,
        TooManyRequests,
    ),
)
async def pay_order(
    attempts: Annotated[PaymentAttempts, Depends(count_payment_attempt)],
    session: SessionDep,
    settings: SettingsDep,
    provider: PaymentProviderDep,
    actor: OptionalAccount,
    order_id: uuid.UUID,
    body: PaymentConfirm,
    token: OrderToken = None,
) -> PaymentResult:
    """Pay with what the processor's form gave the buyer: a Stripe payment-method token
    (`payment_method: "pm_..."`) or Authorize.Net Accept.js opaque data (`opaque_data`),
    whichever the configured processor takes (the other is 422
    `payment-method-not-accepted`; card numbers anywhere are 422 too). A decline leaves
    the order awaiting payment (402); a processor timeout is a 503 that is safe to retry;
    too many attempts are 429, and past a hard cap the order is cancelled. When the buyer
    must authenticate (3-D Secure), `customer_action` says how and the order stays payable.
    A payment the processor holds for review leaves the order `pending_payment` with a
    note for staff; the processor's webhook settles it."""
    outcome = await payments.pay(
        session, provider, settings, actor, token, order_id,
        payment_method=body.method, attempts=attempts,
    )  # fmt: skip
    result: PaymentResult = order_read(
        await load_order(session, outcome.order.id),
        PaymentResult,
        customer_action=outcome.customer_action,
    )
    return result


@webhooks_router.post(
    "/webhooks/stripe",
    operation_id="stripeWebhook",
    summary="Receive a Stripe event",
    responses=problem_responses(InvalidWebhookProblem, PayloadTooLarge, PaymentProviderUnavailable),
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    provider: PaymentProviderDep,
    signature: Annotated[str | None, Header(alias="Stripe-Signature", max_length=2048)] = None,
) -> dict[str, str]:
    """Payment events from the processor, verified by signature and applied once."""
    outcome = await payments.handle_webhook(session, provider, await request.body(), signature)
    return {"status": outcome}


@webhooks_router.post(
    "/webhooks/authorizenet",
    operation_id="authorizeNetWebhook",
    summary="Receive an Authorize.Net notification",
    responses=problem_responses(InvalidWebhookProblem, PayloadTooLarge, PaymentProviderUnavailable),
)
async def authorizenet_webhook(
    request: Request,
    session: SessionDep,
    provider: PaymentProviderDep,
    signature: Annotated[str | None, Header(alias="X-ANET-Signature", max_length=256)] = None,
) -> dict[str, str]:
    """Authorize.Net webhook notifications, verified by their HMAC-SHA512 signature under
    the store's signature key and applied once per notification id."""
    outcome = await payments.handle_webhook(session, provider, await request.body(), signature)
    return {"status": outcome}


@router.get(
    "/me/orders",
    operation_id="listMyOrders",
    summary="List my orders",
    responses=problem_responses(InvalidCursor),
)
async def list_my_orders(
    session: SessionDep, account: CurrentAccount, limit: Limit = 20, cursor: Cursor = None
) -> Page[OrderSummary]:
    """The signed-in customer's orders, newest first."""
    items, next_cursor = await list_orders(
        session, account=account, status=None, limit=limit, cursor=cursor
    )
    return Page[OrderSummary](items=items, next_cursor=next_cursor)


@router.post(
    "/orders/track",
    operation_id="trackOrder",
    summary="Track an order by number and email",
    responses=problem_responses(OrderNotFound, TooManyRequests),
)
async def track_order(
    session: SessionDep,
    carrier: ShippingCarrierDep,
    limiter: RateLimitDep,
    client_key: ClientKeyDep,
    body: TrackRequest,
) -> TrackingRead:
    """Track an order by number and email, sent in the body (status and tracking events only)."""
    window = await limiter.hit(f"track:ip:{client_key}", 60)
    if window.count > TRACK_LIMIT_PER_MINUTE:
        raise TooManyRequests(window.resets_in, "Too many tracking requests; try again soon.")
    return await fulfilment.track(session, carrier, number=body.number, email=body.email)


@router.get(
    "/orders/{order_id:uuid}",
    operation_id="getOrder",
    summary="Get an order",
)
async def get_order(order: CallerOrder) -> OrderRead:
    """An order, for its owner, staff, or a guest holding its `X-Order-Token`."""
    return order_read(order)


@router.post(
    "/orders/{order_id}/cancel",
    operation_id="cancelOrder",
    summary="Cancel an order",
    responses=problem_responses(
        OrderNotFound,
        IllegalTransition,
        OrderChangedMeanwhile,
        PaymentDeclinedProblem,
        PaymentProviderUnavailable,
        PaymentRejectedProblem,
    ),
)
async def cancel_order(
    session: SessionDep,
    provider: PaymentProviderDep,
    actor: OptionalAccount,
    order_id: uuid.UUID,
    token: OrderToken = None,
) -> OrderRead:
    """Cancel before shipment: the stock is released and a payment voided or refunded."""
    # Not locked: the processor is called before anything is written (see payments.py).
    order = await get_accessible_order(session, order_id, actor, token)
    label = "guest" if actor is None else "customer"
    if actor is not None and actor.role.value == "staff":
        label = "staff"
    await fulfilment.cancel(session, provider, order, actor=label, actor_account=actor)
    return order_read(order)


# ---- staff ----


@raises(OrderNotFound)
async def get_any_order(session: SessionDep, _: StaffAccount, order_id: uuid.UUID) -> Order:
    # Not locked: ship and refund call the processor and the carrier before they write,
    # and every write is conditional on the status read here.
    return await load_order(session, order_id)


AnyOrder = Annotated[Order, Depends(get_any_order)]


@admin_router.get(
    "",
    operation_id="adminListOrders",
    summary="List orders",
    responses=problem_responses(InvalidCursor),
)
async def admin_list_orders(
    session: SessionDep,
    _: StaffAccount,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderSummary]:
    """Every order, newest first, optionally by status."""
    items, next_cursor = await list_orders(
        session, account=None, status=status_filter, limit=limit, cursor=cursor
    )
    return Page[OrderSummary](items=items, next_cursor=next_cursor)


@admin_router.get(
    "/{order_id}",
    operation_id="adminGetOrder",
    summary="Get an order with its history",
)
async def admin_get_order(session: SessionDep, order: AnyOrder) -> AdminOrderRead:
    """An order with its full transition history."""
    return await admin_order_read(session, order)


@admin_router.post(
    "/{order_id}/ship",
    operation_id="adminShipOrder",
    summary="Ship an order",
    responses=problem_responses(
        CarrierRejected,
        CarrierUnavailable,
        IllegalTransition,
        OrderChangedMeanwhile,
        PaymentDeclinedProblem,
        PaymentNotShippable,
        PaymentProviderUnavailable,
        PaymentRejectedProblem,
    ),
)
async def admin_ship_order(
    session: SessionDep,
    staff: StaffAccount,
    provider: PaymentProviderDep,
    carrier: ShippingCarrierDep,
    order: AnyOrder,
) -> AdminOrderRead:
    """Capture a held payment, book the shipment with the carrier, and mark it shipped."""
    shipped = await fulfilment.ship(session, provider, carrier, order, staff=staff)
    return await admin_order_read(session, shipped)


@admin_router.post(
    "/{order_id}/deliver",
    operation_id="adminMarkDelivered",
    summary="Mark an order delivered",
    responses=problem_responses(IllegalTransition),
)
async def admin_mark_delivered(
    session: SessionDep, staff: StaffAccount, order: AnyOrder
) -> AdminOrderRead:
    """Mark a shipped order delivered."""
    await fulfilment.deliver(session, order, staff=staff)
    return await admin_order_read(session, order)


@admin_router.post(
    "/{order_id}/refund",
    operation_id="adminRefundOrder",
    summary="Refund an order",
    responses=problem_responses(
        IllegalTransition,
        OrderChangedMeanwhile,
        PaymentDeclinedProblem,
        PaymentProviderUnavailable,
        PaymentRejectedProblem,
    ),
)
async def admin_refund_order(
    session: SessionDep,
    staff: StaffAccount,
    provider: PaymentProviderDep,
    order: AnyOrder,
    body: RefundRequest | None = None,
) -> AdminOrderRead:
    """Refund in full: before shipment this cancels the order; after, it records a return."""
    await fulfilment.refund(
        session, provider, order, staff=staff, note=body.reason if body else None
    )
    return await admin_order_read(session, order)


@admin_router.patch(
    "/{order_id}/contact",
    operation_id="adminRectifyOrderContact",
    summary="Correct an order's contact details",
)
async def admin_rectify_order_contact(
    session: SessionDep, staff: StaffAccount, order: AnyOrder, body: OrderContactUpdate
) -> AdminOrderRead:
    """Correct an order's email, phone or shipping address on its buyer's request (P8);
    the history says it was corrected, not what it said."""
    await rectify_contact(session, order, body, staff=staff)
    return await admin_order_read(session, order)
