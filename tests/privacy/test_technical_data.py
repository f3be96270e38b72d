"""Coarse technical data (P4): what the middleware stores, who reads it, when it goes."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.core.user_agent import parse_user_agent
from app.privacy.models import TechnicalDataDaily
from app.privacy.technical_data import (
    Bucket,
    TechnicalDataRecorder,
    add_counts,
    network_prefix,
    purge_older_than,
    referrer_host,
)
from tests.factories import signed_in

FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


@pytest.fixture(autouse=True)
async def no_earlier_rows(session: AsyncSession) -> None:
    """Apps other tests start and stop write their counts for real: hide them here."""
    await session.execute(delete(TechnicalDataDaily))
    await session.commit()


@pytest.fixture
def recorder(bound_app: FastAPI) -> TechnicalDataRecorder:
    """The app's recorder, emptied of what earlier tests counted."""
    recorder: TechnicalDataRecorder = bound_app.state.technical_data
    recorder.drain()
    return recorder


async def stored_rows(
    recorder: TechnicalDataRecorder,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> list[TechnicalDataDaily]:
    await recorder.flush(sessionmaker)
    return list(await session.scalars(select(TechnicalDataDaily)))


@pytest.mark.parametrize(
    ("header", "browser", "os"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chrome",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
            "Edge",
            "Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
            "Opera",
            "Linux",
        ),
        (FIREFOX_ANDROID, "Firefox Mobile", "Android"),
        (SAFARI_MAC, "Safari", "Mac OS X"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Mobile Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
            "Chrome Mobile iOS",
            "iOS",
        ),
        ("curl/8.5.0", "curl", "Other"),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Googlebot",
            "Other",
        ),
        ("", "Other", "Other"),
        (None, "Other", "Other"),
    ],
)
def test_user_agents_reduce_to_browser_and_os_families(
    header: str | None, browser: str, os: str
) -> None:
    families = parse_user_agent(header)

    assert (families.browser, families.os) == (browser, os)


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        ("203.0.113.7", "203.0.113.0/24"),
        ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.23", "198.51.100.0/24"),
        ("fe80::1%eth0", "fe80::/48"),
        ("testclient", ""),
        (None, ""),
    ],
)
def test_client_addresses_are_cut_to_their_network(host: str | None, prefix: str) -> None:
    assert network_prefix(host) == prefix


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("https://www.Google.com/search?q=ada%40example.com", "www.google.com"),
        ("https://ada:secret@shop.example:8443/orders/FJ-1234?email=x", "shop.example"),
        ("http://198.51.100.23/page", ""),
        ("http://[2001:db8::1]/page", ""),
        ("not a url", ""),
        (None, ""),
    ],
)
def test_only_the_referrer_host_is_kept(header: str | None, host: str) -> None:
    assert referrer_host(header) == host


async def test_stored_rows_hold_no_full_address_path_id_token_or_account(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    recorder: TechnicalDataRecorder,
) -> None:
    account, headers = await signed_in(client, session)
    order_id = uuid.uuid4()
    token = "secret-order-token-0123456789"
    referer = "https://www.google.com/search?q=ada%40example.com"
    recorder.drain()  # only the requests below

    await client.get(
        f"/v1/orders/{order_id}",
        headers={"X-Order-Token": token, "User-Agent": FIREFOX_ANDROID, "Referer": referer},
    )
    for _ in range(2):
        await client.get("/v1/me", headers={**headers, "User-Agent": SAFARI_MAC})
    await client.get("/v1/products", params={"q": "ada@example.com"})
    await client.get(f"/v1/no-such-path/{account.email}")

    rows = await stored_rows(recorder, sessionmaker, session)

    by_route = {(r.method, r.route): r for r in rows}
    assert set(by_route) == {
        ("GET", "/v1/orders/{order_id}"),
        ("GET", "/v1/me"),
        ("GET", "/v1/products"),
        ("GET", "<unmatched>"),
    }
    order_row = by_route[("GET", "/v1/orders/{order_id}")]
    assert (order_row.browser, order_row.os) == ("Firefox Mobile", "Android")
    assert order_row.referrer_host == "www.google.com"
    assert by_route[("GET", "/v1/me")].requests == 2
    assert by_route[("GET", "/v1/me")].status == 200
    assert by_route[("GET", "<unmatched>")].status == 404
    assert {r.ip_prefix for r in rows} == {"203.0.113.0/24"}
    assert {r.day for r in rows} == {utcnow().date()}
    stored = " ".join(
        str(getattr(r, c.key)) for r in rows for c in TechnicalDataDaily.__table__.columns
    )
    secrets = [
        "203.0.113.7", str(order_id), token, str(account.id), account.email, "ada@example.com",
        "ada%40example.com", headers["Authorization"].split()[1], "/search",
    ]  # fmt: skip
    for secret in secrets:
        assert secret not in stored


