"""One cart, one order, across API processes: two real uvicorn processes serve one
PostgreSQL database, and concurrent checkouts of one cart are split between them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

from app.catalog.models import Variant
from app.cli import PROJECT_ROOT, migrate
from app.core.db import create_engine, create_sessionmaker
from app.orders.models import Order
from tests.conftest import TEST_JWT_SECRET, recreate_pg_database, unavailable
from tests.factories import make_category, make_product

pytestmark = pytest.mark.postgres

CHECKOUTS = 12
STOCK = 5
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def database_url() -> str:
    name = os.environ.get("FACET_TEST_PG_DATABASE", "facet_test") + "_processes"
    try:
        url = asyncio.run(recreate_pg_database(name))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", exc)
        raise
    migrate(url)
    return url


def wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"API process exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"API process did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def api_processes(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Base URLs of two API processes sharing the database."""
    folder = tmp_path_factory.mktemp("processes")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="test",
        FACET_DATABASE_URL=database_url,
        FACET_JWT_SECRET=TEST_JWT_SECRET,
        FACET_OUTBOX_IN_PROCESS="false",
        FACET_MAIL_DIR=str(folder / "mail"),
        # Every request comes from 127.0.0.1: lift the per-address checkout limit.
        FACET_CHECKOUT_MAX_PER_IP="10000",
        FACET_LOG_LEVEL="WARNING",
    )
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs = [folder / f"api-{index}.log" for index in range(2)]
    try:
        for log in logs:  # both start at once; then wait for each
            port = free_port()
            with log.open("wb") as sink:
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                         "--host", "127.0.0.1", "--port", str(port)],
                        cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
        for url, process, log in zip(urls, processes, logs, strict=True):
            wait_until_up(url, process, log)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def clients(api_processes: list[str]) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened = [httpx.AsyncClient(base_url=url, timeout=60) for url in api_processes]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


async def test_concurrent_checkouts_of_one_cart_across_two_processes_make_one_order(
    database_url: str, clients: list[httpx.AsyncClient]
) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            category = await make_category(session, f"processes-{uuid.uuid4().hex[:8]}")
            product = await make_product(
                session, category, slug=f"two-process-ring-{uuid.uuid4().hex[:8]}", stock=STOCK
            )
            variant_id = await session.scalar(
                select(Variant.id).where(Variant.product_id == product.id)
            )
        first, second = clients
        cart_id = (await first.post("/v1/carts")).json()["id"]
        added = await second.post(
            f"/v1/carts/{cart_id}/items", json={"variant_id": str(variant_id), "quantity": 1}
        )
        assert added.status_code == 201, added.text
        email = f"two-processes-{uuid.uuid4().hex[:12]}@example.com"
        body = {
            "cart_id": cart_id,
            "email": email,
            "phone": "+44 20 7946 0000",
            "shipping_address": ADDRESS,
            "is_adult": True,
        }

        answers = await asyncio.gather(
            *(
                clients[i % 2].post(
                    "/v1/checkout", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                for i in range(CHECKOUTS)
            )
        )

        statuses = Counter(r.status_code for r in answers)
        assert statuses == {201: 1, 409: CHECKOUTS - 1}, [r.text for r in answers]
        refused = {r.json()["type"].rsplit("/", 1)[-1] for r in answers if r.status_code == 409}
        assert refused == {"cart-checked-out"}
        async with sessions() as session:
            orders = await session.scalar(
                select(func.count()).select_from(Order).where(Order.email == email)
            )
            stock = await session.scalar(
                select(Variant.stock_on_hand).where(Variant.id == variant_id)
            )
        assert orders == 1
        assert stock == STOCK - 1
    finally:
        await engine.dispose()
