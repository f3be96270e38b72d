"""The mixed soak: many clients browse, fill carts, check out, pay, cancel and change their
consents at once against real uvicorn processes and outbox workers sharing one PostgreSQL
database, all on loopback; then the invariants are checked:

- no answer was a 5xx, and every answer was one the route may give;
- stock is conserved: each variant's initial stock = on hand + reserved (unpaid orders)
  + sold (paid orders), orders that released their stock counting in neither;
- every paid order has exactly one successful charge for its amount in the fake payment
  processor's ledger (shared by the processes through `FACET_FAKE_PAYMENTS_LEDGER`), and
  no charge belongs to an order that is not paid;
- one order per Idempotency-Key (a replay answers the same order);
- the outbox drained: every message sent once, no order notified twice of the same thing.

`facet bench --soak` runs it for 60 s at 64 clients; the test suite runs it shortened
(`tests/test_soak.py`). The soak bounds itself by time and by requests per client.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from app.adapters.payments.fake import ChargeKind, read_ledger
from app.bench import (
    CHECKOUT_BODY,
    BenchError,
    commit,
    facet_env,
    fresh_database,
    machine,
    running_servers,
    stop_process,
)
from app.catalog.models import Product, Variant
from app.cli import PROJECT_ROOT
from app.core.db import create_engine, create_sessionmaker
from app.orders.models import Order, OrderLine, OrderStatus
from app.outbox.models import MessageStatus, OutboxMessage
from app.seed import seed

SOAK_PASSWORD = "Soak-Test-Sapphire-Pendant-91"  # noqa: S105 - loopback test accounts only
LOW_STOCK = 3  # a few variants run out, so checkouts race for the last pieces
STOCK = 40
SOAK_VARIANTS = 12
MAX_REQUESTS_PER_CLIENT_SECOND = 100  # a bound, far above what a client manages
DRAIN_TIMEOUT_S = 60.0

# The answers each action may give; anything else is a failure of the soak.
ALLOWED = {
    "browse": {200},
    "cart": {201},
    "add": {201, 409},  # 409: not enough stock, or the cart is full
    "patch": {200, 409},
    "remove": {200, 404},  # 404: removed meanwhile by the same client's earlier call
    "checkout": {201, 409},  # 409: stock ran out, or the cart was checked out
    "replay": {201, 409},
    "pay": {200, 402, 409},  # 402: the declining test card
    "cancel": {200, 409},
    "consent": {200},
}


@dataclass(frozen=True)
class SoakPlan:
    database_url: str
    seconds: float = 60.0
    clients: int = 64
    api_processes: int = 2
    outbox_workers: int = 2
    products: int = 40
    accounts: int = 8
    # False: the database is already fresh and migrated (the test suite makes its own).
    prepare_database: bool = True
    seed_value: int = 11


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    replay_mismatches: int = 0
    orders: int = 0

    def record(self, action: str, status: int) -> None:
        self.statuses[(action, status)] += 1


@dataclass
class SoakReport:
    plan: SoakPlan
    seconds: float
    tally: Tally
    checks: list[tuple[str, bool, str]]  # (invariant, held, detail)
    figures: dict[str, int]

    @property
    def passed(self) -> bool:
        return all(held for _, held, _ in self.checks)

    def failures(self) -> list[str]:
        return [f"{name}: {detail}" for name, held, detail in self.checks if not held]

    def render(self) -> str:
        requests = sum(self.tally.statuses.values())
        load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        lines = [
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine()}; load average {load}",
            f"- commit: {commit()}",
            "",
            f"soak: {self.plan.clients} clients, {self.plan.api_processes} API processes, "
            f"{self.plan.outbox_workers} outbox workers, {self.seconds:.1f} s, "
            f"{requests:,} requests ({requests / max(self.seconds, 0.001):,.0f}/s)",
            "",
            "| action | status | answers |",
            "| --- | ---: | ---: |",
            *(
                f"| {action} | {status} | {count:,} |"
                for (action, status), count in sorted(self.tally.statuses.items())
            ),
            "",
            ", ".join(f"{name}: {value:,}" for name, value in self.figures.items()),
            "",
            "| invariant | held | detail |",
            "| --- | --- | --- |",
            *(
                f"| {name} | {'yes' if held else 'NO'} | {detail} |"
                for name, held, detail in self.checks
            ),
        ]
        return "\n".join(lines)


# ---- setting up ----


async def _prepare(plan: SoakPlan) -> tuple[dict[uuid.UUID, int], list[str]]:
    """Seed the catalog and give the variants the clients buy known stock, a third of them
    low; return every variant's initial stock, and the ids of those the clients buy."""
    await seed(products=plan.products, database_url=plan.database_url)
    engine = create_engine(plan.database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            chosen = (
                await session.scalars(
                    select(Variant.id)
                    .join(Product, Product.id == Variant.product_id)
                    .where(Product.is_published.is_(True), Variant.is_active.is_(True))
                    .order_by(Variant.sku)
                    .limit(SOAK_VARIANTS)
                )
            ).all()
            for n, variant_id in enumerate(chosen):
                await session.execute(
                    update(Variant)
                    .where(Variant.id == variant_id)
                    .values(stock_on_hand=LOW_STOCK if n % 3 == 0 else STOCK)
                )
        async with create_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Variant.id, Variant.stock_on_hand))).all()
            initial: dict[uuid.UUID, int] = dict(rows)  # type: ignore[arg-type]
            return initial, [str(v) for v in chosen]
    finally:
        await engine.dispose()


