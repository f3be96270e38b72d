"""Erasure while the same customer checks out in parallel, on PostgreSQL: real
concurrent requests, each in its own committed transaction, on a dedicated database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import DEFAULT_PASSWORD
from tests.orders.conftest import checkout_body, new_key
from tests.orders.test_concurrency import make_variants
from tests.privacy.test_erasure import marked, new_markers, register
from tests.realdb import dedicated_pg_database, http_client, running_app, sessions

ROUNDS = 8
CHECKOUTS = 8
STAGGER_SECONDS = 0.03
# Each round starts its checkouts later, so across rounds they land before the erasure
# looks, while it works (its password check alone takes a while) and after it committed.
ROUND_START_SECONDS = 0.07


@pytest.fixture(scope="module")
async def pg_app() -> AsyncIterator[FastAPI]:
    url = await dedicated_pg_database("_erasure_race")
    # Every simulated customer registers and checks out from one test address.
    async with running_app(
        url, checkout_max_per_ip=10_000, registrations_per_ip_per_hour=10_000
    ) as application:
        yield application


async def erase_while_checking_out(
    pg_app: FastAPI, client: httpx.AsyncClient, *, start: float
) -> list[int]:
    """One customer with a filled cart erases while checking it out several times at once;
    returns the checkouts' statuses."""
    markers = new_markers()
    headers = await register(client, markers)
    (variant_id,) = await make_variants(pg_app, 1, stock=10)
    cart = (await client.get("/v1/me/cart", headers=headers)).json()["id"]
    added = await client.post(
        f"/v1/carts/{cart}/items",
        json={"variant_id": str(variant_id), "quantity": 1},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    address = {"full_name": markers.name, "line1": markers.street, "city": "Springfield",
               "postal_code": "62701", "country": "US"}  # fmt: skip
    body = checkout_body(cart, email=markers.email, phone=markers.phone, shipping_address=address)

    async def checkout(delay: float) -> httpx.Response:
        await asyncio.sleep(start + delay)
        return await client.post(
            "/v1/checkout", json=body, headers={**headers, "Idempotency-Key": new_key()}
        )

    erased, *checkouts = await asyncio.gather(
        client.post(
            "/v1/me/privacy/erasure", json={"current_password": DEFAULT_PASSWORD}, headers=headers
        ),
        *(checkout(i * STAGGER_SECONDS) for i in range(CHECKOUTS)),
    )

    assert erased.status_code == 200, erased.text
    async with sessions(pg_app)() as session:
        assert await marked(session, markers) == []
    return [c.status_code for c in checkouts]


async def test_erasure_during_parallel_checkouts_leaves_nothing_and_never_fails(
    pg_app: FastAPI,
) -> None:
    statuses: Counter[int] = Counter()
    async with http_client(pg_app) as client:
        for round_ in range(ROUNDS):
            start = round_ * ROUND_START_SECONDS
            statuses.update(await erase_while_checking_out(pg_app, client, start=start))
    # Each checkout either won (its order was then anonymized) or was refused cleanly.
    assert set(statuses) <= {201, 401, 404, 409}, statuses
