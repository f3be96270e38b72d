"""The checkout, payment and tracking limits on the embedded default: SQLite with the
throttling counters in the database (no Redis). Every SQLite transaction takes the write
lock, so a counter written while the request's own session is open would wait on that
session for the busy timeout and fail; each throttled route must count first."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.core.ratelimit import DatabaseRateLimitBackend, RateLimitCounter
from tests.factories import make_category, make_product
from tests.orders.conftest import checkout_body, new_key, variant_ids
from tests.realdb import dedicated_sqlite_database, running_app


async def test_checkout_pay_and_track_count_in_the_database_without_waiting_on_themselves(
    tmp_path: Path,
) -> None:
    url = await dedicated_sqlite_database(tmp_path, "counters.db")
    async with running_app(url) as application:
        assert isinstance(application.state.rate_limit_backend, DatabaseRateLimitBackend)
        async with application.state.sessionmaker() as session:
            category = await make_category(session, f"counters-{uuid.uuid4().hex[:8]}")
            product = await make_product(session, category, prices=(90_000,), stock=3)
            (variant_id,) = await variant_ids(session, product)
        transport = httpx.ASGITransport(app=application, client=("192.0.2.10", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as client:
            cart = await client.post("/v1/carts")
            assert cart.status_code == 201, cart.text
            cart_id = cart.json()["id"]
            added = await client.post(
                f"/v1/carts/{cart_id}/items", json={"variant_id": str(variant_id), "quantity": 1}
            )
            assert added.status_code == 201, added.text
            placed = await client.post(
                "/v1/checkout", json=checkout_body(cart_id), headers={"Idempotency-Key": new_key()}
            )
            assert placed.status_code == 201, placed.text
            order = placed.json()
            token = {"X-Order-Token": order["order_token"]}
            declined = await client.post(
                f"/v1/orders/{order['id']}/payments",
                json={"payment_method": "pm_card_chargeDeclined"},
                headers=token,
            )
            assert declined.status_code == 402, declined.text
            paid = await client.post(
                f"/v1/orders/{order['id']}/payments",
                json={"payment_method": "pm_card_visa"},
                headers=token,
            )
            assert paid.status_code == 200, paid.text
            assert paid.json()["status"] == "paid"
            tracked = await client.post(
                "/v1/orders/track", json={"number": order["number"], "email": "ada@example.com"}
            )
            assert tracked.status_code == 200, tracked.text

        async with application.state.sessionmaker() as session:
            counters = await session.scalars(select(RateLimitCounter.key))
            keys = list(counters)
            assert await session.scalar(select(func.count()).select_from(RateLimitCounter))
        # Counted in the database, under keys that hold no client address (P4).
        assert keys
        assert not any("192.0.2.10" in key for key in keys)
