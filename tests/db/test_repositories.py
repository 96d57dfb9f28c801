"""Job states, plans, idempotency keys and paging, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import Job, StoredPlan
from service.db.repositories import InvalidCursor, JobRepository, PageCursor, new_id

REQUEST: dict[str, Any] = {"horizon": {"start": "2026-11-23", "weeks": 1}, "staff": [], "opportunities": []}
PLAN: dict[str, Any] = {"id": "", "status": "feasible", "objective": {"covered_value": 12.5, "total_cost": 3.0}}


def add_job(repo: JobRepository, tenant: str = "acme", **kwargs: Any) -> Job:
    return repo.create(tenant=tenant, request_body=REQUEST, body_sha256="0" * 64, time_limit_s=5.0, **kwargs)


def test_a_job_is_stored_queued_with_its_request(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    session.commit()
    found = repo.get("acme", job.id)
    assert found is not None
    assert (found.status, found.attempts, found.cancel_requested) == ("queued", 0, False)
    assert found.created_at.tzinfo == dt.UTC
    assert [j.id for j in repo.active("acme")] == [job.id]


def test_another_tenant_cannot_see_the_job(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo, tenant="acme")
    assert repo.get("globex", job.id) is None
    assert repo.cancel("globex", job.id) is None
    assert repo.page("globex", 10) == []


def test_claim_runs_a_queued_job_once_and_counts_the_attempt(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    claim = repo.claim(job.id)
    assert claim.kind == "claimed"
    claimed = claim.job
    assert claimed is not None
    assert claimed.request_body == REQUEST
    assert claimed.attempts == 1
    assert repo.claim(job.id).kind == "held"  # without leases a running job is never taken over
    assert repo.get("acme", job.id).status == "running"  # type: ignore[union-attr]


def test_finish_stores_the_plan_under_the_job_id(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    repo.claim(job.id)
    repo.finish(job.id, 1, PLAN)
    session.commit()
    stored = repo.get("acme", job.id, with_plan=True)
    assert stored is not None
    assert stored.status == "done"
    assert stored.plan is not None
    assert stored.plan.body["id"] == job.id
    assert (stored.plan.status, stored.plan.cancelled, stored.plan.covered_value) == ("feasible", False, 12.5)
    assert repo.active("acme") == []


def test_a_plan_finished_after_a_cancel_is_marked_cancelled(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    repo.claim(job.id)
    marked = repo.cancel("acme", job.id)
    assert marked is not None
    assert marked[1] == "running"
    repo.finish(job.id, 1, PLAN)
    plan = session.get(StoredPlan, job.id)
    assert plan is not None
    assert plan.cancelled
    assert plan.body["cancelled"] is True


def test_cancelling_a_queued_job_ends_it_and_claim_then_skips_it(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    marked = repo.cancel("acme", job.id)
    assert marked is not None
    assert (marked[0].status, marked[1]) == ("cancelled", "queued")
    assert repo.claim(job.id).kind == "ended"
    again = repo.cancel("acme", job.id)
    assert again is not None
    assert again[1] == "cancelled"


def test_failure_after_a_cancel_reads_as_cancelled(session: Session) -> None:
    repo = JobRepository(session)
    failed, cancelled = add_job(repo), add_job(repo)
    for job in (failed, cancelled):
        repo.claim(job.id)
    repo.cancel("acme", cancelled.id)
    assert repo.fail(failed.id, 1, "watchdog") == "failed"
    assert repo.fail(cancelled.id, 1, "ignored the cancel") == "cancelled"


def test_recovery_requeues_interrupted_jobs_and_ends_the_hopeless_ones(session: Session) -> None:
    repo = JobRepository(session)
    queued, running, exhausted, cancelling = (add_job(repo) for _ in range(4))
    for job in (running, exhausted, cancelling):
        repo.claim(job.id)
    repo.cancel("acme", cancelling.id)
    session.get(Job, exhausted.id).attempts = 3  # type: ignore[union-attr]
    recovery = repo.recover(max_attempts=3)
    assert sorted(recovery.requeued) == sorted([queued.id, running.id])
    assert recovery.failed == [exhausted.id]
    assert recovery.cancelled == [cancelling.id]
    statuses = {job.id: job.status for job in session.scalars(select(Job).where(Job.tenant == "acme"))}
    assert statuses == {queued.id: "queued", running.id: "queued", exhausted.id: "failed", cancelling.id: "cancelled"}
    assert "3 attempts" in (session.get(Job, exhausted.id).detail or "")  # type: ignore[union-attr]


def test_recovery_holds_a_job_whose_predecessor_is_requeued_and_a_claim_names_it(session: Session) -> None:
    repo = JobRepository(session)
    base = add_job(repo, tenant="chain")
    variant = repo.create(
        tenant="chain", request_body={"n": 1}, body_sha256="0" * 64, time_limit_s=5.0, after_job_id=base.id
    )
    ended = add_job(repo, tenant="chain")
    repo.claim(ended.id)
    repo.finish(ended.id, 1, {"status": "optimal", "objective": {}})
    after_ended = repo.create(
        tenant="chain", request_body={"n": 2}, body_sha256="1" * 64, time_limit_s=5.0, after_job_id=ended.id
    )
    recovery = repo.recover(max_attempts=3)
    assert recovery.waiting == {variant.id: base.id}  # the base runs again first
    assert after_ended.id in recovery.requeued
    assert after_ended.id not in recovery.waiting  # its predecessor has its plan: it may start
    assert repo.claim(variant.id).kind == "waiting"  # its base has not ended yet
    repo.claim(base.id)
    repo.fail(base.id, 1, "no plan")
    claimed = repo.claim(variant.id).job
    assert claimed is not None
    assert claimed.after_job_id == base.id
    assert repo.plan_body(ended.id) == {"status": "optimal", "objective": {}, "id": ended.id}
    repo.replace_request(variant.id, {"n": 3}, "2" * 64)
    stored = repo.get("chain", variant.id, with_request=True)
    assert stored is not None
    assert (stored.request.body, stored.request.body_sha256) == ({"n": 3}, "2" * 64)


def test_requeue_after_a_graceful_stop_does_not_count_the_attempt(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    repo.claim(job.id)
    assert repo.requeue(job.id, 1, uncount_attempt=True)
    stored = repo.get("acme", job.id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.started_at) == ("queued", 0, None)


def test_pages_are_newest_first_and_cursors_continue_where_they_stopped(session: Session) -> None:
    repo = JobRepository(session)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    jobs = [add_job(repo, tenant="paging") for _ in range(5)]
    for i, job in enumerate(jobs):
        job.created_at = start + dt.timedelta(seconds=i // 2)  # pairs share a timestamp: ties go by id
    session.flush()
    expected = [j.id for j in sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=True)]
    seen: list[str] = []
    cursor = None
    while True:
        page = repo.page("paging", 2, cursor)
        seen += [row.job.id for row in page]
        if len(page) < 2:
            break
        cursor = PageCursor.decode(PageCursor(page[-1].job.created_at, page[-1].job.id).encode())
    assert seen == expected


def test_page_rows_carry_the_plan_headline(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo, tenant="headline")
    repo.claim(job.id)
    repo.finish(job.id, 1, PLAN)
    (row,) = repo.page("headline", 10)
    assert (row.plan_status, row.covered_value, row.total_cost) == ("feasible", 12.5, 3.0)


@pytest.mark.parametrize("text", ["", "!!!", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMXx4"])
def test_foreign_cursors_are_rejected(text: str) -> None:
    with pytest.raises(InvalidCursor):
        PageCursor.decode(text)


def test_an_idempotency_key_belongs_to_one_job_per_tenant(session: Session) -> None:
    repo = JobRepository(session)
    first = add_job(repo, idempotency_key="order-42")
    add_job(repo, tenant="globex", idempotency_key="order-42")  # the same key in another tenant is fine
    known = repo.idempotency_key("acme", "order-42")
    assert known is not None
    assert known.job_id == first.id
    session.expunge(known)  # so that the clash is the database's to find, not the identity map's
    with session.begin_nested(), pytest.raises(IntegrityError):
        add_job(repo, idempotency_key="order-42")


def test_foreign_keys_are_enforced(session: Session) -> None:
    with session.begin_nested():
        session.add(Job(id=new_id(), tenant="acme", request_id="missing", time_limit_s=1.0))
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_plan_proven_before_the_cancel_took_effect_is_not_marked_cancelled(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    repo.claim(job.id)
    repo.cancel("acme", job.id)
    repo.finish(job.id, 1, PLAN | {"status": "optimal"})
    plan = session.get(StoredPlan, job.id)
    assert plan is not None
    assert (plan.status, plan.cancelled) == ("optimal", False)


# --------------------------------------------------------------------------- attempts, leases and the fence

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_live_lease_keeps_a_second_worker_off_the_job(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    first = repo.claim(job.id, lease_s=10, max_attempts=3, now=at(0))
    assert (first.kind, first.job.attempts if first.job else None) == ("claimed", 1)
    held = repo.claim(job.id, lease_s=10, max_attempts=3, now=at(4))
    assert held.kind == "held"
    assert held.lease_left_s == pytest.approx(6.0)
    assert repo.renew(job.id, 1, 10, now=at(8)) is False  # renewed, no cancel asked for
    assert repo.claim(job.id, lease_s=10, max_attempts=3, now=at(15)).kind == "held"  # 8 + 10 > 15


def test_a_stale_attempts_late_result_is_refused_and_the_new_attempts_stored(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    repo.claim(job.id, lease_s=10, max_attempts=3, now=at(0))
    # The first worker stopped renewing (dead, or cut off): after its lease another takes the job over.
    takeover = repo.claim(job.id, lease_s=10, max_attempts=3, now=at(11))
    assert takeover.kind == "claimed"
    assert takeover.job is not None
    assert takeover.job.attempts == 2
    # The first worker comes back with its answer: every write of attempt 1 touches nothing.
    assert repo.renew(job.id, 1, 10, now=at(12)) is None
    assert repo.finish(job.id, 1, PLAN | {"status": "optimal"}) is None
    assert repo.fail(job.id, 1, "late failure") is None
    assert not repo.requeue(job.id, 1, uncount_attempt=True)
    assert session.get(StoredPlan, job.id) is None
    assert repo.finish(job.id, 2, PLAN) == "done"
    assert repo.finish(job.id, 2, PLAN) is None  # one result per job, even from the attempt that stored it
    stored = repo.get("acme", job.id, with_plan=True)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.lease_expires_at) == ("done", 2, None)
    assert stored.plan is not None
    assert stored.plan.status == "feasible"


def test_a_late_result_cannot_revive_a_job_that_ended(session: Session) -> None:
    repo = JobRepository(session)
    watchdogged, cancelled = add_job(repo), add_job(repo)
    repo.claim(watchdogged.id, lease_s=10, now=at(0))
    assert repo.fail(watchdogged.id, 1, "stopped by the watchdog") == "failed"
    assert repo.finish(watchdogged.id, 1, PLAN) is None
    assert repo.cancel("acme", cancelled.id) is not None  # cancelled while queued: never claimed
    assert repo.claim(cancelled.id, lease_s=10, now=at(1)).kind == "ended"
    assert repo.finish(cancelled.id, 0, PLAN) is None
    assert repo.finish(cancelled.id, 1, PLAN) is None
    statuses = {job.id: job.status for job in session.scalars(select(Job).where(Job.tenant == "acme"))}
    assert statuses == {watchdogged.id: "failed", cancelled.id: "cancelled"}
    assert session.get(StoredPlan, watchdogged.id) is None


def test_a_cancel_reaches_the_worker_through_its_lease_renewal(session: Session) -> None:
    repo = JobRepository(session)
    job = add_job(repo)
    repo.claim(job.id, lease_s=10, now=at(0))
    assert repo.renew(job.id, 1, 10, now=at(1)) is False
    repo.cancel("acme", job.id)
    assert repo.renew(job.id, 1, 10, now=at(2)) is True
    assert repo.finish(job.id, 1, PLAN) == "done"
    plan = session.get(StoredPlan, job.id)
    assert plan is not None
    assert plan.cancelled


def test_a_stale_job_is_closed_when_its_attempts_are_spent_or_its_cancel_cannot_be_honoured(session: Session) -> None:
    repo = JobRepository(session)
    spent, cancelling = add_job(repo), add_job(repo)
    for attempt, second in enumerate((0, 20, 40), start=1):
        claim = repo.claim(spent.id, lease_s=10, max_attempts=3, now=at(second))
        assert (claim.kind, claim.job.attempts if claim.job else None) == ("claimed", attempt)
    closed = repo.claim(spent.id, lease_s=10, max_attempts=3, now=at(60))
    assert (closed.kind, closed.status) == ("closed", "failed")
    repo.claim(cancelling.id, lease_s=10, max_attempts=3, now=at(0))
    repo.cancel("acme", cancelling.id)
    assert repo.claim(cancelling.id, lease_s=10, max_attempts=3, now=at(20)).status == "cancelled"
    found = {job.id: job for job in session.scalars(select(Job).where(Job.tenant == "acme"))}
    assert "each of 3 attempts" in (found[spent.id].detail or "")
    assert found[cancelling.id].status == "cancelled"


def test_the_sweep_finds_unpublished_queued_jobs_and_abandoned_running_ones(session: Session) -> None:
    repo = JobRepository(session)
    lost, published, base = add_job(repo, tenant="sweep"), add_job(repo, tenant="sweep"), add_job(repo, tenant="sweep")
    variant = add_job(repo, tenant="sweep", after_job_id=base.id)
    for job in (lost, published, base, variant):
        job.created_at = at(0)
    session.flush()
    repo.mark_published([published.id, base.id], now=at(1))
    mine = {lost.id, published.id, base.id, variant.id}
    found = {job.id for job in repo.unpublished(older_than=at(10))} & mine
    assert found == {lost.id}  # the variant waits for its base
    assert {job.id for job in repo.unpublished(older_than=at(-1))} & mine == set()  # too recent
    repo.claim(base.id, lease_s=5, now=at(2))
    assert {job.id for job in repo.abandoned(stale_before=at(6), published_before=at(60))} & mine == set()
    assert {job.id for job in repo.abandoned(stale_before=at(8), published_before=at(60))} & mine == {base.id}
    assert {job.id for job in repo.abandoned(stale_before=at(8), published_before=at(0))} & mine == set()
    repo.finish(base.id, 1, PLAN)
    assert [job.id for job in repo.successors(base.id)] == [variant.id]
    assert {job.id for job in repo.unpublished(older_than=at(10))} & mine == {lost.id, variant.id}


def test_hidden_jobs_are_not_listed_and_count_once_per_group(session: Session) -> None:
    repo = JobRepository(session)
    visible = add_job(repo, tenant="hidden")
    group = new_id()
    solves = [add_job(repo, tenant="hidden", hidden=True, group_id=group) for _ in range(3)]
    repo.lock_tenant("hidden")
    assert [job.id for job in repo.active("hidden")] == [visible.id]
    assert repo.active_groups("hidden") == {group}
    assert [row.job.id for row in repo.page("hidden", 10)] == [visible.id]
    assert repo.get("hidden", solves[0].id) is None
    repo.claim(solves[0].id)
    repo.finish(solves[0].id, 1, PLAN)
    assert repo.delete_hidden([job.id for job in solves]) == 1  # only the ended one
    assert session.get(Job, solves[0].id) is None
    assert session.get(StoredPlan, solves[0].id) is None
    assert repo.active_groups("hidden") == {group}
