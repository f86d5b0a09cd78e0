"""Which agents a session id is tried in, in what order (bot/lookup.py `SessionFinder.candidates`)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.lookup import MAX_CANDIDATES, SHORTCUT_MAX_CANDIDATES, SessionFinder


async def watched(channel_id: str) -> list[str]:
    return {"C1": ["watched-a", "voice-bot"]}.get(channel_id, [])


ORG = [f"org-{i}" for i in range(12)]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"agent": "voice-bot", "channel_id": "C1", "strict": True}, ["voice-bot"]),
        ({"agent": "voice-bot", "channel_id": "C1", "strict": False}, ["voice-bot", "watched-a", "default-bot"]),
        ({"agent": None, "channel_id": None, "strict": False}, ["default-bot"]),
        # the shortcut: own hint, the message's other agents, watched, default, then the organization
        (
            {
                "agent": "sales-bot",
                "channel_id": "C1",
                "strict": False,
                "named": ["sales-bot", "support-bot"],
                "organization": ORG,
                "limit": SHORTCUT_MAX_CANDIDATES,
            },
            ["sales-bot", "support-bot", "watched-a", "voice-bot", "default-bot", *ORG[:5]],
        ),
        ({"agent": None, "channel_id": None, "strict": False, "organization": ORG}, ["default-bot", *ORG[:5]]),
    ],
)
async def test_candidates(kwargs: dict[str, Any], expected: list[str]) -> None:
    finder = SessionFinder(None, watched, "default-bot")  # type: ignore[arg-type]  # never called here
    found = await finder.candidates(**kwargs)
    assert found == expected and len(found) <= kwargs.get("limit", MAX_CANDIDATES)
