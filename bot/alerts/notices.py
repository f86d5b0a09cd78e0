"""Outage and recovery notices: one per outage per channel, keyed by when the outage began."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.alerts.keys import notice_key
from bot.alerts.messages import NOTICE_OUTAGE, NOTICE_RECOVERY
from bot.store.payloads import NoticePayload
from bot.store.records import KIND_NOTICE, MUTED, PENDING, NewPost, OutboxState, PollState, Watch


def _key(kind: str, watch: Watch, since: datetime) -> str:
    return notice_key(kind, watch.id, since)


def _state(watch: Watch, mutes: Mapping[tuple[str, str], object]) -> OutboxState:
    return MUTED if (watch.channel_id, watch.agent) in mutes else PENDING


def outage_posts(
    agent: str, since: datetime, problem: str, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]
) -> list[NewPost]:
    return [
        NewPost(
            dedup_key=_key(NOTICE_OUTAGE, w, since),
            kind=KIND_NOTICE,
            channel_id=w.channel_id,
            agent=agent,
            payload=NoticePayload(type="outage", since=since, problem=problem),
            subscription_id=w.id,
            state=_state(w, mutes),
        )
        for w in watches
        if not w.broken_reason
    ]


def recovery_posts(
    agent: str, state: PollState, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object], now: datetime
) -> list[NewPost]:
    since = state.outage_since or now
    return [
        NewPost(
            dedup_key=_key(NOTICE_RECOVERY, w, since),
            kind=KIND_NOTICE,
            channel_id=w.channel_id,
            agent=agent,
            payload=NoticePayload(type="recovery", since=since, until=now),
            subscription_id=w.id,
            state=_state(w, mutes),
        )
        for w in watches
        if not w.broken_reason
    ]
