"""Every domain router, mounted under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from app.accounts.router import accounts_router, admin_router, auth_router, me_router
from app.carts.router import router as carts_router
from app.catalog.router import admin_router as catalog_admin_router
from app.catalog.router import public_router as catalog_router
from app.orders.router import admin_router as orders_admin_router
from app.orders.router import router as orders_router
from app.orders.router import webhooks_router
from app.privacy.consent_router import (
    campaigns_router,
    me_consents_router,
    newsletter_router,
    opt_out_router,
)
from app.privacy.processors import router as processors_router
from app.privacy.requests_router import admin_router as privacy_requests_admin_router
from app.privacy.requests_router import public_router as privacy_requests_router
from app.privacy.router import admin_router as privacy_admin_router
from app.privacy.router import me_router as privacy_me_router
from app.privacy.router import public_router as privacy_router
from app.referrals.router import admin_router as referrals_admin_router
from app.referrals.router import router as referrals_router
from app.support.router import admin_router as support_admin_router
from app.support.router import router as support_router
from app.testimonials.router import admin_router as testimonials_admin_router
from app.testimonials.router import router as testimonials_router

api_router = APIRouter(prefix="/v1")
for router in (
    accounts_router,
    auth_router,
    me_router,
    catalog_router,
    carts_router,
    orders_router,
    webhooks_router,
    admin_router,
    catalog_admin_router,
    orders_admin_router,
    privacy_router,
    privacy_me_router,
    privacy_admin_router,
    processors_router,
    me_consents_router,
    opt_out_router,
    newsletter_router,
    campaigns_router,
    privacy_requests_router,
    privacy_requests_admin_router,
    referrals_router,
    referrals_admin_router,
    testimonials_router,
    testimonials_admin_router,
    support_router,
    support_admin_router,
):
    api_router.include_router(router)
