"""Workers on other hosts: three network namespaces on a bridge, a Celery worker in each, reaching RabbitMQ and
PostgreSQL through a forwarder on the bridge's address. Jobs spread over the hosts; a host whose link is cut
mid-solve (a partition: its worker lives on and goes on solving) has its job redelivered and finished on
another host, and its own late answer, sent once the link is back, is refused by the attempt's fence."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from benchmarks.generator import generate
from tests.api.workload import is_finished, wait_for, wait_for_status
from tests.db.targets import database_target_for
from tests.distributed.hosts import Forwarder, Host, Network, why_no_hosts
from tests.distributed.processes import Api, Cluster, Worker, cluster, large_request

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.timeout(600)]

HOSTS = 3


@dataclass(frozen=True)
class Hosted:
    """An API process on loopback and one worker on each host, on one database and one broker."""

    network: Network
    cluster: Cluster
    api: Api
    workers: dict[Host, Worker]

    def solvers_of(self, job_id: str) -> list[Host]:
        """The hosts whose worker stored a result for the job."""
        return [host for host, worker in self.workers.items() if job_id in worker.solved()]

    def started_on(self, job_id: str) -> Host | None:
        for host, worker in self.workers.items():
            if worker.events("job.started", job_id=job_id):
                return host
        return None


def through(url: str, host: str, port: int) -> str:
    """`url` with its host and port replaced (user and password kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}:{port}" if user else f"{host}:{port}"))


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    reason = why_no_hosts()
    if reason is not None:
        pytest.skip(reason)
    with Network(hosts=HOSTS) as made:
        yield made


@pytest.fixture(scope="module")
def hosted(network: Network, broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    workdir = tmp_path_factory.mktemp("hosts")
    xdist = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with Forwarder() as forwarder:
        for target in database_target_for("postgres", workdir, f"{xdist}_hosts"):
            assert target.schema is not None
            database, broker = urlsplit(target.url), urlsplit(broker_url)
            postgres_port = forwarder.relay(network.gateway, database.hostname or "127.0.0.1", database.port or 5432)
            broker_port = forwarder.relay(network.gateway, broker.hostname or "127.0.0.1", broker.port or 5672)
            remote = {
                "DATABASE_URL": through(target.url, network.gateway, postgres_port),
                "BROKER_URL": through(broker_url, network.gateway, broker_port),
            }
            with cluster(
                broker_url=broker_url,
                database_url=target.url,
                schema=target.schema,
                workdir=workdir,
                TENANT_MAX_ACTIVE_JOBS="50",
            ) as made:
                api = made.api()
                workers = {
                    host: made.worker(f"worker-{host.namespace}", env=remote, launcher=host.launcher)
                    for host in network.hosts
                }
                api.wait_until_healthy()
                for worker in workers.values():
                    worker.wait_until_ready()
                yield Hosted(network, made, api, workers)


def medium_request(seed: int, time_limit_s: float) -> dict[str, Any]:
    request = generate("M", seed)
    request["options"] = {"time_limit_s": time_limit_s}
    return request


def test_jobs_spread_over_the_hosts(hosted: Hosted) -> None:
    job_ids = []
    for seed in range(2 * HOSTS):
        accepted = hosted.api.client.post("/v1/plans", params={"mode": "async"}, json=medium_request(seed, 5))
        assert accepted.status_code == 202, accepted.text
        job_ids.append(accepted.json()["id"])
    for job_id in job_ids:
        plan = wait_for_status(hosted.api.client, job_id, is_finished, timeout_s=300)
        assert plan["status"] in ("optimal", "feasible")

    solvers = {job_id: hosted.solvers_of(job_id) for job_id in job_ids}
    assert all(len(hosts) == 1 for hosts in solvers.values()), solvers
    # Prefetch 1: each worker holds one task at a time, so the broker hands the first three to three hosts.
    assert {hosts[0] for hosts in solvers.values()} == set(hosted.network.hosts)
    rows = hosted.cluster.job_rows(job_ids)
    assert {job_id: (row["status"], row["attempts"]) for job_id, row in rows.items()} == dict.fromkeys(
        job_ids, ("done", 1)
    )


def test_a_partitioned_host_has_its_job_finished_elsewhere_and_its_late_answer_refused(hosted: Hosted) -> None:
    api = hosted.api
    # Long enough that the cut-off worker is still solving when the job is taken over (20-30 s after the cut).
    accepted = api.client.post("/v1/plans", params={"mode": "async"}, json=large_request(time_limit_s=45))
    assert accepted.status_code == 202, accepted.text
    plan_id = accepted.json()["id"]
    cut_off = wait_for(lambda: hosted.started_on(plan_id), timeout_s=120, what="a host to start the job")
    partitioned = hosted.workers[cut_off]
    others = [worker for host, worker in hosted.workers.items() if host != cut_off]

    def taken_over() -> list[tuple[int, bool]] | None:
        started = [e for worker in others for e in worker.events("job.started", job_id=plan_id)]
        return [(e["attempt"], e["redelivered"]) for e in started] or None

    # Mid-solve, the host's link goes down: its worker does not die, it solves on, cut off from everyone.
    hosted.network.partition(cut_off)
    try:
        # RabbitMQ hands the task to another host once the cut-off worker has missed its heartbeats (10 s),
        # by which time that worker's lease (3 s) has long run out: the other host takes the job over at once.
        assert wait_for(taken_over, timeout_s=180, what="another host to take the job over") == [(2, True)]
    finally:
        hosted.network.heal(cut_off)

    # Back on the network, the cut-off worker learns from its lease that the job went to another attempt,
    # stops, and offers the plan it found meanwhile: the fence refuses it.
    refused = wait_for(
        lambda: partitioned.events("job.result_refused", job_id=plan_id) or None,
        timeout_s=120,
        what="the partitioned worker's late answer to reach the database",
        interval_s=0.2,
    )
    assert [(event["attempt"], event["outcome"]) for event in refused] == [(1, "plan")]
    assert partitioned.events("job.attempt_superseded", job_id=plan_id)

    plan = wait_for_status(api.client, plan_id, is_finished, timeout_s=300)
    assert plan["status"] in ("optimal", "feasible")
    assert plan["cancelled"] is False
    finished = [(e["attempt"], e["status"]) for worker in others for e in worker.events("job.finished", job_id=plan_id)]
    assert finished == [(2, plan["status"])], "another host finished the job, as the second attempt"
    assert not partitioned.events("job.finished", job_id=plan_id)
    row = hosted.cluster.job_rows([plan_id])[plan_id]
    assert (row["status"], row["attempts"]) == ("done", 2)
    partitioned.alive()
