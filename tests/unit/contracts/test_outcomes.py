"""One definition of "failed" (bot.contracts.outcomes): its table, and every pure surface that counts
or shows failed sessions agreeing with it on the same sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.digest import agent_summary
from bot.blocks.format import status_badge
from bot.blocks.lists import session_list
from bot.contracts.outcomes import ACTIVE, COMPLETED, ERROR, OTHER, TIMEOUT, is_failed, outcome
from bot.pipecat.models import Session
from bot.stats import compute_stats

END = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "end_state", "active", "kind", "failed"),
    [
        (None, None, True, ACTIVE, False),
        ("HTTP_ERROR", "agent_error", True, ACTIVE, False),  # still running: no outcome yet
        ("HTTP_COMPLETED", "completed", False, COMPLETED, False),
        ("HTTP_COMPLETED", "terminated", False, COMPLETED, False),  # stopped on purpose: completionStatus wins
        ("HTTP_COMPLETED", "agent_error", False, COMPLETED, False),
        ("HTTP_ERROR", "agent_error", False, ERROR, True),
        ("http_error", None, False, ERROR, True),  # case does not matter
        ("BOT_CONNECTION_TIMEOUT", None, False, TIMEOUT, True),
        ("500", None, False, ERROR, True),
        ("503", "completed", False, ERROR, True),
        ("599", None, False, ERROR, True),
        ("404", None, False, OTHER, False),
        ("600", None, False, OTHER, False),
        (None, "agent_error", False, ERROR, True),
        (None, "AGENT_START_TIMEOUT", False, TIMEOUT, True),
        ("WS_CONNECTION_CLOSED", "ended_before_agent_start", False, ERROR, True),
        (None, "terminated", False, ERROR, True),
        (None, "completed", False, COMPLETED, False),
        ("WS_CONNECTION_CLOSED", None, False, OTHER, False),
        ("SOMETHING_NEW", "brand_new", False, OTHER, False),
        (None, None, False, OTHER, False),
    ],
)
def test_the_outcome_table(status: str | None, end_state: str | None, active: bool, kind: str, failed: bool) -> None:
    assert outcome(status, end_state, active=active) == kind
    assert is_failed(status, end_state, active=active) is failed


#: Ten ended sessions, seven failed: the mix that showed seven red badges while stats counted three.
MIX = [
    ("HTTP_ERROR", "agent_error"),
    ("BOT_CONNECTION_TIMEOUT", None),
    ("500", None),
    ("503", None),
    ("WS_CONNECTION_CLOSED", "agent_error"),
    (None, "agent_start_timeout"),
    ("WS_CONNECTION_CLOSED", "ended_before_agent_start"),
    ("HTTP_COMPLETED", "completed"),
    ("HTTP_COMPLETED", "terminated"),
    ("WS_CONNECTION_CLOSED", None),
]


def sessions() -> list[Session]:
    out = []
    for n, (status, end_state) in enumerate(MIX):
        created = END - timedelta(hours=1, minutes=n)
        out.append(
            Session.model_validate(
                {
                    "sessionId": f"00000000-0000-4000-8000-{n:012d}",
                    "createdAt": created.isoformat(),
                    "endedAt": (created + timedelta(seconds=30)).isoformat(),
                    "completionStatus": status,
                    "endState": end_state,
                }
            )
        )
    return out


def test_badges_stats_list_and_digest_count_the_same_failures() -> None:
    batch = sessions()
    red = [s for s in batch if status_badge(s.completion_status, s.end_state, active=False)[0] in "🔴⏱"]
    assert len(red) == 7
    assert [s.failed for s in batch] == [True] * 7 + [False] * 3
    assert compute_stats(batch, window=timedelta(days=1), capped=False).errors == 7
    summary = agent_summary("voice-bot", batch, END, capped=False)
    assert summary["failures"] == 7 and summary["error_rate"] == pytest.approx(0.7)
    assert {w["status"] for w in summary["worst"]} <= {
        "HTTP_ERROR",
        "BOT_CONNECTION_TIMEOUT",
        "500",
        "503",
        "WS_CONNECTION_CLOSED",
        "agent_start_timeout",
    }
    listed = session_list("voice-bot", [s for s in batch if s.failed], total_count=7, errors_only=True)
    text = str(listed.blocks)
    assert text.count("🔴") + text.count("⏱️") == 7 and "✅" not in text