async def test_ipv6_clients_are_stored_as_their_48_bit_network(
    bound_app: FastAPI,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    recorder: TechnicalDataRecorder,
) -> None:
    transport = httpx.ASGITransport(app=bound_app, client=("2001:db8:abcd:12::1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get("/healthz")

    rows = await stored_rows(recorder, sessionmaker, session)

    assert [(r.route, r.ip_prefix) for r in rows] == [("/healthz", "2001:db8:abcd::/48")]


async def test_flushes_add_to_the_days_existing_counts(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    recorder: TechnicalDataRecorder,
) -> None:
    await client.get("/healthz")
    await recorder.flush(sessionmaker)
    await client.get("/healthz")
    await client.get("/healthz")

    rows = await stored_rows(recorder, sessionmaker, session)

    assert [(r.route, r.requests) for r in rows] == [("/healthz", 3)]


async def test_a_failed_flush_keeps_the_counts_and_raises_nothing(
    recorder: TechnicalDataRecorder,
) -> None:
    engine = create_engine("sqlite+aiosqlite:////nonexistent-dir/facet.db")
    bucket = Bucket(utcnow().date(), "GET", "/healthz", 200, "Other", "Other", "", "")
    recorder.record(bucket)
    try:
        written = await recorder.flush(create_sessionmaker(engine))
    finally:
        await engine.dispose()

    assert written == 0
    assert recorder.drain() == Counter({bucket: 1})


async def test_a_failing_recorder_never_fails_the_request(
    client: httpx.AsyncClient, recorder: TechnicalDataRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(bucket: Bucket) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(recorder, "record", broken)

    response = await client.get("/healthz")

    assert response.status_code == 200


async def test_staff_read_daily_counts_between_two_days(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    today = utcnow().date()
    old_day = today - timedelta(days=10)
    await add_counts(
        session,
        Counter(
            {
                Bucket(
                    today, "GET", "/v1/products", 200, "Chrome", "Windows", "", "192.0.2.0/24"
                ): 5,
                Bucket(old_day, "GET", "/v1/products", 200, "Chrome", "Windows", "", ""): 7,
            }
        ),
    )
    await session.commit()
    _, staff = await signed_in(client, session, role=Role.staff)
    _, customer = await signed_in(client, session)

    recent = await client.get("/v1/admin/privacy/technical-data", headers=staff)
    both = await client.get(
        "/v1/admin/privacy/technical-data",
        params={"from": old_day.isoformat(), "to": today.isoformat(), "limit": 1},
        headers=staff,
    )
    rest = await client.get(
        "/v1/admin/privacy/technical-data",
        params={"from": old_day.isoformat(), "limit": 1, "cursor": both.json()["next_cursor"]},
        headers=staff,
    )
    forbidden = await client.get("/v1/admin/privacy/technical-data", headers=customer)
    backwards = await client.get(
        "/v1/admin/privacy/technical-data",
        params={"from": today.isoformat(), "to": old_day.isoformat()},
        headers=staff,
    )

    assert recent.status_code == 200, recent.text
    assert [r["requests"] for r in recent.json()["items"] if r["route"] == "/v1/products"] == [5]
    assert [r["day"] for r in both.json()["items"]] == [today.isoformat()]
    assert [r["day"] for r in rest.json()["items"]] == [old_day.isoformat()]
    assert rest.json()["next_cursor"] is None
    assert forbidden.status_code == 403
    assert backwards.status_code == 422


async def test_purge_removes_only_rows_past_the_retention(session: AsyncSession) -> None:
    today = utcnow().date()
    ages = (0, 89, 90, 91, 400)
    await add_counts(
        session,
        Counter(
            {
                Bucket(
                    today - timedelta(days=age), "GET", "/healthz", 200, "Other", "Other", "", ""
                ): 1
                for age in ages
            }
        ),
    )

    purged = await purge_older_than(session, retention_days=90)

    assert purged == 2
    left = await session.scalars(select(TechnicalDataDaily.day))
    assert sorted(today - day for day in left) == [timedelta(days=a) for a in (0, 89, 90)]


async def test_unusual_methods_and_bucket_floods_stay_bounded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    recorder: TechnicalDataRecorder,
) -> None:
    await client.request("PROPFIND", "/healthz")
    small = TechnicalDataRecorder(max_buckets=1)
    today = utcnow().date()
    for host in ("a.example", "b.example"):
        small.record(Bucket(today, "GET", "/healthz", 200, "Other", "Other", host, ""))

    rows = await stored_rows(recorder, sessionmaker, session)

    assert [(r.method, r.route) for r in rows] == [("OTHER", "/healthz")]
    assert list(small.drain().values()) == [1]
    assert small.dropped == 1
