"""Incidents under the channel lease: closing quiet ones, routing new alerts into them, keeping
parents current, and telling the channel what could not be delivered.

Everything here runs while holding the channel's delivery lease, so one worker decides per
channel. The decisions themselves are pure (`decide.plan_routing`, `transitions.next_state`).

Parent edits have ONE path, `_render`: it reads the incident when it renders (so it always shows
the latest state), fences (`Store.confirm_render`: the channel lease is still ours with a margin,
and nobody showed this version or a newer one), edits the parent, records the version it showed,
and renders again if the incident moved meanwhile. Buttons (ack, mute, unmute) only change the
database and then ask for a render under the lease (`refresh_now`); if the delivery worker holds
the lease it renders between two posts. A stale render - even one of a worker paused between
rendering and editing past its lease - can therefore never land after a newer one.

An edit Slack refuses: `message_not_found` (a person deleted the parent) gives the incident a new
parent post, so later failures thread where they are seen; `channel_not_found`/`is_archived` drop
that edit for good (and hold the channel); other channel-level refusals and Slack trouble hold the
channel on its shared back-off (`transitions.hold_after`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.delivery import transitions
from bot.alerts.delivery.events import note_end
from bot.alerts.delivery.messages import MessageFactory
from bot.alerts.delivery.slack_errors import SlackFailure, slack_call
from bot.alerts.incidents import decide
from bot.alerts.incidents.ports import KeeperStore
from bot.alerts.payloads import alert_body, session_of
from bot.alerts.rates.watch import failure_now
from bot.clock import Clock
from bot.contracts import keys
from bot.contracts.slack_errors import EDIT_TARGET_GONE, MESSAGE_NOT_FOUND
from bot.ops.events import PipelineEvents
from bot.rates.policy import RateRules
from bot.store import LeaseLost
from bot.store.payloads import ParentPayload, SummaryPayload, UndeliveredItem
from bot.store.records import Incident, NewPost, OutboxKind, OutboxRow, SessionCause, Watch

logger = logging.getLogger(__name__)

#: Renders of one parent in a row when it keeps changing while being edited.
MAX_RENDERS = 3


class IncidentKeeper:
    def __init__(
        self,
        *,
        store: KeeperStore,
        slack: AsyncWebClient,
        clock: Clock,
        messages: MessageFactory,
        window: timedelta,
        owner: str,
        give_up_after: timedelta,
        wake_delivery: Callable[[], None],
        events: PipelineEvents,
        rules: RateRules,
    ) -> None:
        """`rules`: the rate detectors' (a periodic roll-up's failure rate is the failure-rate
        detector's reading)."""
        self._store = store
        self._events = events
        self._rules = rules
        self._slack = slack
        self._clock = clock
        self._messages = messages
        self.window = window
        self._owner = owner
        self._give_up_after = give_up_after
        self.wake_delivery = wake_delivery

    async def close_quiet(self, channel_id: str) -> int:
        closed = await self._store.close_quiet_incidents(channel_id, self._owner, self._clock.now(), self.window)
        if closed:
            logger.info("closed %d quiet incident(s) in %s", closed, channel_id)
        return closed

    async def route(self, channel_id: str) -> None:
        """Assign the channel's new alerts to incidents (opening them as needed) or mute them; a
        busy agent's held failures go out as one roll-up once their period is up."""
        await self.flush_held(channel_id)
        rows = await self._store.unrouted_alerts(channel_id)
        if not rows:
            return
        now = self._clock.now()
        watches: dict[str, Watch | None] = {}
        failures: list[decide.Failure] = []
        for row in rows:
            if row.agent not in watches:
                watches[row.agent] = await self._store.watch(channel_id, row.agent)
            watch = watches[row.agent]
            # (A broken watch's alerts are routed as usual: the channel's next probe posts them.)
            if watch is None or watch.id != row.subscription_id:
                await self._finish(row, transitions.Dropped("unwatched"))
                continue
            try:
                failures.append(failure_of(row))
            except ValueError as error:  # an unreadable payload (pydantic's ValidationError is a ValueError)
                logger.exception("outbox row %d has an unreadable payload", row.id)
                await self._finish(row, transitions.Unrenderable(type(error).__name__))
        agents = {f.agent for f in failures}
        muted = {a for a in agents if await self._store.active_mute(channel_id, a, now) is not None}
        current: dict[str, Incident] = {}
        for incident in await self._store.open_incidents(channel_id):
            current[incident.agent] = incident  # ordered by id: the newest open one wins
        subscription_ids = {agent: w.id if w else None for agent, w in watches.items()}
        busy = await self._store.busy_agents(sorted(agents - muted), policy.BACKGROUND_MIN_FAILURES_PER_HOUR)
        plan = decide.plan_routing(
            channel_id, failures, current, muted, now, self.window, subscription_ids, held_agents=busy
        )
        await self._store.apply_routing(channel_id, self._owner, plan.changes, plan.muted_row_ids, now)
        if plan.muted_row_ids:
            logger.info("%d alert(s) in %s recorded without posting: muted", len(plan.muted_row_ids), channel_id)

    async def flush_held(self, channel_id: str) -> int:
        """Post the held failures of each incident whose roll-up period is up (or that closed) as
        one roll-up reply listing every one of them. Returns the roll-ups enqueued."""
        held = await self._store.held_rollups(channel_id)
        posted = 0
        now = self._clock.now()
        for incident_id, rows in sorted(held.items()):
            incident = await self._store.incident(incident_id)
            closed = incident is None or incident.closed_at is not None
            if not decide.held_rollup_due(rows[0].created_at, now, closed=closed, every=policy.BACKGROUND_ROLLUP_EVERY):
                continue
            readable = []
            for row in rows:
                try:
                    readable.append(failure_of(row))
                except ValueError:  # an unreadable payload (pydantic's ValidationError is a ValueError)
                    logger.exception("held outbox row %d has an unreadable payload; left out of its roll-up", row.id)
            if not readable:
                continue
            agent = rows[0].agent
            rate, causes = await self._background(agent, readable, now)
            rollup = NewPost(
                keys.rollup_key(rows[0].id),
                OutboxKind.ROLLUP,
                channel_id,
                agent,
                decide.periodic_rollup_payload(readable, rate, causes),
                rows[0].subscription_id,
                incident_id=incident_id,
            )
            if await self._store.post_held_rollup(rollup, [r.id for r in rows], now):
                posted += 1
                logger.info("%s: %d background failure(s) rolled up in %s", rows[0].agent, len(readable), channel_id)
        return posted

    async def _background(
        self, agent: str, rolled: list[decide.Failure], now: datetime
    ) -> tuple[str | None, list[SessionCause]]:
        """What a periodic roll-up says beside its sessions: the agent's failure rate against its
        usual (the rate counts) and the cached causes of its newest ROLLUP_CAUSE_READS sessions
        (no Pipecat call). Neither is worth failing the roll-up for."""
        rate: str | None = None
        try:
            rate = await failure_now(self._store, agent, now, self._rules)
        except Exception:  # broad: the rate is extra, the held failures must still go out
            logger.exception("reading the failure rate of %s failed; its roll-up goes without it", agent)
        newest = sorted(rolled, key=lambda f: (f.failed_at, f.row_id))[-policy.ROLLUP_CAUSE_READS :]
        try:
            causes = list((await self._store.session_causes(agent, [f.session_id for f in newest])).values())
        except Exception:  # broad: the causes are extra, the held failures must still go out
            logger.exception("reading the causes of %s failed; its roll-up goes without them", agent)
            causes = []
        return rate, causes

    async def _finish(self, row: OutboxRow, outcome: transitions.Outcome) -> None:
        now = self._clock.now()
        transition = transitions.next_state(row, outcome, now=now, give_up_after=self._give_up_after)
        if await self._store.apply(row, None, transition, now):
            note_end(self._events, row, transition.state)

    async def summarise_undelivered(self, channel_id: str) -> None:
        """Given-up alerts of the channel go into ONE summary post, once delivery works again (no
        post of the channel is still failing): a new one, or the one still waiting to be posted."""
        given_up = await self._store.unreported(channel_id)
        if not given_up or await self._store.in_trouble(channel_id):
            return
        now = self._clock.now()
        listed = [row.id for row in given_up]
        existing = await self._store.open_summary(channel_id)
        previous = existing.body() if existing is not None else None
        if existing is not None and isinstance(previous, SummaryPayload):
            grown = _summary(channel_id, given_up, now, previous)
            if await self._store.save_summary(self._owner, grown, existing, listed, now):
                logger.warning("%d more given-up alert(s) of %s in its undelivered summary", len(listed), channel_id)
                return
        # No summary waiting (or it started being posted meanwhile): a new one.
        await self._store.save_summary(self._owner, _summary(channel_id, given_up, now, None), None, listed, now)
        logger.warning("%d given-up alert(s) of %s go into an undelivered summary", len(listed), channel_id)

    async def render_dirty(self, channel_id: str, owner: str) -> int:
        """Edit every parent of the channel whose incident changed (`owner` holds the channel
        lease); how many edits Slack took. Raises SlackFailure to stop the pass, LeaseLost when the
        lease passed to another worker."""
        edited = 0
        for incident in await self._store.dirty_incidents(channel_id):
            edited += await self._render(incident.id, owner)
        return edited

    async def _render(self, incident_id: int, owner: str) -> int:
        """The one path that edits a parent: always the latest state, fenced, then re-check the version."""
        edited = 0
        for _ in range(MAX_RENDERS):
            incident = await self._store.incident(incident_id)
            if incident is None or incident.parent_ts is None or incident.version <= incident.rendered_version:
                return edited  # gone, not posted yet (the post shows the current state), or up to date
            message = await self._messages.parent(incident)
            if not await self._store.confirm_render(
                incident.id,
                incident.version,
                incident.parent_ts,
                owner,
                self._clock.now(),
                lease_ttl=policy.CHANNEL_LEASE,
                margin=policy.CLAIM_SAFETY_MARGIN,
            ):
                if await self._shown_elsewhere(incident):
                    continue  # another worker showed this version or a newer one: nothing to undo
                raise LeaseLost(f"delivery lease of {incident.channel_id} lost before editing incident {incident.id}")
            try:
                await slack_call(
                    self._slack.chat_update(
                        channel=incident.channel_id, ts=incident.parent_ts, **message.to_post_kwargs()
                    )
                )
            except SlackFailure as error:
                refused = error.outcome
                if not isinstance(refused, transitions.Refused):
                    raise  # a 429 or Slack in trouble: the edit stays due (the incident stays dirty)
                if refused.reason == MESSAGE_NOT_FOUND:
                    await self._replace_parent(incident)
                    return edited
                if refused.reason in EDIT_TARGET_GONE:
                    # The channel is gone or archived: this edit can never land (the channel is held).
                    await self._store.mark_rendered(incident.id, incident.version)
                    raise
                if refused.channel_level:
                    raise
                # The parent cannot be edited (not ours, too long ...): nothing will fix that, stop trying.
                logger.warning("cannot edit the parent of incident %d: %s", incident.id, refused.reason)
            else:
                edited += 1
            await self._store.mark_rendered(incident.id, incident.version)
        return edited

    async def _shown_elsewhere(self, rendered: Incident) -> bool:
        current = await self._store.incident(rendered.id)
        return (
            current is None or current.parent_ts != rendered.parent_ts or current.rendered_version >= rendered.version
        )

    async def _replace_parent(self, incident: Incident) -> None:
        """A person deleted the incident's parent: post a new one (the incident's later failures
        thread under it, where they are seen, instead of under a message nobody sees)."""
        assert incident.parent_ts is not None
        watch = await self._store.watch(incident.channel_id, incident.agent)
        parent = NewPost(
            dedup_key=keys.replacement_parent_key(incident.id, incident.parent_ts),
            kind=OutboxKind.PARENT,
            channel_id=incident.channel_id,
            agent=incident.agent,
            payload=ParentPayload(),
            subscription_id=watch.id if watch else None,
        )
        if await self._store.replace_parent(incident.id, incident.parent_ts, parent, self._clock.now()):
            logger.warning(
                "the parent of incident %d in %s was deleted: posting a new one for its later failures",
                incident.id,
                incident.channel_id,
            )
            self.wake_delivery()  # (found by a button's edit: the new parent is posted now)

    async def refresh_now(self, incident: Incident | None) -> None:
        """After a button or command changed the incident: render it now under the channel lease
        if it is free, else leave it to the worker holding it (it renders between posts)."""
        if incident is None:
            return
        owner = f"{self._owner[:40]}-edit-{secrets.token_hex(4)}"
        now = self._clock.now()
        if not await self._store.acquire_channel(incident.channel_id, owner, now, policy.CHANNEL_LEASE):
            self.wake_delivery()
            return
        try:
            await self._render(incident.id, owner)
        except SlackFailure as error:
            logger.warning("could not update incident %d now (%s); will retry", incident.id, error.detail)
            self.wake_delivery()
        except LeaseLost:
            self.wake_delivery()  # the delivery worker that holds the channel now renders it
        finally:
            await self._store.release_channel(incident.channel_id, owner)

    async def channel_failure(self, channel_id: str, error: SlackFailure) -> None:
        """A failure outside a row's post (an edit): the channel backs off - by a 429's wait, or on
        its shared back-off (trouble, or a refused channel whose watches show it broken)."""
        now = self._clock.now()
        if isinstance(error.outcome, transitions.RateLimited):
            await self._store.back_off_channel(channel_id, now + timedelta(seconds=error.outcome.retry_after))
            return
        streak = await self._store.destination_streak(channel_id)
        hold = transitions.hold_after(error.outcome, streak=streak, now=now)
        if hold is None:
            logger.warning("updating messages in %s failed (%s); will retry", channel_id, error.detail)
            return
        await self._store.hold_destination(channel_id, hold.until, hold.streak, hold.broken, now)
        if hold.broken is not None:
            logger.error(
                "Slack refuses %s (%s): its watches show it broken; probed again at %s",
                channel_id,
                hold.broken,
                hold.until.isoformat(timespec="seconds"),
            )
        else:
            logger.warning(
                "updating messages in %s failed (%s); the channel waits until %s",
                channel_id,
                error.detail,
                hold.until.isoformat(timespec="seconds"),
            )


