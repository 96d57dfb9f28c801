"""Request bodies are typed in the routes (service.api.body.JsonBody): the OpenAPI document states each from
its model and examples, and the body is decoded and validated in a worker thread, not on the event loop."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from service.api import create_app
from service.api.body import BodyExample, JsonBody
from service.api.errors import MalformedBody, UnsupportedMediaType, ValidationFailed
from service.api.openapi import example, json_bodies
from service.contract import Horizon, InvalidRequest
from service.settings import Settings
from tests.api.workload import small_request

BODIES = {
    "/v1/plans": ("AllocationRequest", {"small"}),
    "/v1/scenarios": ("ScenarioRequest", {"small"}),
    "/v1/recommendations": ("RecommendationRequest", {"slot", "staff"}),
    "/v1/workspace/plans": ("ProposalOptions", set()),
    "/v1/workspace/bookings": ("NewBooking", set()),
    "/v1/webhooks": ("NewWebhook", set()),
}
# The workspace's PUTs take a body too: JSON documents, and the CSV files.
PUT_BODIES = {
    "/v1/workspace/settings": "application/json",
    "/v1/workspace/staff/{staff_id}": "application/json",
    "/v1/workspace/opportunities/{opportunity_id}": "application/json",
    "/v1/workspace/staff.csv": "text/csv",
    "/v1/workspace/opportunities.csv": "text/csv",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(database_url="sqlite:///unused.db"))


def test_each_post_documents_its_body_from_the_route(app: FastAPI) -> None:
    document = app.openapi()
    found = {path: body for path, methods, body in json_bodies(app) if "POST" in methods}
    assert set(found) == set(BODIES)
    for path, (model, examples) in BODIES.items():
        body = document["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        content = body["content"]["application/json"]
        assert content["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert model in document["components"]["schemas"]
        assert set(content.get("examples", {})) == examples
        for key, entry in content.get("examples", {}).items():
            assert entry["summary"]
            assert entry["value"] == example(found[path].examples[key].file)
            # Every example is a body the route accepts.
            assert isinstance(found[path].parse(entry["value"]), found[path].model)
    for path, media in PUT_BODIES.items():
        assert set(document["paths"][path]["put"]["requestBody"]["content"]) == {media}, path
    # Nothing else takes a body.
    taking = {p for p, ops in document["paths"].items() for op in ops.values() if "requestBody" in op}
    assert taking == set(BODIES) | set(PUT_BODIES)


def _request(body: bytes, content_type: str | None) -> Request:
    headers = [(b"content-type", content_type.encode())] if content_type else []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers}, receive)


def test_a_body_is_parsed_off_the_event_loop_with_the_services_answers() -> None:
    threads: list[int] = []

    def parse(document: Any) -> Horizon:
        threads.append(threading.get_ident())
        if document.get("weeks") == 0:
            raise InvalidRequest([])
        return Horizon.model_validate(document)

    horizon = JsonBody(Horizon, parse, {"one": BodyExample("A horizon", "small-request")})

    async def call(body: bytes, content_type: str | None = "application/json") -> Horizon:
        return await horizon(_request(body, content_type))

    loop_thread = threading.get_ident()
    parsed = asyncio.run(call(json.dumps({"start": "2026-11-23", "weeks": 4}).encode()))
    assert parsed == Horizon.model_validate({"start": "2026-11-23", "weeks": 4})
    assert threads
    assert loop_thread not in threads
    with pytest.raises(UnsupportedMediaType):
        asyncio.run(call(b"{}", "text/plain"))
    with pytest.raises(UnsupportedMediaType):
        asyncio.run(call(b"{}", None))
    with pytest.raises(MalformedBody):
        asyncio.run(call(b'{"start": '))
    with pytest.raises(ValidationFailed):
        asyncio.run(call(b'{"start": "2026-11-23", "weeks": 0}'))


def test_a_recommendation_question_gets_every_error_in_one_422(client: TestClient) -> None:
    request = small_request()
    request["staff"][0]["hourly_rate"] = "150"
    request["opportunities"][1]["id"] = request["opportunities"][0]["id"]
    question = {"request": request, "staff_id": "south-01", "demand_id": "crm-demo", "limit": "3", "open_only": 1}
    response = client.post("/v1/recommendations", json=question)
    assert response.status_code == 422
    errors = {(e["path"], e["type"]) for e in response.json()["errors"]}
    assert errors == {
        ("request.staff[0].hourly_rate", "float_type"),
        ("request.opportunities[1].id", "duplicate_id"),
        ("limit", "int_type"),
        ("open_only", "bool_type"),
        ("staff_id", "conflict"),
        ("demand_id", "conflict"),
    }


def test_a_question_naming_an_unknown_person_is_told_so_with_the_requests_errors(client: TestClient) -> None:
    request = small_request()
    request["options"] = {"time_limit_s": "2"}
    response = client.post("/v1/recommendations", json={"request": request, "staff_id": "ghost"})
    assert response.status_code == 422
    errors = {(e["path"], e["type"]) for e in response.json()["errors"]}
    assert errors == {("request.options.time_limit_s", "float_type"), ("staff_id", "unknown_id")}
