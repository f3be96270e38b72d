"""Application factory."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__
from app.accounts.deps import get_access_claims
from app.accounts.directory import SqlAccountDirectory
from app.adapters.mail import create_mail_sender
from app.adapters.payments import create_payment_provider
from app.adapters.shipping import create_shipping_carrier
from app.api import api_router
from app.core import user_agent
from app.core.db import create_engine, create_sessionmaker
from app.core.docs import STOREFRONT, install_docs, published_document
from app.core.errors import install_error_handlers
from app.core.health import router as health_router
from app.core.http_cache import AnswerCache
from app.core.logging import configure_logging
from app.core.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from app.core.openapi import EXPOSED_HEADERS, build_openapi
from app.core.problems import pages as problem_pages
from app.core.ratelimit import create_rate_limit_backend
from app.core.settings import Settings, UnsafeSettingsError, get_settings
from app.housekeeping import housekeeping_counts
from app.orders.service import units_sold_since
from app.outbox.worker import run_worker
from app.privacy.consent import may_deliver
from app.privacy.technical_data import TechnicalDataMiddleware, TechnicalDataRecorder
from app.privacy_handlers import create_registry

DESCRIPTION = """\
Facet is the commerce API of a fine-jewelry store whose privacy promises are
enforced by the API itself. Every error is an RFC 9457 problem
(`application/problem+json`). Authenticate with `POST /v1/auth/token` and send
`Authorization: Bearer <access_token>`; a guest sends an order's `X-Order-Token`
instead. The storefront's operations are in `/openapi.json`, the staff's in
`/admin/openapi.json`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.database_url, echo=settings.database_echo)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.rate_limit_backend = create_rate_limit_backend(settings.redis_url, engine)
    app.state.payment_provider = create_payment_provider(settings)
    app.state.shipping_carrier = create_shipping_carrier(settings)
    app.state.mail_sender = create_mail_sender(settings)
    stop = asyncio.Event()
    worker = None
    if settings.outbox_in_process:
        # The local run delivers mail without a second command; with several API
        # processes each runs one, and SKIP LOCKED keeps their claims apart.
        worker = asyncio.create_task(
            run_worker(
                app.state.sessionmaker, app.state.mail_sender, stop=stop,
                housekeeping=lambda: housekeeping_counts(
                    app.state.sessionmaker, app.state.payment_provider, settings
                ),
                may_deliver=may_deliver,
            )
        )  # fmt: skip
    recorder: TechnicalDataRecorder = app.state.technical_data
    user_agent.warm_up()
    flusher = None
    if settings.technical_data_flush_seconds > 0:
        flusher = asyncio.create_task(
            recorder.run(
                lambda: app.state.sessionmaker,
                every_seconds=settings.technical_data_flush_seconds, stop=stop,
            )
        )  # fmt: skip
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            await worker
        if flusher is not None:
            await flusher  # its last round writes what is left
        else:
            # The sessionmaker requests write with now (a test may have swapped it).
            await recorder.flush(app.state.sessionmaker)
        await app.state.rate_limit_backend.close()
        await app.state.payment_provider.close()
        await app.state.shipping_carrier.close()
        await app.state.mail_sender.close()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if problems := settings.production_problems():
        raise UnsafeSettingsError("refusing to start in production: " + "; ".join(problems))
    configure_logging(settings.log_level)

    app = FastAPI(
        title="Facet",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by install_docs: two documents, and docs pages that need no CDN.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "health", "description": "Liveness and readiness."},
            {"name": "accounts", "description": "Registration."},
            {"name": "auth", "description": "Tokens: log in, refresh, log out."},
            {"name": "me", "description": "The signed-in customer's own data."},
            {"name": "catalog", "description": "Categories, products, top sellers, pages."},
            {"name": "carts", "description": "Guest and account carts."},
            {"name": "orders", "description": "Checkout, payment, cancellation, tracking."},
            {
                "name": "privacy",
                "description": "The privacy policy, consent opt-out links and the newsletter.",
            },
            {"name": "webhooks", "description": "Signed events from the payment processor."},
            {"name": "admin", "description": "Staff-only operations."},
        ],
    )
    app.state.settings = settings
    # Cross-domain wiring: the catalog's top sellers read the orders domain's sales.
    app.state.recent_sales = units_sold_since
    # The personal-data handlers of every domain, in erasure order.
    app.state.privacy_registry = create_registry(settings)
    app.state.technical_data = TechnicalDataRecorder()
    app.state.catalog_cache = (
        AnswerCache(entries=settings.catalog_cache_entries, seconds=settings.catalog_cache_seconds)
        if settings.catalog_cache
        else None
    )
    # The privacy domain reaches account addresses only through this (it imports no domain).
    app.state.account_directory = SqlAccountDirectory()

    install_error_handlers(app)
    install_docs(app)
    app.include_router(health_router)
    app.include_router(problem_pages)
    app.include_router(api_router)

    # Added innermost first: the request context wraps everything, so even a 413 has an id.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    allow_any = "*" in settings.cors_origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        # Credentials are never combined with a wildcard, so no origin is reflected.
        allow_credentials=not allow_any,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "X-Order-Token",
            "X-Request-ID",
        ],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_production)
    app.add_middleware(RequestContextMiddleware)
    # Outermost, so even a refused or failed request is counted (P4).
    app.add_middleware(TechnicalDataMiddleware, recorder=app.state.technical_data)

    # Every operation, storefront and staff, built once: the published documents are cut
    # from it, and the 405 handler reads its paths.
    app.state.complete_openapi = functools.cache(
        lambda: build_openapi(app, requires_credentials=get_access_claims)
    )
    # `app.openapi()` is what `/openapi.json` serves and `openapi/openapi.json` holds.
    app.openapi = lambda: published_document(app, STOREFRONT)  # type: ignore[method-assign]
    return app
