"""Bodies that name the tenant's workspace instead of carrying a request: a scenario with `"base": "workspace"`,
a recommendation with `"request": "workspace"`. The route completes them with the workspace's current request
(`GET /v1/workspace/request`), given the body's own `options` when it has some, then parses them as usual."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from service.workspace.store import WorkspaceStore


@dataclass(frozen=True)
class OnTheWorkspace:
    """A body whose request is the tenant's workspace, as the client sent it."""

    document: dict[str, Any]

    @classmethod
    def of(cls, document: Any, field: str) -> OnTheWorkspace | None:
        """The body as OnTheWorkspace when its `field` says "workspace", else None."""
        if isinstance(document, dict) and document.get(field) == "workspace":
            return cls(document)
        return None

    def completed(self, request: Request, tenant: str, field: str) -> dict[str, Any]:
        """The body with the workspace's current request at `field`, carrying the body's `options` if any."""
        with request.app.state.sessions() as session:
            workspace_request = WorkspaceStore(session, tenant).request()
            session.commit()
        options = self.document.get("options")
        if isinstance(options, dict):
            workspace_request["options"] = options
        rest = {key: value for key, value in self.document.items() if key != "options"}
        return {**rest, field: workspace_request}
