"""`presales-allocator serve`: run the service under uvicorn, on loopback only unless API keys are set."""

from __future__ import annotations

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
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,  # our handlers, set up above, render uvicorn's records as JSON too
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=30,
    )
