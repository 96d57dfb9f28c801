"""GET /v1/me: who the caller is (tenant, role, key id), so a client such as the director's page can show a
viewer only what a viewer may do (no rates or costs, no buttons that write)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service.api.deps import PrincipalDep
from service.api.openapi import problems

router = APIRouter(tags=["operations"])


class Me(BaseModel):
    """The caller's tenant, role (`admin`, `planner` or `viewer`) and key id (`key-` and 12 hex digits)."""

    tenant: str
    role: str
    key_id: str


@router.get("/v1/me", summary="The caller: tenant, role and key id", response_model=Me, responses=problems(401))
def me(principal: PrincipalDep) -> Me:
    return Me(tenant=principal.tenant, role=principal.role, key_id=principal.key_id)
