"""compose.yaml (api, worker, postgres, rabbitmq) parses and says what the service needs. No Docker engine
runs here, so this checks the file, not a running stack: the services exist, the API and the workers run
the repository's image with the same database and broker, every setting they are given is one the service
reads, and they wait for the database and the broker to be healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return document


def test_the_four_services_are_there_and_the_image_is_this_repository() -> None:
    services = compose()["services"]
    assert set(services) == {"api", "worker", "postgres", "rabbitmq"}
    for name in ("api", "worker"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == "presales-allocator"
    assert (ROOT / "Dockerfile").is_file()
    assert services["api"]["command"][:2] == ["presales-allocator", "serve"]
    assert services["worker"]["command"][:2] == ["presales-allocator", "worker"]


def test_api_and_workers_share_one_database_and_one_broker() -> None:
    services = compose()["services"]
    api, worker = services["api"]["environment"], services["worker"]["environment"]
    for key in ("DATABASE_URL", "BROKER_URL", "QUEUE_PREFIX"):
        assert api[key] == worker[key]
    assert api["DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in api["DATABASE_URL"]
    assert api["BROKER_URL"].startswith("amqp://")
    assert "@rabbitmq:5672/" in api["BROKER_URL"]
    # The API binds 0.0.0.0 in its container, which the service refuses without API keys.
    assert "API_KEYS" in api


def test_every_setting_given_is_one_the_service_reads() -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name in ("api", "worker"):
        unknown = set(compose()["services"][name]["environment"]) - known
        assert unknown == set(), f"{name} sets {sorted(unknown)}, which service/settings.py does not read"


def test_api_and_workers_start_once_the_database_and_broker_are_healthy() -> None:
    services = compose()["services"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert {key: value["condition"] for key, value in depends.items()} == {
            "postgres": "service_healthy",
            "rabbitmq": "service_healthy",
        }
    assert services["postgres"]["healthcheck"]["test"]
    assert services["rabbitmq"]["healthcheck"]["test"]