def _summary(channel_id: str, rows: list[OutboxRow], now: datetime, previous: SummaryPayload | None) -> NewPost:
    items = [*(previous.items if previous else []), *(_item(row) for row in rows)]
    ends = [row.given_up_at or now for row in rows] + ([previous.until] if previous else [])
    return NewPost(
        dedup_key=keys.summary_key(channel_id, rows[0].id),
        kind=OutboxKind.SUMMARY,
        channel_id=channel_id,
        agent=rows[0].agent,
        payload=SummaryPayload(since=min(i.created_at for i in items), until=max(ends), items=items),
    )


def _item(row: OutboxRow) -> UndeliveredItem:
    finding = row.payload.get("finding") if row.kind == OutboxKind.HEALTH else None
    if row.kind == OutboxKind.RATE:
        finding = {"title": (row.payload.get("episode") or {}).get("headline")}  # what the rate alert said
    title = finding.get("title") if isinstance(finding, dict) else None
    return UndeliveredItem(
        row_id=row.id,
        agent=row.agent,
        what=str(row.kind),
        session_id=row.session_id,
        created_at=row.created_at,
        reason=row.last_error or "",
        detail=str(title) if title else None,
    )


def failure_of(row: OutboxRow) -> decide.Failure:
    """The routing facts of an alert row."""
    session = session_of(alert_body(row))
    failed_at: datetime = session.ended_at or session.created_at or row.created_at
    status = session.completion_status or session.end_state or "unknown"
    return decide.Failure(row.id, row.agent, session.session_id, status, failed_at)
