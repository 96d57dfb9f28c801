"""Request dependencies as Annotated aliases: settings, a database session, the job runner, the caller (their
principal, tenant and role)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.access import Principal, key_id, parse_grant
from service.api.errors import Forbidden, Unauthenticated
from service.jobs.runner import JobRunner
from service.jobs.scenarios import ScenarioRunner
from service.settings import Settings


def get_app_settings(request: Request) -> Settings:
    """The settings the app was made with (create_app's, which tests choose), read from its state: a
    dependency override would do the same, but FastAPI then rebuilds every route's dependencies on each
    request (5 % of an API process's CPU under load)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.runner
    return runner


RunnerDep = Annotated[JobRunner, Depends(get_runner)]


def get_scenarios(request: Request) -> ScenarioRunner:
    scenarios: ScenarioRunner = request.app.state.scenarios
    return scenarios


ScenariosDep = Annotated[ScenarioRunner, Depends(get_scenarios)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from API_KEYS; it names the tenant."
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


def get_principal(
    request: Request,
    settings: SettingsDep,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The caller: the tenant and role of their API key (everyone is the default tenant's admin when no keys
    are set). Kept on the request's state, where the viewer redaction (middleware.py) finds it."""
    if not settings.api_keys:
        principal = Principal(settings.default_tenant, "admin", "anonymous")
    else:
        presented = api_key or (bearer.credentials if bearer is not None else None)
        if not presented:
            raise Unauthenticated("send an API key in the X-API-Key header or as a bearer token")
        grant = None
        for key, value in settings.api_keys.items():
            # Compare every key in constant time, so timing does not reveal how much of a key matched.
            if hmac.compare_digest(key.encode(), presented.encode()):
                grant = value
        if grant is None:
            raise Unauthenticated("the API key is not valid")
        tenant, role = parse_grant(grant)
        principal = Principal(tenant, role, key_id(presented))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_tenant(request: Request, principal: PrincipalDep) -> str:
    """The caller's tenant. Writes (any method but GET and HEAD) need a planner or admin key: a viewer
    reads only; routes that answer a question without keeping anything take `QueryTenantDep` instead."""
    if request.method not in _READS and not principal.may_write:
        raise Forbidden(f"a {principal.role} key may read only; {request.method} needs a planner or admin key")
    return principal.tenant


def get_query_tenant(principal: PrincipalDep) -> str:
    """The caller's tenant, for a POST that only asks a question (a recommendation): any role."""
    return principal.tenant


def get_writer(principal: PrincipalDep) -> Principal:
    """The caller, who must hold a planner or admin key (workspace writes)."""
    if not principal.may_write:
        raise Forbidden(f"a {principal.role} key may read only; this needs a planner or admin key")
    return principal


def get_admin(principal: PrincipalDep) -> Principal:
    """The caller, who must hold an admin key (webhooks)."""
    if not principal.is_admin:
        raise Forbidden(f"a {principal.role} key cannot do this; it needs an admin key")
    return principal


TenantDep = Annotated[str, Depends(get_tenant)]
QueryTenantDep = Annotated[str, Depends(get_query_tenant)]
WriterDep = Annotated[Principal, Depends(get_writer)]
AdminDep = Annotated[Principal, Depends(get_admin)]
