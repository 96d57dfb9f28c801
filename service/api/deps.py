"""Request dependencies as Annotated aliases: settings, a database session, the job runner, the tenant."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.api.errors import Unauthenticated
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


def get_tenant(
    settings: SettingsDep,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> str:
    """The tenant the caller's API key belongs to; everyone is the default tenant when no keys are set."""
    if not settings.api_keys:
        return settings.default_tenant
    presented = api_key or (bearer.credentials if bearer is not None else None)
    if not presented:
        raise Unauthenticated("send an API key in the X-API-Key header or as a bearer token")
    tenant = None
    for key, owner in settings.api_keys.items():
        # Compare every key in constant time, so timing does not reveal how much of a key matched.
        if hmac.compare_digest(key.encode(), presented.encode()):
            tenant = owner
    if tenant is None:
        raise Unauthenticated("the API key is not valid")
    return tenant


TenantDep = Annotated[str, Depends(get_tenant)]