async def _accounts(base_url: str, count: int) -> list[str]:
    """Access tokens of `count` new accounts, for consent changes."""
    tokens = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for _ in range(count):
            email = f"soak-{uuid.uuid4().hex[:12]}@example.com"
            created = await client.post(
                "/v1/accounts",
                json={
                    "email": email,
                    "password": SOAK_PASSWORD,
                    "full_name": "Soak Tester",
                    "date_of_birth": "1980-01-01",
                },
            )
            if created.status_code != 201:
                raise BenchError(f"cannot register ({created.status_code}): {created.text[:300]}")
            signed_in = await client.post(
                "/v1/auth/token", data={"username": email, "password": SOAK_PASSWORD}
            )
            tokens.append(signed_in.json()["access_token"])
    return tokens


# ---- the clients ----


@dataclass
class Shopper:
    """One client's state: its cart, and the orders it placed (id, token, last key, body)."""

    rng: random.Random
    cart: str | None = None
    lines: list[str] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)
    paid: list[tuple[str, str]] = field(default_factory=list)
    last_checkout: tuple[str, dict[str, object], str] | None = None  # key, body, order id


async def _shop(
    client: httpx.AsyncClient,
    shopper: Shopper,
    tally: Tally,
    *,
    variants: list[str],
    slugs: list[str],
    token: str,
    deadline: float,
    budget: int,
) -> None:
    rng = shopper.rng

    async def call(action: str, method: str, path: str, **kwargs: object) -> httpx.Response | None:
        try:
            answer = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            tally.transport_errors[f"{action}: {type(exc).__name__}"] += 1
            return None
        tally.record(action, answer.status_code)
        return answer

    for _ in range(budget):
        if time.monotonic() >= deadline:
            return
        roll = rng.random()
        if roll < 0.35:
            if rng.random() < 0.5:
                query = rng.choice(["", "&metal=white_gold", "&metal=rose_gold", "&sort=price_asc"])
                await call("browse", "GET", f"/v1/products?limit=20{query}")
            else:
                await call("browse", "GET", f"/v1/products/{rng.choice(slugs)}")
        elif roll < 0.60:
            await _cart_step(call, shopper, variants)
        elif roll < 0.75:
            await _checkout_step(call, shopper, tally)
        elif roll < 0.88:
            if shopper.pending:
                order_id, order_token = shopper.pending.pop(rng.randrange(len(shopper.pending)))
                card = "pm_card_chargeDeclined" if rng.random() < 0.1 else "pm_card_visa"
                paid = await call(
                    "pay",
                    "POST",
                    f"/v1/orders/{order_id}/payments",
                    json={"payment_method": card},
                    headers={"X-Order-Token": order_token},
                )
                if paid is not None and paid.status_code == 200:
                    shopper.paid.append((order_id, order_token))
                elif paid is not None and paid.status_code == 402:
                    shopper.pending.append((order_id, order_token))
        elif roll < 0.93:
            pool = shopper.pending if shopper.pending and rng.random() < 0.6 else shopper.paid
            if pool:
                order_id, order_token = pool.pop(rng.randrange(len(pool)))
                await call(
                    "cancel",
                    "POST",
                    f"/v1/orders/{order_id}/cancel",
                    headers={"X-Order-Token": order_token},
                )
        else:
            await call(
                "consent",
                "PUT",
                "/v1/me/consents",
                json={"marketing_email": rng.random() < 0.5, "marketing_phone": rng.random() < 0.5},
                headers={"Authorization": f"Bearer {token}"},
            )


