"""Finding session ids and agent hints in messages (the shortcut and bare-id lookups)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack.references import MAX_REFERENCES, SessionReference, find_references
from tests.paths import SLACK_FIXTURES

SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
SID2 = "9a3c5e7f-1b2d-4c6e-8f0a-3d5b7c9e1f24"


def shortcut_message() -> dict[str, Any]:
    payload = json.loads((SLACK_FIXTURES / "message-shortcut.json").read_text())
    message: dict[str, Any] = payload["message"]
    return message


def test_fixture_message_yields_its_session_once_even_though_text_and_blocks_both_carry_it() -> None:
    assert find_references(shortcut_message()) == [SessionReference(SID, None)]


def test_an_org_agent_name_in_the_text_becomes_the_hint() -> None:
    assert find_references(shortcut_message(), ["support-bot", "voice-bot"]) == [SessionReference(SID, "voice-bot")]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"text": f"see voice-bot/{SID}"}, [SessionReference(SID, "voice-bot")]),
        (
            {"text": f"<https://x.example/agents/support-bot/sessions/{SID}|link>"},
            [SessionReference(SID, "support-bot")],
        ),
        ({"text": f"agent: `voice-bot` session {SID.upper()}"}, [SessionReference(SID, "voice-bot")]),
        ({"text": "nothing here"}, []),
        (
            {"text": "", "attachments": [{"fallback": f"failed {SID}", "fields": [{"value": f"x/{SID2}"}]}]},
            [SessionReference(SID, None), SessionReference(SID2, "x")],
        ),
        (
            {
                "text": "alert",
                "metadata": {
                    "event_type": "pipecat_ops_alert",
                    "event_payload": {"agent": "voice-bot", "session_id": SID},
                },
            },
            [SessionReference(SID, "voice-bot")],
        ),
        (
            {
                "text": "alert",
                "metadata": {"event_type": "other", "event_payload": {"agent": "voice-bot", "session_id": SID}},
            },
            [],
        ),
    ],
)
def test_hint_forms(message: dict[str, Any], expected: list[SessionReference]) -> None:
    assert find_references(message) == expected


def test_at_most_five_sessions() -> None:
    ids = [f"{i:08d}-8d4a-4f3b-9c2e-5a7d1e9f0a11" for i in range(8)]
    refs = find_references({"text": " ".join(ids)})
    assert [r.session_id for r in refs] == ids[:MAX_REFERENCES]


def test_hostile_agent_hints_are_never_returned() -> None:
    refs = find_references({"text": f"../../{SID} <!channel>/{SID2}"})
    assert {r.agent_hint for r in refs} == {None}
