"""Turns outbox rows and incidents into Block Kit messages (the builders live in bot/blocks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.alerts.explanations import incident_triage, reply_cause
from bot.alerts.health_messages import HEALTH_KINDS, health_message
from bot.alerts.payloads import peak_memory, session_from_payload
from bot.blocks.alert_notices import bad_item_notice, outage_notice, poll_failed_notice, recovery_notice
from bot.blocks.alerts import IncidentView, RolledSession, incident_parent, rollup_reply, session_reply
from bot.blocks.digest import digest_message
from bot.blocks.message import Message
from bot.clock import Clock
from bot.store import Store
from bot.store.incidents import parent_dedup_key
from bot.store.records import KIND_ALERT, KIND_DIGEST, KIND_NOTICE, KIND_PARENT, KIND_ROLLUP, Incident, OutboxRow

NOTICE_OUTAGE = "outage"
NOTICE_RECOVERY = "recovery"
NOTICE_POLL_FAILED = "poll_failed"
NOTICE_BAD_ITEM = "bad_item"

#: The agent-health slot of a parent: plain text about the agent's status, or None (filled by the
#: agent-status reader; escaped by the builder).
HealthSource = Callable[[str], Awaitable[str | None]]


async def no_health(agent: str) -> str | None:
    return None


class MessageFactory:
    def __init__(self, store: Store, clock: Clock, health: HealthSource = no_health) -> None:
        self._store = store
        self._clock = clock
        self._health = health

    async def for_row(self, row: OutboxRow) -> tuple[Message, int | None]:
        """The message to post for `row`, and (for a parent) the incident version it shows."""
        if row.kind == KIND_ALERT:
            session = session_from_payload(row.payload)
            sid = session.session_id.lower()
            cause = reply_cause((await self._store.session_causes(row.agent, [sid])).get(sid))
            peak = peak_memory(row.payload)
            return session_reply(row.agent, session, row.dedup_key, peak_memory=peak, cause=cause), None
        if row.kind == KIND_ROLLUP:
            return rollup_reply(row.agent, _rolled(row.payload), row.dedup_key), None
        if row.kind == KIND_NOTICE:
            return _notice(row), None
        if row.kind in HEALTH_KINDS:
            return health_message(row), None
        if row.kind == KIND_DIGEST:
            return digest_message(row.payload, row.dedup_key), None
        if row.kind == KIND_PARENT and row.incident_id is not None:
            incident = await self._store.incident(row.incident_id)
            if incident is not None:
                return await self.parent(incident), incident.version
        raise ValueError(f"outbox row {row.id} of kind {row.kind!r} cannot be rendered")

    async def parent(self, incident: Incident) -> Message:
        """The parent as it should look now: counts, ack, the channel's mute and group mention."""
        now = self._clock.now()
        watch = await self._store.watch(incident.channel_id, incident.agent)
        mute = await self._store.active_mute(incident.channel_id, incident.agent, now)
        causes, change = await incident_triage(self._store, incident, now)
        view = IncidentView(
            agent=incident.agent,
            session_count=incident.session_count,
            first_failure_at=incident.first_failure_at,
            last_failure_at=incident.last_failure_at,
            statuses=incident.statuses,
            latest_session_id=incident.latest_session_id,
            group=watch.group if watch else None,
            acknowledged_by=incident.ack_by,
            acknowledged_at=incident.ack_at,
            muted_until=mute.until if mute else None,
            closed=incident.closed_at is not None,
            causes=causes,
            change=change,
            health=await self._health(incident.agent),
        )
        return incident_parent(view, parent_dedup_key(incident.id))


def _rolled(payload: dict[str, Any]) -> list[RolledSession]:
    return [
        RolledSession(str(s["session_id"]), str(s["status"]), datetime.fromisoformat(str(s["failed_at"])))
        for s in payload.get("sessions", [])
    ]


def _notice(row: OutboxRow) -> Message:
    payload = row.payload
    kind = payload.get("type")
    polls = int(payload.get("polls") or 0)
    if kind == NOTICE_BAD_ITEM:
        session = str(payload.get("session_id", ""))
        return bad_item_notice(row.agent, session, polls, str(payload.get("problem", "")), row.dedup_key)
    since = datetime.fromisoformat(str(payload["since"]))
    if kind == NOTICE_POLL_FAILED:
        return poll_failed_notice(row.agent, since, polls, str(payload.get("problem", "")), row.dedup_key)
    if kind == NOTICE_RECOVERY:
        until = datetime.fromisoformat(str(payload["until"]))
        return recovery_notice(row.agent, since, until, row.dedup_key, data=bool(payload.get("data")))
    return outage_notice(row.agent, since, str(payload.get("problem", "")), row.dedup_key)
