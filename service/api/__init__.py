"""The HTTP service: `create_app()` builds it, `server.run()` serves it."""

from service.api.app import create_app

__all__ = ["create_app"]
