"""Outage, failed-poll and recovery notices: one per failure streak per channel, keyed by when the
streak began; and one per given-up session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.alerts.fanout import Mutes, fan_out
from bot.contracts.keys import bad_item_key, notice_key
from bot.contracts.notices import NoticeKind
from bot.store.payloads import NoticePayload
from bot.store.records import FAILURE_DATA, NewPost, OutboxKind, PollState, Watch


def _key(kind: str, watch: Watch, since: datetime) -> str:
    return notice_key(kind, watch.id, since)


def outage_posts(agent: str, since: datetime, problem: str, watches: Sequence[Watch], mutes: Mutes) -> list[NewPost]:
    payload = NoticePayload(type=NoticeKind.OUTAGE, since=since, problem=problem)
    return fan_out(agent, OutboxKind.NOTICE, watches, mutes, lambda w: (_key(NoticeKind.OUTAGE, w, since), payload))


def poll_failed_posts(
    agent: str, since: datetime, polls: int, problem: str, watches: Sequence[Watch], mutes: Mutes
) -> list[NewPost]:
    """Polls keep failing although Pipecat answers: the data, not the network (no outage notice)."""
    payload = NoticePayload(type=NoticeKind.POLL_FAILED, since=since, polls=polls, problem=problem)
    return fan_out(
        agent, OutboxKind.NOTICE, watches, mutes, lambda w: (_key(NoticeKind.POLL_FAILED, w, since), payload)
    )


def item_failure_posts(
    agent: str, session_id: str, polls: int, problem: str, watches: Sequence[Watch], mutes: Mutes
) -> list[NewPost]:
    """One session could not be processed in `polls` polls and was recorded as seen."""
    payload = NoticePayload(type=NoticeKind.BAD_ITEM, session_id=session_id, polls=polls, problem=problem)
    return fan_out(agent, OutboxKind.NOTICE, watches, mutes, lambda w: (bad_item_key(w.id, session_id), payload))


def recovery_posts(
    agent: str, state: PollState, watches: Sequence[Watch], mutes: Mutes, now: datetime
) -> list[NewPost]:
    since = state.outage_since or now
    payload = NoticePayload(type=NoticeKind.RECOVERY, since=since, until=now, data=state.failure_kind == FAILURE_DATA)
    return fan_out(agent, OutboxKind.NOTICE, watches, mutes, lambda w: (_key(NoticeKind.RECOVERY, w, since), payload))
