"""Delivering PagerDuty events from the outbox: claim (committed) → send → record.

The oldest unfinished event of each alert is sent (events of one alert stay in order). A 400 is
permanent: the row dies and the watch shows PagerDuty's error. 429 waits PAGE_RATE_LIMIT_BACKOFF
(or a Retry-After, if one comes); 5xx and connection errors back off exponentially. Resending is
safe: PagerDuty folds events with the same dedup_key into one alert.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from bot.alerts import policy
from bot.clock import Clock
from bot.pagerduty.client import PagerDutyClient
from bot.pagerduty.errors import RateLimited, Rejected, Retryable
from bot.store import Store
from bot.store.pager import EVENT
from bot.store.records import PENDING, OutboxRow

logger = logging.getLogger(__name__)


class PageDelivery:
    def __init__(self, *, store: Store, clock: Clock, client: PagerDutyClient | None) -> None:
        self._store = store
        self._clock = clock
        self._client = client

    async def deliver_once(self) -> None:
        if self._client is None:
            return
        for row in await self._store.page_rows_due(self._clock.now()):
            if not await self._send(row, self._client):
                return  # PagerDuty is rate limiting or unwell: the rest waits for the next cycle

    async def _send(self, row: OutboxRow, client: PagerDutyClient) -> bool:
        now = self._clock.now()
        token = uuid.uuid4().hex
        if not await self._store.claim(row, token, now, policy.PAGE_CLAIM_TTL):
            return True  # another replica has it
        event = row.payload.get(EVENT) or {}
        action = event.get("event_action")
        try:
            await client.send(event)
        except Rejected as error:
            reason = f"PagerDuty refused the {action}: {error.detail}"
            await self._store.mark_dead(row, token, reason, now)
            await self._store.record_page_refused(row.subscription_id, row.channel_id, row.agent, error.detail, now)
            logger.error("%s (%s); shown on /session watches", reason, row.dedup_key)
            return True
        except RateLimited as error:
            wait = timedelta(seconds=error.retry_after) if error.retry_after else policy.PAGE_RATE_LIMIT_BACKOFF
            await self._store.mark_retry(
                row, token, state=PENDING, next_attempt_at=now + wait, error=error.detail, now=now
            )
            logger.warning("PagerDuty rate-limited %s: retrying in %s", row.dedup_key, wait)
            return False
        except Retryable as error:
            await self._retry(row, token, error.detail, now)
            return False
        if not await self._store.mark_page_sent(row, token, self._clock.now()):
            logger.warning("sent %s but the claim had passed to another worker", row.dedup_key)
        logger.info("PagerDuty accepted the %s of %s", action, row.dedup_key)
        return True

    async def _retry(self, row: OutboxRow, token: str, detail: str, now: datetime) -> None:
        attempts = row.attempts + 1
        if attempts >= policy.MAX_ATTEMPTS:
            await self._store.mark_dead(row, token, f"gave up after {attempts} attempts: {detail}", now)
            logger.error("gave up on PagerDuty event %s after %d attempts: %s", row.dedup_key, attempts, detail)
            return
        delay = policy.retry_delay(attempts)
        await self._store.mark_retry(row, token, state=PENDING, next_attempt_at=now + delay, error=detail, now=now)
        logger.warning("PagerDuty event %s failed (%s); retry in %s", row.dedup_key, detail, delay)
