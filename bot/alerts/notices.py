"""Outage, failed-poll and recovery notices: one per failure streak per channel, keyed by when the
streak began; and one per given-up session."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from bot.alerts.keys import bad_item_key, notice_key
from bot.alerts.messages import NOTICE_OUTAGE, NOTICE_POLL_FAILED, NOTICE_RECOVERY
from bot.store.payloads import NoticePayload
from bot.store.records import FAILURE_DATA, KIND_NOTICE, MUTED, PENDING, NewPost, OutboxState, PollState, Watch


def _key(kind: str, watch: Watch, since: datetime) -> str:
    return notice_key(kind, watch.id, since)


def _state(watch: Watch, mutes: Mapping[tuple[str, str], object]) -> OutboxState:
    return MUTED if (watch.channel_id, watch.agent) in mutes else PENDING


def _fan_out(
    agent: str,
    payload: NoticePayload,
    watches: Sequence[Watch],
    mutes: Mapping[tuple[str, str], object],
    key: Callable[[Watch], str],
) -> list[NewPost]:
    """The same notice for each working watch of the agent, muted where the channel muted it."""
    return [
        NewPost(
            dedup_key=key(w),
            kind=KIND_NOTICE,
            channel_id=w.channel_id,
            agent=agent,
            payload=payload,
            subscription_id=w.id,
            state=_state(w, mutes),
        )
        for w in watches
        if not w.broken_reason
    ]


def outage_posts(
    agent: str, since: datetime, problem: str, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object]
) -> list[NewPost]:
    payload = NoticePayload(type="outage", since=since, problem=problem)
    return _fan_out(agent, payload, watches, mutes, lambda w: _key(NOTICE_OUTAGE, w, since))


def poll_failed_posts(
    agent: str,
    since: datetime,
    polls: int,
    problem: str,
    watches: Sequence[Watch],
    mutes: Mapping[tuple[str, str], object],
) -> list[NewPost]:
    """Polls keep failing although Pipecat answers: the data, not the network (no outage notice)."""
    payload = NoticePayload(type="poll_failed", since=since, polls=polls, problem=problem)
    return _fan_out(agent, payload, watches, mutes, lambda w: _key(NOTICE_POLL_FAILED, w, since))


def item_failure_posts(
    agent: str,
    session_id: str,
    polls: int,
    problem: str,
    watches: Sequence[Watch],
    mutes: Mapping[tuple[str, str], object],
) -> list[NewPost]:
    """One session could not be processed in `polls` polls and was recorded as seen."""
    payload = NoticePayload(type="bad_item", session_id=session_id, polls=polls, problem=problem)
    return _fan_out(agent, payload, watches, mutes, lambda w: bad_item_key(w.id, session_id))


def recovery_posts(
    agent: str, state: PollState, watches: Sequence[Watch], mutes: Mapping[tuple[str, str], object], now: datetime
) -> list[NewPost]:
    since = state.outage_since or now
    payload = NoticePayload(type="recovery", since=since, until=now, data=state.failure_kind == FAILURE_DATA)
    return _fan_out(agent, payload, watches, mutes, lambda w: _key(NOTICE_RECOVERY, w, since))