async def _cart_step(call, shopper: Shopper, variants: list[str]) -> None:  # type: ignore[no-untyped-def]
    rng = shopper.rng
    if shopper.cart is None:
        created = await call("cart", "POST", "/v1/carts")
        if created is not None and created.status_code == 201:
            shopper.cart, shopper.lines = created.json()["id"], []
        return
    if shopper.lines and rng.random() < 0.3:
        line = rng.choice(shopper.lines)
        if rng.random() < 0.7:
            await call(
                "patch",
                "PATCH",
                f"/v1/carts/{shopper.cart}/items/{line}",
                json={"quantity": rng.randint(1, 2)},
            )
        else:
            shopper.lines.remove(line)
            await call("remove", "DELETE", f"/v1/carts/{shopper.cart}/items/{line}")
        return
    added = await call(
        "add",
        "POST",
        f"/v1/carts/{shopper.cart}/items",
        json={"variant_id": rng.choice(variants), "quantity": rng.randint(1, 2)},
    )
    if added is not None and added.status_code == 201:
        shopper.lines = [line["id"] for line in added.json()["items"]]


async def _checkout_step(call, shopper: Shopper, tally: Tally) -> None:  # type: ignore[no-untyped-def]
    rng = shopper.rng
    if shopper.last_checkout is not None and rng.random() < 0.2:
        key, body, order_id = shopper.last_checkout
        replay = await call(
            "replay", "POST", "/v1/checkout", json=body, headers={"Idempotency-Key": key}
        )
        if replay is not None and replay.status_code == 201:
            answer = replay.json()
            if answer["id"] != order_id:
                tally.replay_mismatches += 1
            elif answer["order_token"]:
                # A replay of an unpaid order hands out a fresh token; the old one is void.
                shopper.pending = [
                    (o, answer["order_token"] if o == order_id else t) for o, t in shopper.pending
                ]
        return
    if shopper.cart is None or not shopper.lines:
        return
    key = uuid.uuid4().hex
    body = {"cart_id": shopper.cart, **CHECKOUT_BODY}
    placed = await call(
        "checkout", "POST", "/v1/checkout", json=body, headers={"Idempotency-Key": key}
    )
    if placed is None:
        return
    if placed.status_code == 201:
        order = placed.json()
        shopper.pending.append((order["id"], order["order_token"]))
        shopper.last_checkout = (key, body, order["id"])
        tally.orders += 1
        shopper.cart, shopper.lines = None, []
    elif placed.status_code == 409 and placed.json()["type"].endswith("cart-checked-out"):
        shopper.cart, shopper.lines = None, []


