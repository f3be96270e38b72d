"""Many processes, one database: two API processes and two outbox workers (`facet worker`)
share one PostgreSQL database, and the invariants hold across them: no oversell, one order
per cart and per Idempotency-Key, each outbox message delivered exactly once, and the login
throttle counted once for all (database counters, no Redis)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog.models import Variant
from app.core.db import create_engine, create_sessionmaker
from app.orders.models import Order
from app.outbox.models import MessageStatus, OutboxMessage
from app.soak import outbox_workers
from tests.accounts.test_login_concurrency import assert_limit_holds_under_a_burst, register
from tests.conftest import TEST_JWT_SECRET
from tests.factories import make_category, make_product, unique_email
from tests.orders.conftest import checkout_body
from tests.processes import api_processes
from tests.realdb import dedicated_pg_database

pytestmark = pytest.mark.postgres

STOCK = 3
BUYERS = 16  # carts competing for STOCK pieces
REPLAYS = 8


@dataclass(frozen=True)
class Cluster:
    database_url: str
    api_urls: list[str]
    mail_dir: Path
    worker_logs: list[Path]


def worker_env(database_url: str, mail_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="test",
        FACET_DATABASE_URL=database_url,
        FACET_JWT_SECRET=TEST_JWT_SECRET,
        FACET_MAIL_DIR=str(mail_dir),
        FACET_LOG_LEVEL="INFO",  # each delivery logs its message id: counted below
    )
    return env


@pytest.fixture(scope="module")
async def database_url() -> str:
    return await dedicated_pg_database("_scale_out")


@pytest.fixture(scope="module")
def cluster(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("scale-out")
    logs = [folder / "worker-0.log", folder / "worker-1.log"]
    with (
        outbox_workers(worker_env(database_url, folder / "mail"), logs, poll=0.1),
        # Every request comes from 127.0.0.1: lift the per-address checkout limit.
        api_processes(database_url, folder, FACET_CHECKOUT_MAX_PER_IP="10000") as urls,
    ):
        yield Cluster(database_url, urls, folder / "mail", logs)


@pytest.fixture
async def clients(cluster: Cluster) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened = [httpx.AsyncClient(base_url=url, timeout=120) for url in cluster.api_urls]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def stocked_variant(sessions: async_sessionmaker[AsyncSession], stock: int) -> str:
    async with sessions() as session:
        category = await make_category(session, f"scale-{uuid.uuid4().hex[:8]}")
        product = await make_product(
            session, category, slug=f"scale-ring-{uuid.uuid4().hex[:8]}", stock=stock
        )
        variant_id = await session.scalar(
            select(Variant.id).where(Variant.product_id == product.id)
        )
    return str(variant_id)


async def filled_cart(client: httpx.AsyncClient, variant_id: str) -> str:
    cart_id: str = (await client.post("/v1/carts")).json()["id"]
    added = await client.post(
        f"/v1/carts/{cart_id}/items", json={"variant_id": variant_id, "quantity": 1}
    )
    assert added.status_code == 201, added.text
    return cart_id


def problem_slug(answer: httpx.Response) -> str:
    return str(answer.json()["type"]).rsplit("/", 1)[-1]


async def test_low_stock_is_never_oversold_by_checkouts_spread_over_two_processes(
    clients: list[httpx.AsyncClient], db: async_sessionmaker[AsyncSession]
) -> None:
    variant_id = await stocked_variant(db, STOCK)
    carts = [await filled_cart(clients[n % 2], variant_id) for n in range(BUYERS)]
    email = unique_email(f"oversell{uuid.uuid4().hex[:8]}")

    answers = await asyncio.gather(
        *(
            clients[n % 2].post(
                "/v1/checkout",
                json=checkout_body(cart, email=email),
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            for n, cart in enumerate(carts)
        )
    )

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: STOCK, 409: BUYERS - STOCK}, [a.text for a in answers]
    assert {problem_slug(a) for a in answers if a.status_code == 409} == {"out-of-stock"}
    async with db() as session:
        stock = await session.scalar(
            select(Variant.stock_on_hand).where(Variant.id == uuid.UUID(variant_id))
        )
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.email == email)
        )
    assert stock == 0
    assert orders == STOCK


async def test_concurrent_checkouts_of_one_cart_across_two_processes_make_one_order(
    clients: list[httpx.AsyncClient], db: async_sessionmaker[AsyncSession]
) -> None:
    variant_id = await stocked_variant(db, 5)
    cart_id = await filled_cart(clients[1], variant_id)
    email = unique_email(f"onecart{uuid.uuid4().hex[:8]}")
    body = checkout_body(cart_id, email=email)

    answers = await asyncio.gather(
        *(
            clients[n % 2].post(
                "/v1/checkout", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            for n in range(12)
        )
    )

    assert Counter(a.status_code for a in answers) == {201: 1, 409: 11}, [a.text for a in answers]
    assert {problem_slug(a) for a in answers if a.status_code == 409} == {"cart-checked-out"}
    async with db() as session:
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.email == email)
        )
        stock = await session.scalar(
            select(Variant.stock_on_hand).where(Variant.id == uuid.UUID(variant_id))
        )
    assert orders == 1
    assert stock == 4


async def test_one_idempotency_key_sent_to_both_processes_at_once_makes_one_order(
    clients: list[httpx.AsyncClient], db: async_sessionmaker[AsyncSession]
) -> None:
    variant_id = await stocked_variant(db, 5)
    cart_id = await filled_cart(clients[0], variant_id)
    email = unique_email(f"onekey{uuid.uuid4().hex[:8]}")
    body, key = checkout_body(cart_id, email=email), uuid.uuid4().hex

    answers = await asyncio.gather(
        *(
            clients[n % 2].post("/v1/checkout", json=body, headers={"Idempotency-Key": key})
            for n in range(REPLAYS)
        )
    )
    # Replay after every attempt has finished: the stored answer, from either process.
    answers += [
        await client.post("/v1/checkout", json=body, headers={"Idempotency-Key": key})
        for client in clients
    ]

    placed = [a for a in answers if a.status_code == 201]
    assert placed, [a.text for a in answers]
    assert {a.json()["id"] for a in placed} == {placed[0].json()["id"]}
    # A duplicate that arrives while the first is in flight is refused, never a second order.
    assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    assert all(a.status_code == 201 for a in answers[-2:])
    async with db() as session:
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.email == email)
        )
    assert orders == 1


async def test_two_workers_deliver_each_message_of_two_api_processes_exactly_once(
    cluster: Cluster, clients: list[httpx.AsyncClient], db: async_sessionmaker[AsyncSession]
) -> None:
    variant_id = await stocked_variant(db, 20)
    email = unique_email(f"mail{uuid.uuid4().hex[:8]}")
    carts = [await filled_cart(clients[n % 2], variant_id) for n in range(10)]
    placed = await asyncio.gather(
        *(
            clients[n % 2].post(
                "/v1/checkout",
                json=checkout_body(cart, email=email),
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            for n, cart in enumerate(carts)
        )
    )
    assert all(p.status_code == 201 for p in placed), [p.text for p in placed]
    paid = await asyncio.gather(
        *(
            clients[n % 2].post(
                f"/v1/orders/{p.json()['id']}/payments",
                json={"payment_method": "pm_card_visa"},
                headers={"X-Order-Token": p.json()["order_token"]},
            )
            for n, p in enumerate(placed)
        )
    )
    assert all(p.status_code == 200 for p in paid), [p.text for p in paid]

    messages: list[OutboxMessage] = []
    for _ in range(600):  # the workers poll every 0.1 s
        async with db() as session:
            messages = list(
                (
                    await session.scalars(
                        select(OutboxMessage).where(OutboxMessage.recipient == email)
                    )
                ).all()
            )
        if messages and all(m.status == MessageStatus.sent for m in messages):
            break
        await asyncio.sleep(0.1)
    assert len(messages) >= 10, "every paid order notifies its buyer"
    assert all(m.status == MessageStatus.sent and m.attempts == 1 for m in messages)

    ids = {str(m.id) for m in messages}
    deliveries: Counter[str] = Counter()
    for log in cluster.worker_logs:
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("msg") == "mail written" and entry.get("message_id") in ids:
                    deliveries[entry["message_id"]] += 1
    assert deliveries == dict.fromkeys(ids, 1)
    files = [p for p in cluster.mail_dir.glob("*.eml") if any(i in p.name for i in ids)]
    assert len(files) == len(ids)


async def test_login_limit_holds_across_two_api_processes_without_redis(
    clients: list[httpx.AsyncClient],
) -> None:
    email = unique_email(f"procs{uuid.uuid4().hex[:8]}")
    await register(clients[0], email)
    await assert_limit_holds_under_a_burst(clients, email)
