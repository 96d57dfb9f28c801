"""Liveness, readiness (the database answers and a solver process is warm) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.api.errors import ServiceUnavailable
from service.api.openapi import problems
from service.api.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database is reachable and a solver process is ready",
    response_model=Readiness,
    responses=problems(503, descriptions={503: "The database is not reachable, or no solver process has started yet."}),
)
def readyz(request: Request) -> Readiness:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise ServiceUnavailable(f"the database is not reachable: {type(error).__name__}") from None
    solvers = request.app.state.runner.solvers
    if solvers is None:
        # Celery: the solver processes are the workers' (whether one answers is not checked yet).
        return Readiness(status="ready", database="reachable", solver_processes=0, solver_processes_ready=0)
    if solvers.ready == 0:
        # A solve sent now would wait for a process to import OR-Tools (seconds on a busy machine).
        raise ServiceUnavailable(f"no solver process is ready yet ({solvers.size} starting)")
    return Readiness(
        status="ready", database="reachable", solver_processes=solvers.size, solver_processes_ready=solvers.ready
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