async def _drive(plan: SoakPlan, urls: list[str], tokens: list[str], variants: list[str]) -> Tally:
    tally = Tally()
    async with httpx.AsyncClient(base_url=urls[0], timeout=30) as browser:
        slugs = [
            item["slug"] for item in (await browser.get("/v1/products?limit=50")).json()["items"]
        ]
    deadline = time.monotonic() + plan.seconds
    budget = int(plan.seconds * MAX_REQUESTS_PER_CLIENT_SECOND) + 1

    async def one(n: int) -> None:
        # Each client sticks to one API process, as behind a proxy with affinity: the fake
        # processor keeps its payments in that process's memory.
        async with httpx.AsyncClient(
            base_url=urls[n % len(urls)], timeout=30, limits=httpx.Limits(max_connections=1)
        ) as client:
            shopper = Shopper(random.Random(plan.seed_value * 1000 + n))  # noqa: S311 - load mix
            await _shop(
                client, shopper, tally, variants=variants, slugs=slugs,
                token=tokens[n % len(tokens)], deadline=deadline, budget=budget,
            )  # fmt: skip

    await asyncio.gather(*(one(n) for n in range(plan.clients)))
    return tally


# ---- the invariants ----


async def _drained(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            async with create_sessionmaker(engine)() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status.in_([MessageStatus.pending, MessageStatus.sending]))
                )
            if not waiting:
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await engine.dispose()


