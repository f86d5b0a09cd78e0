"""Delivering PagerDuty events from the outbox: claim (committed) → fence → send → apply.

The same state machine as the Slack posts (bot/alerts/delivery/transitions.py): each outcome becomes a
`transitions` outcome, `next_state` decides, `Store.apply` writes it fenced. The oldest unfinished
event of each alert is sent (events of one alert stay in order). A 400 is permanent: the row dies
and the watch shows PagerDuty's error. 429 waits PAGE_RATE_LIMIT_BACKOFF (or a Retry-After, if one
comes) without using the give-up budget; 5xx and connection errors back off exponentially for
OUTBOX_GIVE_UP_HOURS. Resending is safe: PagerDuty folds events with the same dedup_key into one
alert, so a 5xx is "not sent" (pending), never "uncertain".

Two things are settled at the last moment, inside the client's send: the fence (the claim must
still have PAGE_CLAIM_SAFETY_MARGIN to run, as for Slack posts), so a replica paused past its claim
sends nothing once another has taken the row over (its stale trigger, landing after the resolve,
would open a new page); and the routing key, the one the alert was opened with.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from bot.alerts import policy
from bot.alerts.delivery import transitions
from bot.alerts.paging.ports import PageDeliveryStore
from bot.clock import Clock
from bot.ops.events import PipelineEvents
from bot.pagerduty.client import PagerDutyClient
from bot.pagerduty.errors import Fenced, PagerDutyError, RateLimited, Rejected
from bot.store.outbox import PAGERDUTY_DESTINATION
from bot.store.pager import ALERT_ID, EVENT
from bot.store.records import OutboxRow, Transition

logger = logging.getLogger(__name__)


class PageDelivery:
    def __init__(
        self,
        *,
        store: PageDeliveryStore,
        clock: Clock,
        client: PagerDutyClient | None,
        give_up_after: timedelta,
        events: PipelineEvents,
    ) -> None:
        """`give_up_after`: OUTBOX_GIVE_UP_HOURS, as for Slack posts (no default: the composition
        root passes the setting)."""
        self._store = store
        self._events = events
        self._clock = clock
        self._client = client
        self._give_up_after = give_up_after
        #: PagerDuty's lease (channel_state, PAGERDUTY_DESTINATION) is held under this name.
        self._owner = f"pagerduty-{uuid.uuid4().hex[:16]}"
        #: PagerDuty's failed sends in a row, read under its lease (sets the shared back-off).
        self._streak = 0

    async def deliver_once(self) -> None:
        if self._client is None:
            return
        # One shared back-off for PagerDuty (transitions.hold_after), probed under its lease: while
        # it is unwell one event per back-off tries it, and the first it takes brings the rest due.
        now = self._clock.now()
        if not await self._store.acquire_channel(PAGERDUTY_DESTINATION, self._owner, now, policy.PAGERDUTY_LEASE):
            return  # backed off, or another replica is sending
        try:
            self._streak = await self._store.destination_streak(PAGERDUTY_DESTINATION)
            for row in await self._store.page_rows_due(self._clock.now()):
                if not await self._send(row, self._client):
                    return  # PagerDuty is rate limiting or unwell: the rest waits for the next cycle
        finally:
            await self._store.release_channel(PAGERDUTY_DESTINATION, self._owner)

    async def _send(self, row: OutboxRow, client: PagerDutyClient) -> bool:
        now = self._clock.now()
        token = uuid.uuid4().hex
        if not await self._store.claim(row, token, now, policy.PAGE_CLAIM_TTL):
            return True  # another replica has it
        self._events.post_claimed(
            agent=row.agent, session=row.session_id or "", dedup_key=row.dedup_key, channel=row.channel_id
        )
        event = row.payload.get(EVENT) or {}
        action = event.get("event_action")
        alert_id = row.payload.get(ALERT_ID)
        stored_key = await self._store.pager_routing_key(int(alert_id)) if alert_id is not None else None
        try:
            await client.send(
                event,
                # An alert opened before keys were kept goes to today's key (the only one known).
                routing_key=stored_key or client.routing_key,
                fence=lambda: self._fence(row, token),
            )
        except Fenced:
            await self._apply(row, token, transitions.ClaimExpired())
            logger.warning(
                "not sending the %s of %s: the claim ran out (this worker was stalled?); whoever holds it sends it",
                action,
                row.dedup_key,
            )
            return False
        except PagerDutyError as error:
            outcome = page_outcome(error, action)
            transition = await self._apply(row, token, outcome)
            match outcome:
                case transitions.Refused(reason):
                    await self._store.record_page_refused(
                        row.subscription_id, row.channel_id, row.agent, error.detail, now
                    )
                    logger.error("%s (%s); shown on /session watches", reason, row.dedup_key)
                    return True
                case transitions.RateLimited(retry_after):
                    logger.warning(
                        "PagerDuty rate-limited %s: retrying in %s", row.dedup_key, timedelta(seconds=retry_after)
                    )
                case _:
                    logger.warning("PagerDuty event %s failed (%s): %s", row.dedup_key, error.detail, transition.state)
            return False  # PagerDuty is rate limiting or unwell: the rest waits for the next cycle
        await self._apply(row, token, transitions.Posted(""))  # (logs a claim that passed on meanwhile)
        logger.info("PagerDuty accepted the %s of %s", action, row.dedup_key)
        return True

    async def _fence(self, row: OutboxRow, token: str) -> bool:
        now = self._clock.now()
        return await self._store.confirm_page_claim(
            row, token, now, ttl=policy.PAGE_CLAIM_TTL, margin=policy.PAGE_CLAIM_SAFETY_MARGIN
        )

    async def _apply(self, row: OutboxRow, token: str, outcome: transitions.Outcome) -> Transition:
        now = self._clock.now()
        transition = transitions.next_state(
            row, outcome, now=now, give_up_after=self._give_up_after, streak=self._streak
        )
        if not await self._store.apply(row, token, transition, now):
            logger.warning("PagerDuty event %s: the claim had passed to another worker", row.dedup_key)
        elif transition.streak is not None:
            self._streak = transition.streak
        return transition


def page_outcome(error: PagerDutyError, action: object) -> transitions.Failed:
    """PagerDuty's answer to the `action` event as a delivery outcome: the one place its client's
    errors (bot/pagerduty/errors.py) meet the outbox's vocabulary. Nothing is ever "maybe sent":
    resending is safe, PagerDuty folds events with the same dedup_key into one alert."""
    if isinstance(error, Rejected):
        return transitions.Refused(f"PagerDuty refused the {action}: {error.detail}")
    if isinstance(error, RateLimited):
        wait = timedelta(seconds=error.retry_after) if error.retry_after else policy.PAGE_RATE_LIMIT_BACKOFF
        return transitions.RateLimited(wait.total_seconds(), error.detail)
    return transitions.NotSent(error.detail)  # a 5xx, PagerDuty unreachable (Retryable)
