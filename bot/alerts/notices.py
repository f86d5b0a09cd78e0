"""Outage and recovery notices: one per outage per channel, keyed by when the outage began."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.alerts.messages import NOTICE_OUTAGE, NOTICE_RECOVERY
from bot.store.records import KIND_NOTICE, MUTED, PENDING, NewPost, PollState, Watch


def _key(kind: str, watch: Watch, since: datetime) -> str:
    return f"{kind}:{watch.id}:{int(since.timestamp())}"


def _state(watch: Watch, mutes: Mapping[tuple[str, str], object]) -> str:
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
            payload={"type": NOTICE_OUTAGE, "since": since.isoformat(), "problem": problem},
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
            payload={"type": NOTICE_RECOVERY, "since": since.isoformat(), "until": now.isoformat()},
            subscription_id=w.id,
            state=_state(w, mutes),
        )
        for w in watches
        if not w.broken_reason
    ]
