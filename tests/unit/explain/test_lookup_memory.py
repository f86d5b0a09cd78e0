"""Lookups keep final causes in memory: a failed session looked up again during an incident costs
no database read, a cause still pending is read again, and the memory is bounded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.explain import lookup
from bot.explain.lookup import LookupCauses
from bot.pipecat.models import Session
from bot.store.records import CAUSE_FOUND, SessionCause
from sandbox.pipecat.simulator import SimClock

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class CountingCauses:
    """The cause cache's read, counted (the only store method a cached lookup calls)."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.reads = 0

    async def session_causes(self, agent: str, session_ids: Iterable[str]) -> dict[str, SessionCause]:
        self.reads += 1
        return {
            sid: SessionCause(agent, sid, self.state, T0, None, "fp", "quota exceeded", ("line",), 1)
            for sid in session_ids
        }


def failed(sid: str) -> Session:
    return Session.model_validate(
        {"sessionId": sid, "createdAt": "2026-12-06T08:59:00Z", "endedAt": "2026-12-06T09:00:00Z",
         "completionStatus": "HTTP_ERROR"}
    )  # fmt: skip


def lookups(store: CountingCauses) -> LookupCauses:
    fake: Any = store  # the test double stands in for the store's cause reads only
    return LookupCauses(store=fake, pipecat=fake, clock=SimClock(T0), wait_seconds=0.1)


async def test_a_final_cause_is_read_once_however_often_the_session_is_looked_up() -> None:
    store = CountingCauses(CAUSE_FOUND)
    causes = lookups(store)
    sid = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
    shown = [await causes.cause_of("voice-bot", failed(sid)) for _ in range(5)]
    assert store.reads == 1
    assert all(c is not None and c.label == "quota exceeded" for c in shown)


async def test_a_session_that_did_not_fail_reads_nothing() -> None:
    store = CountingCauses(CAUSE_FOUND)
    ok = Session.model_validate(
        {"sessionId": "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a12", "completionStatus": "HTTP_COMPLETED",
         "endedAt": "2026-12-06T09:00:00Z"}
    )  # fmt: skip
    assert await lookups(store).cause_of("voice-bot", ok) is None and store.reads == 0


async def test_the_memory_is_bounded_and_forgets_the_least_recently_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookup, "FINAL_CAUSES_KEPT", 2)
    store = CountingCauses(CAUSE_FOUND)
    causes = lookups(store)
    a, b, c = (f"0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a2{i}" for i in range(3))
    for sid in (a, b, a, c):  # c pushes out b, the least recently looked up
        await causes.cause_of("voice-bot", failed(sid))
    assert store.reads == 3
    await causes.cause_of("voice-bot", failed(a))
    assert store.reads == 3
    await causes.cause_of("voice-bot", failed(b))
    assert store.reads == 4