async def _check(
    plan: SoakPlan,
    initial: dict[uuid.UUID, int],
    tally: Tally,
    ledger: Path,
    mail_files: int,
    drained: bool,
) -> tuple[list[tuple[str, bool, str]], dict[str, int]]:
    checks: list[tuple[str, bool, str]] = []
    server_errors = {k: n for k, n in tally.statuses.items() if k[1] >= 500}
    checks.append(("no 5xx", not server_errors, str(server_errors or "none")))
    unexpected = {
        k: n for k, n in tally.statuses.items() if k[1] < 500 and k[1] not in ALLOWED[k[0]]
    }
    checks.append(("only answers the routes may give", not unexpected, str(unexpected or "none")))
    transport = dict(tally.transport_errors)
    checks.append(("no connection failed", not transport, str(transport or "none")))
    checks.append(
        (
            "one order per Idempotency-Key",
            tally.replay_mismatches == 0,
            f"{tally.replay_mismatches} replays answered another order",
        )
    )

    engine = create_engine(plan.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            stock = dict((await session.execute(select(Variant.id, Variant.stock_on_hand))).all())
            held_rows = (
                await session.execute(
                    select(OrderLine.variant_id, Order.status, func.sum(OrderLine.quantity))
                    .join(Order, Order.id == OrderLine.order_id)
                    .where(Order.stock_released.is_(False))
                    .group_by(OrderLine.variant_id, Order.status)
                )
            ).all()
            orders = (
                await session.execute(
                    select(
                        Order.id,
                        Order.status,
                        Order.payment_intent_id,
                        Order.total_minor,
                        Order.paid_at,
                    )
                )
            ).all()
            messages = (
                await session.execute(
                    select(
                        OutboxMessage.id,
                        OutboxMessage.kind,
                        OutboxMessage.recipient,
                        OutboxMessage.subject,
                        OutboxMessage.status,
                        OutboxMessage.attempts,
                    )
                )
            ).all()
    finally:
        await engine.dispose()

    reserved: Counter[uuid.UUID] = Counter()
    sold: Counter[uuid.UUID] = Counter()
    for variant_id, status, quantity in held_rows:
        (reserved if status == OrderStatus.pending_payment else sold)[variant_id] += int(quantity)
    broken = [
        f"{v}: {initial[v]} != {stock.get(v)} + {reserved[v]} + {sold[v]}"
        for v in initial
        if initial[v] != stock.get(v, 0) + reserved[v] + sold[v]
    ]
    checks.append(
        (
            "stock conserved (initial = on hand + reserved + sold)",
            not broken and stock.keys() == initial.keys(),
            "; ".join(broken[:5]) or f"{len(initial)} variants",
        )
    )

    charges = read_ledger(ledger)
    captures = Counter(c.intent_id for c in charges if c.kind == ChargeKind.capture)
    amounts = {c.intent_id: c.amount_minor for c in charges if c.kind == ChargeKind.capture}
    paid = [o for o in orders if o.paid_at is not None]
    wrong = [
        f"order {o.id}: {captures.get(o.payment_intent_id or '', 0)} charges"
        for o in paid
        if captures.get(o.payment_intent_id or "", 0) != 1
        or amounts.get(o.payment_intent_id or "") != o.total_minor
    ]
    paid_intents = {o.payment_intent_id for o in paid}
    stray = [intent for intent in captures if intent not in paid_intents]
    checks.append(
        (
            "every paid order has exactly one successful charge",
            bool(paid) and not wrong and not stray,
            "; ".join(wrong[:5] + [f"charge {s} of no paid order" for s in stray[:5]])
            or f"{len(paid)} paid orders, {sum(captures.values())} charges",
        )
    )

    by_status = Counter(m.status for m in messages)
    retried = [m.id for m in messages if m.attempts != 1 and m.status == MessageStatus.sent]
    sent_twice = Counter((m.kind, m.recipient, m.subject) for m in messages)
    repeated = [key for key, n in sent_twice.items() if n > 1]
    statuses = ", ".join(f"{n} {status.value}" for status, n in sorted(by_status.items()))
    settled = drained and by_status.get(MessageStatus.sent, 0) == len(messages) == mail_files
    checks.append(
        (
            "outbox drained, each message delivered once",
            settled and not retried and not repeated,
            f"{statuses}, {mail_files} mail files, {len(retried)} delivered more than "
            f"once, {len(repeated)} notifications repeated",
        )
    )
    figures = {
        "orders placed": len(orders),
        "paid": len(paid),
        "cancelled": sum(o.status == OrderStatus.cancelled for o in orders),
        "awaiting payment": sum(o.status == OrderStatus.pending_payment for o in orders),
        "units reserved": sum(reserved.values()),
        "units sold": sum(sold.values()),
        "messages": len(messages),
    }
    return checks, figures


# ---- the run ----


@contextmanager
def outbox_workers(env: dict[str, str], logs: list[Path], *, poll: float = 0.2) -> Iterator[None]:
    """Continuous `facet worker` processes, one per log file, stopped when the block ends."""
    import subprocess
    import sys

    processes = []
    try:
        for log_path in logs:
            with log_path.open("ab") as log:
                processes.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                        [sys.executable, "-m", "app.cli", "worker", "--poll", str(poll)],
                        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip
        yield
    finally:
        for process in processes:
            stop_process(process)


def soak(plan: SoakPlan, workdir: Path | None = None) -> SoakReport:
    """Run the soak and check its invariants; the report says which held."""
    if plan.seconds <= 0 or plan.clients <= 0 or plan.api_processes <= 0:
        raise BenchError("the soak needs positive seconds, clients and API processes")
    if not plan.database_url.startswith("postgresql"):
        raise BenchError("the soak runs on PostgreSQL (--database-url postgresql+asyncpg://...)")
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="facet-soak-")))
        if plan.prepare_database:
            fresh_database(plan.database_url, "soak", workdir)
        initial, variants = asyncio.run(_prepare(plan))
        ledger = workdir / "payments.jsonl"
        env = facet_env(plan.database_url, workdir, FACET_FAKE_PAYMENTS_LEDGER=str(ledger))
        worker_logs = [workdir / f"worker-{n}.log" for n in range(plan.outbox_workers)]
        stack.enter_context(outbox_workers(env, worker_logs))
        logs = [workdir / f"api-{n}.log" for n in range(plan.api_processes)]
        servers = stack.enter_context(running_servers("app.main:create_app", env, logs, workers=1))
        urls = [url for url, _ in servers]
        tokens = asyncio.run(_accounts(urls[-1], max(1, plan.accounts)))
        started = time.perf_counter()
        tally = asyncio.run(_drive(plan, urls, tokens, variants))
        seconds = time.perf_counter() - started
        drained = asyncio.run(_drained(plan.database_url))
        checks, figures = asyncio.run(
            _check(
                plan, initial, tally, ledger, len(list((workdir / "mail").glob("*.eml"))), drained
            )
        )
    return SoakReport(plan, seconds, tally, checks, figures)
