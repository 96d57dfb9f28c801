"""Liveness, readiness (the database answers, and a solver process is warm or, with Celery, the broker
answers and a worker too) and Prometheus metrics (with Celery, the broker's queues and the live workers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.api.errors import ServiceUnavailable
from service.api.openapi import problems
from service.api.schemas import Health, Readiness
from service.observability import Metrics

if TYPE_CHECKING:  # Celery is imported only when BROKER_URL asks for it
    from service.jobs.cluster_state import ClusterProbe, ClusterState

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database is reachable, and a solver process is ready (or a Celery worker answers)",
    response_model=Readiness,
    responses=problems(
        503,
        descriptions={
            503: "Not ready; `failed` names what: `database` (not reachable), `solver_processes` (none started "
            "yet), `broker` (Celery: not reachable) or `workers` (Celery: no worker answered a ping)."
        },
    ),
)
def readyz(request: Request) -> Readiness:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise not_ready("database", f"the database is not reachable: {type(error).__name__}") from None
    probe: ClusterProbe | None = getattr(request.app.state, "cluster_probe", None)
    if probe is not None:
        return _cluster_ready(probe.state())
    solvers = request.app.state.runner.solvers
    if solvers is None or solvers.ready == 0:
        # A solve sent now would wait for a process to import OR-Tools (seconds on a busy machine).
        size = 0 if solvers is None else solvers.size
        raise not_ready("solver_processes", f"no solver process is ready yet ({size} starting)")
    return Readiness(
        status="ready", database="reachable", solver_processes=solvers.size, solver_processes_ready=solvers.ready
    )


def _cluster_ready(state: ClusterState) -> Readiness:
    """Celery: solves run on workers, so the broker must take jobs and at least one worker must answer."""
    if not state.broker_reachable:
        raise not_ready("broker", f"the broker is not reachable: {state.broker_error}")
    if not state.workers:
        raise not_ready("workers", "no Celery worker answered a ping: jobs would wait in the queue")
    return Readiness(
        status="ready",
        database="reachable",
        solver_processes=0,
        solver_processes_ready=0,
        broker="reachable",
        workers=len(state.workers),
    )


def not_ready(failed: str, detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(detail, extensions={"failed": [failed]})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
    },
)
def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    probe: ClusterProbe | None = getattr(request.app.state, "cluster_probe", None)
    if probe is not None:
        _gauge_cluster(registry, probe.state())
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


def _gauge_cluster(metrics: Metrics, state: ClusterState) -> None:
    metrics.broker_reachable.set(1 if state.broker_reachable else 0)
    metrics.workers_alive.set(len(state.workers))
    for name, queue in state.queues.items():
        metrics.broker_queue_messages.labels(name).set(queue.messages)
        metrics.broker_queue_consumers.labels(name).set(queue.consumers)
