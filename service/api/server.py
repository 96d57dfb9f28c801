"""`presales-allocator serve`: run the service under uvicorn, on loopback only unless API keys are set."""

from __future__ import annotations

import gc
import ipaddress

import structlog
import uvicorn

from service.api.app import create_app
from service.observability import configure_logging
from service.settings import get_settings

log = structlog.get_logger(__name__)


class UnsafeBind(SystemExit):
    """Binding beyond loopback without API keys would open every tenant's plans to the network."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: we cannot know where it resolves
        return False


# The cyclic garbage collector stops the whole process while it runs, event loop included. With Python's
# defaults (700, 10, 10) a burst of large bodies (50 market scenarios of 130-260 kB posted at once) set off
# full collections over a heap of parsed requests that held /healthz for 150-260 ms (p95 160-190 ms);
# collecting young objects every 100,000 allocations instead of 700 took that to under 70 ms (p95 50 ms),
# and the burst was acknowledged sooner (1.5-1.7 s against 2.3-2.7 s). Figures: benchmarks/RESULTS.md.
GC_THRESHOLDS = (100_000, 50, 100)


def tune_garbage_collector() -> None:
    """Objects made at start-up (imports, settings, the app) are never garbage: `freeze` keeps every later
    full collection from scanning them again; then the thresholds above."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run(host: str | None, port: int) -> None:
    """Serve until interrupted. `host` None means the BIND_HOST setting (127.0.0.1 by default)."""
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    host = host or settings.bind_host
    if not settings.auth_enabled:
        if not is_loopback(host):
            message = (
                f"refusing to listen on {host}: no API keys are configured, so anyone who can reach the port "
                "could read and start solves. Set API_KEYS=key:tenant[,key:tenant…] or use a loopback host."
            )
            log.error("server.unsafe_bind", host=host, reason=message)
            raise UnsafeBind(message)
        log.warning(
            "server.loopback_only",
            host=host,
            port=port,
            note="no API keys configured (API_KEYS): authentication is off and the service binds to loopback only",
        )
    app = create_app(settings)
    tune_garbage_collector()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # our handlers, set up above, render uvicorn's records as JSON too
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=30,
    )
