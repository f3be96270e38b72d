"""The `facet` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

from app.core.settings import UnsafeSettingsError, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"
# The published documents: the storefront's (every client's) and the staff's.
OPENAPI_PATHS = {"storefront": OPENAPI_PATH, "admin": PROJECT_ROOT / "openapi" / "admin.json"}


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url or get_settings().database_url)
    config.attributes["configure_logger"] = False  # keep the service's JSON logging
    return config


def migrate(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


def render_openapi(audience: str = "storefront", app: FastAPI | None = None) -> str:
    from app.core.docs import published_document
    from app.main import create_app

    document = published_document(app or create_app(), audience)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _cmd_migrate(_: argparse.Namespace) -> int:
    migrate()
    print("database is at the latest revision")
    return 0


def _cmd_seed(args: argparse.Namespace) -> int:
    from app.seed import CatalogNotEmpty, seed

    try:
        created = asyncio.run(seed(products=args.products))
    except CatalogNotEmpty as exc:
        print(f"facet: {exc}", file=sys.stderr)
        return 1
    print(created)
    return 0


def _cmd_openapi(args: argparse.Namespace) -> int:
    from app.main import create_app

    app = create_app()
    stale = []
    for audience, path in OPENAPI_PATHS.items():
        text = render_openapi(audience, app)
        name = path.relative_to(PROJECT_ROOT)
        if args.check:
            if not path.exists() or path.read_text() != text:
                print(f"{name} differs from the app: run `facet openapi`", file=sys.stderr)
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {name}")
    if args.check and not stale:
        print("the OpenAPI documents are up to date")
    return 1 if stale else 0


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password for the new staff account: ")
    return sys.stdin.readline().rstrip("\n")


async def _create_staff(email: str, full_name: str) -> str:
    from datetime import date

    from pydantic import ValidationError

    from app.accounts import service
    from app.accounts.models import Role
    from app.accounts.schemas import AccountCreate
    from app.core.db import create_engine, create_sessionmaker
    from app.core.errors import AppError

    engine = create_engine(get_settings().database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            account = await service.get_account_by_email(session, email)
            if account is not None:
                await service.promote_to_staff(session, account)
                return f"promoted {account.id} to staff"
            try:
                # Staff are adults by employment; the date only passes the P9 check.
                data = AccountCreate(
                    email=email,
                    password=_read_password(),
                    full_name=full_name,
                    date_of_birth=date(1970, 1, 1),
                )
            except ValidationError as exc:
                # Only the messages: the error's input would echo the password.
                reasons = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                raise SystemExit(f"error: {reasons}") from None
            try:
                account = await service.register(session, data, role=Role.staff)
            except AppError as exc:
                raise SystemExit(f"error: {exc.detail or exc.title}") from None
            return f"created staff account {account.id}"
    finally:
        await engine.dispose()


def _cmd_create_staff(args: argparse.Namespace) -> int:
    print(asyncio.run(_create_staff(args.email, args.name)))
    return 0


async def _with_services(job):  # type: ignore[no-untyped-def]
    """Run `job(sessionmaker, mail_sender, payment_provider, settings)` with real adapters."""
    from app.adapters.mail import create_mail_sender
    from app.adapters.payments import create_payment_provider
    from app.core.db import create_engine, create_sessionmaker

    settings = get_settings()
    engine = create_engine(settings.database_url)
    sender = create_mail_sender(settings)
    provider = create_payment_provider(settings)
    try:
        return await job(create_sessionmaker(engine), sender, provider, settings)
    finally:
        await sender.close()
        await provider.close()
        await engine.dispose()


def _cmd_worker(args: argparse.Namespace) -> int:
    import signal

    from app.core.logging import configure_logging
    from app.housekeeping import housekeeping_counts
    from app.outbox.service import run_once
    from app.outbox.worker import run_worker
    from app.privacy.consent import may_deliver

    configure_logging(get_settings().log_level)

    async def once(sessionmaker, sender, provider, settings):  # type: ignore[no-untyped-def]
        return await run_once(sessionmaker, sender, may_deliver=may_deliver)

    async def forever(sessionmaker, sender, provider, settings):  # type: ignore[no-untyped-def]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(
            sessionmaker, sender, stop=stop, poll_seconds=args.poll,
            housekeeping=lambda: housekeeping_counts(sessionmaker, provider, settings),
            may_deliver=may_deliver,
        )  # fmt: skip

    if args.once:
        result = asyncio.run(_with_services(once))
        print(
            f"sent {result.sent}, retrying {result.retried}, failed {result.failed}, "
            f"suppressed {result.suppressed}"
        )
    else:
        asyncio.run(_with_services(forever))
    return 0


def _cmd_purge(_: argparse.Namespace) -> int:
    from app.housekeeping import housekeeping
    from app.privacy.technical_data import purge_older_than

    async def job(sessionmaker, sender, provider, settings):  # type: ignore[no-untyped-def]
        done = await housekeeping(sessionmaker, provider, settings)
        async with sessionmaker() as session, session.begin():
            days = await purge_older_than(
                session, retention_days=settings.technical_data_retention_days
            )
        return done, days

    done, technical_days = asyncio.run(_with_services(job))
    print(
        f"expired {done.expired_orders} unpaid orders, purged {done.purged_carts} carts, "
        f"{done.purged_keys} idempotency keys and {technical_days} technical-data rows; "
        f"{done.purged_requests} unverified privacy requests, {done.purged_messages} sent "
        f"messages, {done.purged_inquiries} settled inquiries, {done.purged_sessions} "
        f"ended login sessions, {done.purged_email_links} used or expired email links, "
        f"{done.purged_referral_friends} referred friends' details, "
        f"{done.purged_support_requests} answered contact requests"
    )
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from app.bench import BenchError, Options, run

    try:
        if args.soak:
            from app.soak import SoakPlan, soak

            report = soak(
                SoakPlan(
                    database_url=args.database_url,
                    seconds=args.duration or 60.0,
                    clients=args.connections or 64,
                    api_processes=args.workers,
                )
            )
            print(report.render())
            return 0 if report.passed else 1
        sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
        run(
            sizes=sizes,
            databases=[d.strip() for d in args.databases.split(",") if d.strip()],
            database_url=args.database_url,
            options=Options(
                workers=args.workers,
                connections=args.connections or 32,
                duration=args.duration or 10.0,
                warmup=min(2.0, (args.duration or 10.0) / 5),
                client=args.client,
            ),
        )
    except (BenchError, ValueError) as exc:
        print(f"facet bench: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.seed import seed

    if problems := get_settings().production_problems():
        raise UnsafeSettingsError("refusing to start in production: " + "; ".join(problems))
    migrate()
    if not args.no_seed:
        print(asyncio.run(seed(products=None, only_if_empty=True)))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        proxy_headers=True,
        log_config=None,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        func=_cmd_migrate
    )

    seed_p = sub.add_parser("seed", help="load the sample jewelry catalog")
    seed_p.add_argument("--products", type=int, default=None, help="how many products")
    seed_p.set_defaults(func=_cmd_seed)

    openapi_p = sub.add_parser(
        "openapi", help="write openapi/openapi.json (storefront) and openapi/admin.json (staff)"
    )
    openapi_p.add_argument("--check", action="store_true", help="fail if the file is stale")
    openapi_p.set_defaults(func=_cmd_openapi)

    staff_p = sub.add_parser(
        "create-staff",
        help="promote an account to staff, or create one (password read from stdin)",
    )
    staff_p.add_argument("email")
    staff_p.add_argument("--name", default="Store Staff", help="full name for a new account")
    staff_p.set_defaults(func=_cmd_create_staff)

    worker_p = sub.add_parser("worker", help="deliver the outbox and run housekeeping")
    worker_p.add_argument("--once", action="store_true", help="drain the outbox and exit")
    worker_p.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    worker_p.set_defaults(func=_cmd_worker)

    sub.add_parser(
        "purge",
        help="expire unpaid orders, purge abandoned carts, old idempotency keys and "
        "technical data past its retention",
    ).set_defaults(func=_cmd_purge)

    serve_p = sub.add_parser("serve", help="migrate, seed an empty catalog and serve the API")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=8000)
    serve_p.add_argument("--workers", type=int, default=1)
    serve_p.add_argument("--no-seed", action="store_true")
    serve_p.set_defaults(func=_cmd_serve)

    bench_p = sub.add_parser(
        "bench",
        help="measure Facet against a bare FastAPI app with wrk on fresh seeded databases "
        "(see docs/performance.md), or run the mixed soak (--soak)",
    )
    bench_p.add_argument("--sizes", default="300", help="catalog sizes, comma-separated")
    bench_p.add_argument(
        "--databases", default="sqlite", help="sqlite and/or postgresql, comma-separated"
    )
    bench_p.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/facet_bench",
        help="the scratch PostgreSQL database (its name must contain 'bench'; it is wiped)",
    )
    bench_p.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes (soak: API processes)"
    )
    bench_p.add_argument(
        "--connections", type=int, default=None, help="concurrent connections (default 32; soak 64)"
    )
    bench_p.add_argument(
        "--duration", type=float, default=None, help="seconds per route (default 10; soak 60)"
    )
    bench_p.add_argument(
        "--client", choices=["auto", "wrk", "httpx"], default="auto",
        help="load generator: wrk when installed (auto), or the httpx stand-in",
    )  # fmt: skip
    bench_p.add_argument(
        "--soak",
        action="store_true",
        help="run the mixed soak on PostgreSQL (browse, cart, checkout, pay, cancel, consent) "
        "and check its invariants",
    )
    bench_p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UnsafeSettingsError as exc:
        print(f"facet: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
