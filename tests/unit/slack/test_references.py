"""Finding session ids and agent hints in messages (the shortcut and bare-id lookups)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack.references import MAX_REFERENCES, SessionReference, find_references, scan_message
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


SID3 = "3c3c3c3c-1b2d-4c6e-8f0a-3d5b7c9e1f24"
ORG = ["voice-bot", "support-bot", "sales-bot"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # each line's own agent, not the first agent of the message
        (
            f"voice-bot: {SID}\nsupport-bot {SID2}\nsales-bot had {SID3}",
            {SID: "voice-bot", SID2: "support-bot", SID3: "sales-bot"},
        ),
        # the nearest agent before the id on its line, else the first after it
        (f"voice-bot then support-bot {SID} \n{SID2} on sales-bot", {SID: "support-bot", SID2: "sales-bot"}),
        # a line without an agent falls back to the first agent the message names
        (f"sales-bot is down\n{SID}\nsupport-bot {SID2}", {SID: "sales-bot", SID2: "support-bot"}),
        # a label on the line; `agent/id` beats the line
        (f"agent: sales-bot {SID}\nvoice-bot saw support-bot/{SID2}", {SID: "sales-bot", SID2: "support-bot"}),
    ],
)
def test_each_id_gets_the_agent_of_its_own_line(text: str, expected: dict[str, str]) -> None:
    found = scan_message({"text": text}, ORG)
    assert {r.session_id: r.agent_hint for r in found.sessions} == expected


def test_the_agents_a_message_names_are_listed_in_order() -> None:
    found = scan_message({"text": f"sales-bot and voice-bot\nx/{SID} agent: support-bot"}, ORG)
    assert found.agents == ["x", "sales-bot", "voice-bot", "support-bot"]


def test_ids_over_the_limit_are_kept_to_be_named() -> None:
    ids = [f"{i:08d}-8d4a-4f3b-9c2e-5a7d1e9f0a11" for i in range(8)]
    found = scan_message({"text": " ".join(ids)})
    assert [r.session_id for r in found.looked_up] == ids[:MAX_REFERENCES]
    assert found.over_limit == ids[MAX_REFERENCES:]
