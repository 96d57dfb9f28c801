"""create_app(): the FastAPI application, its lifespan (migrations, the executor of its jobs: its own solver
pool or Celery workers, the job runner, the webhook dispatcher) and wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

import service
from service.api.errors import install_error_handlers
from service.api.middleware import BodyLimitMiddleware, RequestContextMiddleware, ViewerRedactionMiddleware
from service.api.openapi import DESCRIPTION, install_openapi
from service.api.routes import health, me, plans, recommendations, scenarios, ui, webhooks, workspace
from service.db.engine import make_engine, make_sessions
from service.db.migrate import upgrade
from service.jobs.executor import JobExecutor
from service.jobs.local import LocalExecutor
from service.jobs.pool import Limits, SolvePool
from service.jobs.runner import InlineSolves, JobRunner
from service.jobs.scenarios import ScenarioRunner
from service.observability import Metrics
from service.settings import Settings, get_settings
from service.webhooks.dispatcher import DeliveryPolicy, Dispatcher

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, *, pool: SolvePool | None = None) -> FastAPI:
    """The service. `settings` default to the environment; a given `pool` is shared and not stopped here."""
    settings = settings or get_settings()
    metrics = Metrics()

    if settings.distributed:
        # Celery is imported only when asked for: the embedded default needs nothing but SQLite.
        from service.jobs.celery_app import check_distributed

        check_distributed(settings)  # a clear refusal before anything starts, e.g. BROKER_URL with SQLite

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        await to_thread.run_sync(upgrade, engine, settings.database_schema)
        own_pool: SolvePool | None = None
        executor: JobExecutor
        app.state.cluster_probe = None
        if settings.distributed:
            from service.jobs.cluster_state import ClusterProbe
            from service.jobs.distributed import CeleryExecutor

            celery = CeleryExecutor(settings)
            executor = celery
            app.state.cluster_probe = ClusterProbe(settings, celery.app, ttl_s=settings.cluster_probe_cache_s)
        else:
            solve_pool = pool
            if solve_pool is None:
                solve_pool = own_pool = SolvePool(
                    settings.solve_workers + settings.express_workers,
                    limits=Limits(settings.watchdog_factor, settings.watchdog_min_grace_s, settings.cancel_grace_s),
                )
                own_pool.start()
            executor = LocalExecutor(
                solve_pool,
                # A pool handed in (tests, benchmarks) is used as it is; the app's own pool has the express lane.
                express_workers=settings.express_workers if pool is None else 0,
                express_max_bytes=settings.express_max_bytes,
            )
        sessions = make_sessions(engine)
        runner = JobRunner(
            sessions,
            executor,
            metrics,
            tenant_max_active_jobs=settings.tenant_max_active_jobs,
            job_max_attempts=settings.job_max_attempts,
            job_lease_s=settings.job_lease_s,
            inline=InlineSolves(settings.inline_max_bytes, settings.inline_solve_budget_s, settings.inline_solve_slots),
        )
        app.state.engine = engine
        app.state.sessions = sessions
        scenario_runner = ScenarioRunner(sessions, runner)
        app.state.runner = runner
        app.state.scenarios = scenario_runner
        # Webhook deliveries go out from their own task, so no request ever waits on a receiver.
        dispatcher = Dispatcher(sessions, DeliveryPolicy.from_settings(settings))
        app.state.webhooks = dispatcher
        await runner.start()
        await scenario_runner.start()
        await dispatcher.start()
        solvers = executor.solvers
        log.info(
            "service.started",
            database=engine.url.render_as_string(hide_password=True),
            executor="celery" if settings.distributed else "local",
            solver_processes=solvers.size if solvers is not None else 0,
            authentication="api keys" if settings.auth_enabled else "off",
        )
        try:
            yield
        finally:
            await dispatcher.stop()
            await scenario_runner.stop()
            await runner.stop()
            if own_pool is not None:
                await to_thread.run_sync(own_pool.stop)
            engine.dispose()
            log.info("service.stopped")

    app = FastAPI(
        title="Presales allocator",
        version=service.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from vendored assets: no CDN, so it works on a closed network
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{ui.STATIC_PATH}/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ui.STATIC_PATH}/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ui.STATIC_PATH}/vendor/swagger-ui/favicon-32x32.png",
        )

    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    # Added innermost first: the request context wraps the body limit, so a 413 is logged with its id.
    app.add_middleware(ViewerRedactionMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.include_router(plans.router)
    app.include_router(scenarios.router)
    app.include_router(recommendations.router)
    app.include_router(workspace.router)
    app.include_router(webhooks.router)
    app.include_router(me.router)
    app.include_router(health.router)
    app.include_router(ui.router)
    app.mount(ui.STATIC_PATH, ui.static_files(), name="ui-static")

    install_openapi(app)
    return app
