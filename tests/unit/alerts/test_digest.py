"""The digest's schedule and numbers, as pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.alerts.digest import agent_summary, due_day
from bot.blocks.digest import CAUSES_PENDING, digest_message
from bot.contracts.keys import digest_dedup_key
from bot.pipecat.models import Session
from bot.store.digests import DigestSetting
from sandbox.slack.checks import blocks_problems

END = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "enabled", "expected"),
    [
        ("2026-12-01T08:59", "2026-11-01T00:00", None),  # before today's time, yesterday's is 24 h old
        ("2026-12-01T09:00", "2026-11-01T00:00", date(2026, 12, 1)),
        ("2026-12-01T20:59", "2026-11-01T00:00", date(2026, 12, 1)),
        ("2026-12-01T21:01", "2026-11-01T00:00", None),  # more than 12 h late: not back-filled
        ("2026-12-01T10:00", "2026-12-01T09:30", None),  # turned on after today's time: tomorrow
        ("2026-12-02T09:00", "2026-12-01T09:30", date(2026, 12, 2)),
    ],
)
def test_due_day(now: str, enabled: str, expected: date | None) -> None:
    assert due_day(DigestSetting("C1", 9, 0, at(enabled)), at(now)) == expected


def test_a_late_evening_digest_is_still_due_just_after_midnight() -> None:
    assert due_day(DigestSetting("C1", 23, 30, at("2026-11-01T00:00")), at("2026-12-02T00:10")) == date(2026, 12, 1)


def test_dedup_key_names_channel_and_day() -> None:
    assert digest_dedup_key("C1", date(2026, 12, 1)) == "digest:C1:2026-12-01"


def session(n: int, created: datetime, status: str, bot_start: float, cold: bool) -> Session:
    return Session.model_validate(
        {
            "sessionId": f"00000000-0000-4000-8000-{n:012d}",
            "serviceId": "s",
            "organizationId": "o",
            "createdAt": created.isoformat(),
            "endedAt": (created + timedelta(minutes=1)).isoformat(),
            "completionStatus": status,
            "botStartSeconds": bot_start,
            "coldStart": cold,
        }
    )


def test_agent_summary_today_against_yesterday() -> None:
    today = [
        session(i, END - timedelta(hours=1 + i), "HTTP_ERROR" if i < 2 else "HTTP_COMPLETED", float(i + 1), i % 2 == 0)
        for i in range(10)
    ]
    yesterday = [
        session(100 + i, END - timedelta(hours=25 + i), "HTTP_COMPLETED" if i else "HTTP_ERROR", 1, False)
        for i in range(10)
    ]
    outside = [session(999, END + timedelta(minutes=1), "HTTP_ERROR", 1, False)]
    summary = agent_summary("voice-bot", today + yesterday + outside, END, capped=False)
    assert (summary["count"], summary["failures"]) == (10, 2)
    assert summary["by_status"] == {"HTTP_COMPLETED": 8, "HTTP_ERROR": 2}
    assert summary["error_rate"] == pytest.approx(0.2) and summary["prev_error_rate"] == pytest.approx(0.1)
    assert summary["bot_start_p95"] == 10.0 and summary["cold_start_share"] == pytest.approx(0.5)
    assert [w["status"] for w in summary["worst"]] == ["HTTP_ERROR", "HTTP_ERROR"]
    message = digest_message(
        {"day": "2026-12-01", "window_end": END.isoformat(), "agents": [summary]}, "digest:C1:2026-12-01"
    )
    assert not blocks_problems(message.blocks)
    text = str(message.blocks)
    assert "20.0%" in text and "10.0 pts from 10.0%" in text and ":arrow_up:" in text
    assert "Bot start p95 10.0s" in text and CAUSES_PENDING in text
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [f"voice-bot:{w['session_id']}" for w in summary["worst"]]
    assert message.metadata and message.metadata["event_payload"]["dedup_key"] == "digest:C1:2026-12-01"


def test_digest_of_an_unreachable_agent_says_so() -> None:
    payload = {"day": "d", "window_end": END.isoformat(), "agents": [{"agent": "a", "unreachable": "Pipecat <down>"}]}
    text = str(digest_message(payload, "k").blocks)
    assert "Pipecat &lt;down&gt;" in text
