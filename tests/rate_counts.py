"""Writing an agent's rate counts straight through the store (what a poll's recording transaction
does), for tests that need days of counts without days of polls."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.pipecat.models import Session
from bot.store import Store

FAILED = "HTTP_ERROR"
GOOD = "HTTP_COMPLETED"
STATUSES = frozenset({FAILED})


def ended_session(ended_at: datetime, status: str, session_id: str | None = None) -> Session:
    return Session.model_validate(
        {
            "sessionId": session_id or str(uuid.uuid4()),
            # Started in the minute it ended: one minute row per call of `count_at`.
            "createdAt": ended_at.replace(second=0, microsecond=0).isoformat(),
            "endedAt": (ended_at.replace(second=0, microsecond=0) + timedelta(seconds=30)).isoformat(),
            "completionStatus": status,
        }
    )


async def count_ended(store: Store, agent: str, sessions: Sequence[Session], now: datetime) -> None:
    """Count `sessions` as ended (and started), in one transaction, as a poll at `now` would."""
    async with store.engine.begin() as conn:
        await store.count_sessions(conn, agent, sessions, sessions, STATUSES, now)


async def count_at(store: Store, agent: str, ended_at: datetime, *, good: int = 0, failed: int = 0) -> None:
    sessions = [ended_session(ended_at, GOOD) for _ in range(good)]
    sessions += [ended_session(ended_at, FAILED) for _ in range(failed)]
    await count_ended(store, agent, sessions, ended_at)
