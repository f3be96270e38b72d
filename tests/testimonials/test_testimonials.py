"""Testimonials (P5, P9): the name shows only while `testimonial_name` consent holds."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, Role
from app.privacy.consent_models import ConsentEvent
from app.testimonials import models as testimonial_models
from app.testimonials.service import ANONYMOUS
from tests.factories import make_category, make_paid_order, make_product, signed_in
from tests.orders.conftest import problem_type


def new_testimonial(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "title": "Beautiful ring",
        "body": "<script>alert(1)</script> It sparkles.",
        "rating": 5,
        "is_adult": True,
    }
    body.update(overrides)
    return body


async def submit_and_approve(
    client: httpx.AsyncClient, customer: dict[str, str], staff: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    submitted = await client.post(
        "/v1/testimonials", json=new_testimonial(**overrides), headers=customer
    )
    assert submitted.status_code == 201, submitted.text
    decided = await client.put(
        f"/v1/admin/testimonials/{submitted.json()['id']}/status",
        json={"status": "approved"},
        headers=staff,
    )
    assert decided.status_code == 200, decided.text
    answer: dict[str, Any] = submitted.json()
    return answer


async def public_list(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/testimonials", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_name_shows_with_consent_and_disappears_on_withdrawal(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    await submit_and_approve(client, customer, staff, show_name=True)
    (shown,) = await public_list(client)
    assert shown["author"] == "Ada L."
    assert shown["body"] == "<script>alert(1)</script> It sparkles."  # JSON text, never HTML

    withdrawn = await client.put(
        "/v1/me/consents", json={"testimonial_name": False}, headers=customer
    )
    assert withdrawn.status_code == 200, withdrawn.text
    (hidden,) = await public_list(client)
    assert hidden["author"] == ANONYMOUS


async def test_the_name_never_shows_without_consent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    await submit_and_approve(client, customer, staff)
    (listed,) = await public_list(client)
    assert listed["author"] == ANONYMOUS
    assert "Ada" not in str(listed)


async def test_only_approved_testimonials_are_listed_and_filters_apply(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    await client.post("/v1/testimonials", json=new_testimonial(), headers=customer)  # pending
    rejected = await client.post("/v1/testimonials", json=new_testimonial(), headers=customer)
    await client.put(
        f"/v1/admin/testimonials/{rejected.json()['id']}/status",
        json={"status": "rejected"},
        headers=staff,
    )
    await submit_and_approve(client, customer, staff, rating=3)
    assert [t["rating"] for t in await public_list(client)] == [3]
    assert await public_list(client, rating=5) == []
    pending = await client.get("/v1/admin/testimonials?status=pending", headers=staff)
    assert len(pending.json()["items"]) == 1
    assert (await client.get("/v1/admin/testimonials", headers=customer)).status_code == 403


async def test_a_paid_order_for_the_product_marks_a_verified_purchase(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, customer = await signed_in(client, session)
    category = await make_category(session, "testimonial-rings")
    bought = await make_product(session, category, prices=(1000,), stock=3)
    other = await make_product(session, category, prices=(1000,), stock=3)
    order = await make_paid_order(session, bought)
    order.account_id = account.id
    await session.commit()

    verified = await client.post(
        "/v1/testimonials", json=new_testimonial(product_id=str(bought.id)), headers=customer
    )
    unverified = await client.post(
        "/v1/testimonials", json=new_testimonial(product_id=str(other.id)), headers=customer
    )
    assert verified.json()["verified_purchase"] is True
    assert unverified.json()["verified_purchase"] is False


async def test_a_minors_testimonial_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, customer = await signed_in(client, session)
    response = await client.post(
        "/v1/testimonials", json=new_testimonial(is_adult=False, show_name=True), headers=customer
    )
    assert response.status_code == 422
    assert problem_type(response) == "age-restricted"
    assert (
        await session.scalar(select(func.count()).select_from(testimonial_models.Testimonial)) == 0
    )
    events = select(func.count()).where(ConsentEvent.subject == f"account:{account.id}")
    assert await session.scalar(events) == 0


async def test_a_customer_deletes_their_own_testimonial_and_no_one_elses(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, owner = await signed_in(client, session)
    _, stranger = await signed_in(client, session)
    created = (await client.post("/v1/testimonials", json=new_testimonial(), headers=owner)).json()
    path = f"/v1/me/testimonials/{created['id']}"
    assert (await client.delete(path, headers=stranger)).status_code == 404
    assert (await client.delete(path, headers=owner)).status_code == 204
    assert (await client.get("/v1/me/testimonials", headers=owner)).json() == []
    assert await session.scalar(select(func.count()).select_from(Account)) == 2


async def test_a_testimonial_for_an_unknown_product_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)
    response = await client.post(
        "/v1/testimonials", json=new_testimonial(product_id=str(uuid.uuid4())), headers=customer
    )
    assert response.status_code == 422
    assert problem_type(response) == "unknown-product"
