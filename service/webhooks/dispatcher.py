"""The dispatcher: a background task of each API process that sends due webhook deliveries.

It claims due deliveries from the database (service.webhooks.repository), posts each one signed, and
records what came of it: delivered on a 2xx answer; otherwise pending again after an exponential backoff
with jitter, or failed once WEBHOOK_MAX_ATTEMPTS attempts have failed. Every state is in the database, so
a delivery due before a restart is made after it, and a process killed between sending and recording
leaves a lease that runs out, after which the delivery is sent again: at least once, never lost.

Receivers cannot slow the API: sends run as tasks of their own on the event loop (the HTTP handlers never
wait on them), at most WEBHOOK_CONCURRENCY at a time and one per subscription, each bounded by
WEBHOOK_TIMEOUT_S from the name's resolution to the answer's status line; the answer's body is never read.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import structlog
from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker

import service
from service.db.base import utcnow
from service.settings import Settings
from service.webhooks.addresses import UnsafeDestination, resolve
from service.webhooks.events import delivery_body
from service.webhooks.repository import DueDelivery, WebhookRepository
from service.webhooks.signing import SIGNATURE_HEADER, signature

log = structlog.get_logger(__name__)

T = TypeVar("T")

USER_AGENT = f"presales-allocator-webhooks/{service.__version__}"
# Beyond the attempt's own bound (resolution plus request, each within the timeout): time to record it.
LEASE_MARGIN_S = 5.0


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are made: the WEBHOOK_* settings."""

    timeout_s: float
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float
    concurrency: int
    poll_s: float
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            timeout_s=settings.webhook_timeout_s,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_s=settings.webhook_backoff_base_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            concurrency=settings.webhook_concurrency,
            poll_s=settings.webhook_poll_s,
            allow_private=settings.webhook_allow_private,
        )

    @property
    def lease_s(self) -> float:
        """How long a claim holds a delivery: longer than any attempt can take, so only a dead process's
        claim ever runs out."""
        return 2 * self.timeout_s + LEASE_MARGIN_S

    def retry_delay_s(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt `attempt` (1, 2, ...): the base doubled per attempt up to the cap,
        of which a random half to all is taken (jitter), so receivers coming back are not hit in lockstep."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** min(attempt - 1, 60))
        return ceiling * rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt got: the answer's status code (None without an answer) and, unless it was a 2xx, why
    it failed."""

    status_code: int | None
    error: str | None


class Dispatcher:
    """Sends the due deliveries of every tenant, from `start()` until `stop()`."""

    def __init__(
        self, sessions: sessionmaker[Session], policy: DeliveryPolicy, rng: random.Random | None = None
    ) -> None:
        self._sessions = sessions
        self._policy = policy
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._sending: dict[asyncio.Task[None], DueDelivery] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        # No connection is kept alive: a delivery connects to the address it checked, named in its URL, so a
        # pooled connection could otherwise carry another host name's request. Proxies from the environment
        # are not used: they would connect to the name, not to the checked address.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._policy.timeout_s),
            limits=httpx.Limits(max_connections=self._policy.concurrency, max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")
        log.info("webhooks.dispatcher_started", concurrency=self._policy.concurrency, poll_s=self._policy.poll_s)

    async def stop(self) -> None:
        """Stop claiming, cut short the sends under way and hand their deliveries back (due at once, the
        attempt not counted), so that the next process sends them without waiting for a lease to run out."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
        interrupted = list(self._sending.items())
        for task, _ in interrupted:
            task.cancel()
        await asyncio.gather(*(task for task, _ in interrupted), return_exceptions=True)
        if interrupted:
            handed_back = await self._db(
                lambda repo: [repo.release(due.id, due.attempt) for _, due in interrupted].count(True)
            )
            log.info("webhooks.deliveries_handed_back", count=handed_back)
        if self._client is not None:
            await self._client.aclose()

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming: a send that ends meanwhile wakes the next round
            free = self._policy.concurrency - len(self._sending)
            claimed = await self._claim(free) if free > 0 else []
            for due in claimed:
                self._start_sending(due)
            if self._stopping:
                break
            if claimed and len(claimed) == free:
                continue  # every free slot was filled: there may be more due already
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._policy.poll_s)

    async def _claim(self, free: int) -> list[DueDelivery]:
        busy = {due.subscription_id for due in self._sending.values()}
        try:
            return await self._db(lambda repo: repo.claim_due(free, self._policy.lease_s, busy_subscriptions=busy))
        except Exception:  # the database is unreachable for now: try again at the next poll
            log.exception("webhooks.claim_failed")
            return []

    def _start_sending(self, due: DueDelivery) -> None:
        task = asyncio.create_task(self._send(due), name=f"webhook-delivery-{due.id}")
        self._sending[task] = due
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        due = self._sending.pop(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhooks.send_crashed", delivery_id=due.id, error=repr(task.exception()))
        self._wake.set()  # a slot is free, and the subscription may have more due

    # ------------------------------------------------------------------ one attempt

    async def _send(self, due: DueDelivery) -> None:
        outcome = await self.attempt(due)
        retry_at = None
        if outcome.error is not None and due.attempt < self._policy.max_attempts:
            retry_at = utcnow() + dt.timedelta(seconds=self._policy.retry_delay_s(due.attempt, self._rng))
        recorded = await self._db(
            lambda repo: repo.record(
                due.id, due.attempt, status_code=outcome.status_code, error=outcome.error, retry_at=retry_at
            )
        )
        fields = {
            "delivery_id": due.id,
            "event_id": due.event_id,
            "event_type": due.event_type,
            "attempt": due.attempt,
            "status_code": outcome.status_code,
        }
        if not recorded:
            log.warning("webhooks.attempt_not_recorded", **fields)  # taken over, or the subscription removed
        elif outcome.error is None:
            log.info("webhooks.delivered", **fields)
        elif retry_at is not None:
            log.info("webhooks.attempt_failed", error=outcome.error, retry_at=retry_at.isoformat(), **fields)
        else:
            log.warning("webhooks.delivery_failed", error=outcome.error, **fields)

    async def attempt(self, due: DueDelivery) -> AttemptOutcome:
        """Post `due`'s event once, signed, to the address its URL resolves to now (checked again)."""
        assert self._client is not None, "start() the dispatcher first"
        timeout_s = self._policy.timeout_s
        body = delivery_body(due.event_id, due.event_type, due.event_created_at, due.data)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature(due.secret, body),
            "X-Webhook-Event": due.event_type,
            "X-Webhook-Delivery": due.id,
            "X-Webhook-Attempt": str(due.attempt),
        }
        try:
            destination = await resolve(due.url, allow_private=self._policy.allow_private, timeout_s=timeout_s)
            url, host, extensions = destination.pinned()
            async with (
                asyncio.timeout(timeout_s),
                self._client.stream(
                    "POST", url, content=body, headers={**headers, **host}, extensions=extensions
                ) as response,
            ):
                status = response.status_code
        except UnsafeDestination as error:
            return AttemptOutcome(None, f"refused: {error}")
        except (TimeoutError, httpx.TimeoutException):
            return AttemptOutcome(None, f"no answer within {timeout_s:g} s")
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
            return AttemptOutcome(None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
        except Exception as error:  # an attempt must end recorded, whatever went wrong
            log.exception("webhooks.attempt_crashed", delivery_id=due.id)
            return AttemptOutcome(None, f"the attempt could not be made: {type(error).__name__}")
        if 200 <= status < 300:
            return AttemptOutcome(status, None)
        note = " (redirects are not followed)" if 300 <= status < 400 else ""
        return AttemptOutcome(status, f"the receiver answered {status}{note}")

    async def _db(self, work: Callable[[WebhookRepository], T]) -> T:
        def run() -> T:
            with self._sessions.begin() as session:
                return work(WebhookRepository(session))

        return await to_thread.run_sync(run)
