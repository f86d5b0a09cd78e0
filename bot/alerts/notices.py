"""Outage, failed-poll and recovery notices: one per failure streak per channel, keyed by when the
streak began; and one per given-up session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.alerts.messages import NOTICE_BAD_ITEM, NOTICE_OUTAGE, NOTICE_POLL_FAILED, NOTICE_RECOVERY
from bot.store.records import FAILURE_DATA, KIND_NOTICE, MUTED, PENDING, NewPost, PollState, Watch


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


def poll_failed_posts(
    agent: str,
    since: datetime,
    polls: int,
    problem: str,
    watches: Sequence[Watch],
    mutes: Mapping[tuple[str, str], object],
) -> list[NewPost]:
    """Polls keep failing although Pipecat answers: the data, not the network (no outage notice)."""
    return [
        NewPost(
            dedup_key=_key(NOTICE_POLL_FAILED, w, since),
            kind=KIND_NOTICE,
            channel_id=w.channel_id,
            agent=agent,
            payload={"type": NOTICE_POLL_FAILED, "since": since.isoformat(), "polls": polls, "problem": problem},
            subscription_id=w.id,
            state=_state(w, mutes),
        )
        for w in watches
        if not w.broken_reason
    ]


def item_failure_posts(
    agent: str,
    session_id: str,
    polls: int,
    problem: str,
    watches: Sequence[Watch],
    mutes: Mapping[tuple[str, str], object],
) -> list[NewPost]:
    """One session could not be processed in `polls` polls and was recorded as seen."""
    return [
        NewPost(
            dedup_key=f"{NOTICE_BAD_ITEM}:{w.id}:{session_id.lower()}",
            kind=KIND_NOTICE,
            channel_id=w.channel_id,
            agent=agent,
            payload={"type": NOTICE_BAD_ITEM, "session_id": session_id, "polls": polls, "problem": problem},
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
            payload={
                "type": NOTICE_RECOVERY,
                "since": since.isoformat(),
                "until": now.isoformat(),
                "data": state.failure_kind == FAILURE_DATA,
            },
            subscription_id=w.id,
            state=_state(w, mutes),
        )
        for w in watches
        if not w.broken_reason
    ]
