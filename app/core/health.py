from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.core.deps import SessionDep
from app.core.errors import ServiceUnavailable
from app.core.problems import problem_responses
from app.core.routing import FacetRoute
from app.core.schemas import OutputModel, examples

router = APIRouter(tags=["health"], route_class=FacetRoute)


class Health(OutputModel):
    """The answer of the liveness and readiness probes (meant for load balancers)."""

    model_config = examples({"status": "ok"})

    status: str
    """`ok` from `/healthz` (the process is up), `ready` from `/readyz` (the database answers)."""


@router.get(
    "/healthz",
    operation_id="healthCheck",
    summary="Check that the API is up",
)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


async def _database_reachable(session: SessionDep) -> bool:
    try:
        await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@router.get(
    "/readyz",
    operation_id="readinessCheck",
    summary="Check that the API can serve requests",
    responses=problem_responses(ServiceUnavailable),
)
async def readyz(session: SessionDep) -> Health:
    """The database answers; 503 otherwise."""
    if not await _database_reachable(session):
        raise ServiceUnavailable("The database is not reachable.")
    return Health(status="ready")
