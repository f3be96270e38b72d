"""Every domain router, mounted under /v1."""

from __future__ import annotations

from fastapi import APIRouter

from app.accounts.router import accounts_router, admin_router, auth_router, me_router

api_router = APIRouter(prefix="/v1")
for router in (accounts_router, auth_router, me_router, admin_router):
    api_router.include_router(router)
