"""Workspace documents checked by the v1 contract's own validation, every error at once.

A person or a deal is put into a one-item v1 request on the workspace's horizon and policy and validated
there, so the workspace accepts exactly what a v1 request would (types, weeks within the horizon, capacity
lists as long as the horizon, duplicate demand ids...), with paths relative to the document sent. What
only the workspace refuses is added: an id that differs from the path's, and pins or a fixed lead on a deal
(confirmed bookings do that). Exclusions may name people not on the roster (yet, or any more).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from service.contract import (
    ContractModel,
    FieldError,
    Horizon,
    InvalidRequest,
    Opportunity,
    Policy,
    RequestModel,
    Staff,
    errors_from_pydantic,
    parse_request,
)
from service.workspace.state import Json


class WorkspaceSettings(RequestModel):
    """`PUT /v1/workspace/settings`: the horizon the workspace plans over and its policy (v1's)."""

    horizon: Horizon
    policy: Policy = Policy()


class Revision(ContractModel):
    """What every workspace write answers: the workspace's revision after it."""

    revision: int


def as_sent(document: Any) -> Any:
    """A body as decoded JSON: the route validates it against the workspace (see this module)."""
    return document


def parse_settings(document: Any) -> WorkspaceSettings:
    try:
        return WorkspaceSettings.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(errors_from_pydantic(error)) from None


def _relative(errors: list[FieldError], prefix: str) -> list[FieldError]:
    """Paths of a one-item request (`staff[0].skills`) made relative to the item (`skills`)."""
    found = []
    for error in errors:
        path = error.path
        if path == prefix:
            path = ""
        elif path.startswith(prefix + "."):
            path = path[len(prefix) + 1 :]
        elif path.startswith(prefix + "["):
            path = path[len(prefix) :]
        found.append(FieldError(path, error.message, error.type))
    return found


def _id_error(document: Any, path_id: str) -> list[FieldError]:
    sent = document.get("id") if isinstance(document, dict) else None
    if isinstance(sent, str) and sent != path_id:
        return [FieldError("id", f"is {sent!r}, the path names {path_id!r}", "id_mismatch")]
    return []


def unstorable_ids(item: Staff | Opportunity) -> list[FieldError]:
    """Ids the workspace keys its tables by may not hold a NUL character (PostgreSQL's text refuses it)."""
    found = [FieldError("id", "must not contain a NUL character", "nul")] if "\x00" in item.id else []
    for j, demand in enumerate(getattr(item, "demands", [])):
        if "\x00" in demand.id:
            found.append(FieldError(f"demands[{j}].id", "must not contain a NUL character", "nul"))
    return found


def parse_staff(document: Any, staff_id: str, horizon: Json) -> Staff:
    """A person for the roster, or InvalidRequest naming every problem."""
    errors = _id_error(document, staff_id)
    try:
        request = parse_request({"horizon": horizon, "staff": [document], "opportunities": []})
    except InvalidRequest as error:
        errors += _relative(error.errors, "staff[0]")
        raise InvalidRequest(errors) from None
    errors += unstorable_ids(request.staff[0])
    if errors:
        raise InvalidRequest(errors)
    return request.staff[0]


def parse_opportunity(document: Any, opportunity_id: str, horizon: Json, policy: Json) -> Opportunity:
    """A deal for the pipeline, or InvalidRequest naming every problem."""
    errors = _id_error(document, opportunity_id)
    sent = document
    if isinstance(document, dict):
        if document.get("pinned"):
            errors.append(FieldError("pinned", "the workspace pins people by confirmed bookings", "not_allowed"))
        if document.get("lead_staff_id") is not None:
            errors.append(FieldError("lead_staff_id", "the workspace fixes leads by confirmed bookings", "not_allowed"))
        sent = {key: value for key, value in document.items() if key not in ("pinned", "lead_staff_id")}
    probe = {"horizon": horizon, "policy": policy, "staff": [], "opportunities": [sent]}
    try:
        request = parse_request(probe)
        opportunity = request.opportunities[0]
    except InvalidRequest as error:
        found = [
            e
            for e in _relative(error.errors, "opportunities[0]")
            if not (e.path.startswith("excluded_staff[") and e.type == "unknown_id")
        ]
        errors += found
        if errors:
            raise InvalidRequest(errors) from None
        opportunity = Opportunity.model_validate(sent)
    errors += unstorable_ids(opportunity)
    if errors:
        raise InvalidRequest(errors)
    return opportunity


def canonical(model: Staff | Opportunity) -> Json:
    """The stored form of a person or a deal: every field, defaults filled in, workspace-only fields out."""
    document = model.model_dump(mode="json")
    document.pop("pinned", None)
    document.pop("lead_staff_id", None)
    return document
