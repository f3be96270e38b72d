from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse

from app.accounts.deps import CurrentAccount, OptionalAccount, StaffAccount
from app.carts.router import TaxDep
from app.core.adapters import PaymentProviderDep, ShippingCarrierDep
from app.core.deps import ClientIpDep, RateLimitDep, SessionDep, SettingsDep
from app.core.errors import TooManyRequests, problem_responses
from app.core.idempotency import IdempotentRequest, idempotency
from app.core.pagination import Cursor, Limit
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.orders import checkout as checkout_service
from app.orders import fulfilment, payments
from app.orders.models import Order, OrderStatus
from app.orders.schemas import (
    AdminOrderRead,
    CheckoutRequest,
    CheckoutResponse,
    OrderRead,
    OrderSummary,
    PaymentConfirm,
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
)

router = APIRouter(tags=["orders"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/orders", tags=["admin"], route_class=FacetRoute)

ORDER_ERRORS = problem_responses(401, 404, 409)
PAYMENT_ERRORS = problem_responses(401, 402, 404, 409, 503)
TRACK_LIMIT_PER_MINUTE = 30

OrderToken = Annotated[
    str | None,
    Header(
        alias="X-Order-Token",
        max_length=128,
        description="The `order_token` checkout returned; guests need it, owners do not.",
    ),
]
CheckoutIdempotency = Annotated[IdempotentRequest, Depends(idempotency("checkout"))]


async def get_order_for_caller(
    session: SessionDep, actor: OptionalAccount, order_id: uuid.UUID, token: OrderToken = None
) -> Order:
    return await get_accessible_order(session, order_id, actor, token)


CallerOrder = Annotated[Order, Depends(get_order_for_caller)]


@router.post(
    "/checkout",
    status_code=status.HTTP_201_CREATED,
    operation_id="checkout",
    response_model=CheckoutResponse,
    responses=problem_responses(401, 404, 409),
)
async def checkout(
    idem: CheckoutIdempotency,
    session: SessionDep,
    settings: SettingsDep,
    tax: TaxDep,
    actor: OptionalAccount,
    body: CheckoutRequest,
) -> JSONResponse:
    """Turn a cart into an order awaiting payment, reserving its stock (Idempotency-Key
    required: a retry with the same key and body replays the first answer)."""
    if idem.replay is not None:
        return idem.replay
    order, token = await checkout_service.checkout(session, settings, tax, actor, body)
    answer = order_read(order, CheckoutResponse, order_token=token).model_dump(mode="json")
    await idem.complete(session, status.HTTP_201_CREATED, answer)
    return JSONResponse(answer, status_code=status.HTTP_201_CREATED)


@router.post("/orders/{order_id}/payments", operation_id="payOrder", responses=PAYMENT_ERRORS)
async def pay_order(
    session: SessionDep,
    provider: PaymentProviderDep,
    actor: OptionalAccount,
    order_id: uuid.UUID,
    body: PaymentConfirm,
    token: OrderToken = None,
) -> OrderRead:
    """Pay with a processor payment-method token. A decline leaves the order awaiting
    payment (402); a processor timeout is a 503 that is safe to retry."""
    order = await payments.pay(
        session, provider, actor, token, order_id, payment_method=body.payment_method
    )
    return order_read(await load_order(session, order.id))


@router.post(
    "/webhooks/stripe", operation_id="stripeWebhook", tags=["webhooks"],
    responses=problem_responses(400, 503),
)  # fmt: skip
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    provider: PaymentProviderDep,
    signature: Annotated[str | None, Header(alias="Stripe-Signature", max_length=2048)] = None,
) -> dict[str, str]:
    """Payment events from the processor, verified by signature and applied once."""
    outcome = await payments.handle_webhook(session, provider, await request.body(), signature)
    return {"status": outcome}


@router.get("/me/orders", operation_id="listMyOrders", responses=ORDER_ERRORS)
async def list_my_orders(
    session: SessionDep, account: CurrentAccount, limit: Limit = 20, cursor: Cursor = None
) -> Page[OrderSummary]:
    """The signed-in customer's orders, newest first."""
    items, next_cursor = await list_orders(
        session, account=account, status=None, limit=limit, cursor=cursor
    )
    return Page[OrderSummary](items=items, next_cursor=next_cursor)


@router.post("/orders/track", operation_id="trackOrder", responses=problem_responses(404, 429))
async def track_order(
    session: SessionDep,
    carrier: ShippingCarrierDep,
    limiter: RateLimitDep,
    client_ip: ClientIpDep,
    body: TrackRequest,
) -> TrackingRead:
    """Track an order by number and email, sent in the body (status and tracking events only)."""
    window = await limiter.hit(f"track:ip:{client_ip}", 60)
    if window.count > TRACK_LIMIT_PER_MINUTE:
        raise TooManyRequests(window.resets_in, "Too many tracking requests; try again soon.")
    return await fulfilment.track(session, carrier, number=body.number, email=body.email)


@router.get("/orders/{order_id:uuid}", operation_id="getOrder", responses=ORDER_ERRORS)
async def get_order(order: CallerOrder) -> OrderRead:
    """An order, for its owner, staff, or a guest holding its `X-Order-Token`."""
    return order_read(order)


@router.post("/orders/{order_id}/cancel", operation_id="cancelOrder", responses=PAYMENT_ERRORS)
async def cancel_order(
    session: SessionDep,
    provider: PaymentProviderDep,
    actor: OptionalAccount,
    order_id: uuid.UUID,
    token: OrderToken = None,
) -> OrderRead:
    """Cancel before shipment: the stock is released and a payment voided or refunded."""
    order = await get_accessible_order(session, order_id, actor, token, for_update=True)
    label = "guest" if actor is None else "customer"
    if actor is not None and actor.role.value == "staff":
        label = "staff"
    await fulfilment.cancel(session, provider, order, actor=label, actor_account=actor)
    return order_read(order)


# ---- staff ----

ADMIN_ERRORS = problem_responses(401, 403, 404, 409, 422, 503)


async def get_any_order(session: SessionDep, _: StaffAccount, order_id: uuid.UUID) -> Order:
    return await load_order(session, order_id, for_update=True)


AnyOrder = Annotated[Order, Depends(get_any_order)]


@admin_router.get("", operation_id="adminListOrders", responses=ADMIN_ERRORS)
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


@admin_router.get("/{order_id}", operation_id="adminGetOrder", responses=ADMIN_ERRORS)
async def admin_get_order(session: SessionDep, order: AnyOrder) -> AdminOrderRead:
    """An order with its full transition history."""
    return await admin_order_read(session, order)


@admin_router.post("/{order_id}/ship", operation_id="adminShipOrder", responses=ADMIN_ERRORS)
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


@admin_router.post("/{order_id}/deliver", operation_id="adminMarkDelivered", responses=ADMIN_ERRORS)
async def admin_mark_delivered(
    session: SessionDep, staff: StaffAccount, order: AnyOrder
) -> AdminOrderRead:
    """Mark a shipped order delivered."""
    await fulfilment.deliver(session, order, staff=staff)
    return await admin_order_read(session, order)


@admin_router.post("/{order_id}/refund", operation_id="adminRefundOrder", responses=ADMIN_ERRORS)
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
