"""Checks shared by every Block Kit test: fixtures as sessions, Slack's limits, no live markup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slack_sdk.models.blocks import Block

from bot.blocks.message import Message
from bot.pipecat.models import Session, SessionPage
from sandbox.slack.checks import repeated_action_ids
from tests.paths import PIPECAT_FIXTURES

HOSTILE = "<!channel> <@U123> <http://evil|click> & co"


def fixtures_dir() -> Path:
    return PIPECAT_FIXTURES


def load_fixture(name: str) -> Any:
    return json.loads((fixtures_dir() / name).read_text())


def session_cases() -> dict[str, Session]:
    """Every detail fixture plus each list item, keyed by a snapshot-friendly name."""
    cases = {
        path.stem: Session.model_validate(json.loads(path.read_text()))
        for path in sorted(fixtures_dir().glob("session-detail-*.json"))
    }
    page = SessionPage.model_validate(load_fixture("sessions-list-page.json"))
    cases.update({f"sessions-list-page-{i}": s for i, s in enumerate(page.sessions)})
    return cases


CASES = session_cases()


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn text in a block tree (the only place Slack parses `<!…>` and links)."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(node["text"])
        for value in node.values():
            found.extend(mrkdwn_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(mrkdwn_texts(item))
    return found


def assert_no_raw_markup(message: Message) -> None:
    for text in [*mrkdwn_texts(message.blocks), message.text]:
        # Our own date tokens are the only `<!` allowed; links and user mentions never.
        assert "<!" not in text.replace("<!date^", ""), text
        assert "<@" not in text and "<http" not in text, text


def assert_within_limits(message: Message) -> None:
    """Re-parse with slack_sdk (runs its validators) and check the limits it does not check."""
    assert message.text.strip()
    assert len(message.blocks) <= 50
    for parsed in Block.parse_all(message.blocks):
        parsed.validate_json()
    for block in message.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "context":
            assert all(len(e.get("text", "")) <= 2000 for e in block["elements"])
        if block["type"] == "actions":
            for button in (e for e in block["elements"] if e["type"] == "button"):
                assert len(button["text"]["text"]) <= 75
                assert len(button["value"]) <= 2000


def fields_of(message: Message) -> dict[str, str]:
    section = next(b for b in message.blocks if b["type"] == "section" and "fields" in b)
    return dict(f["text"].lstrip("*").split("*\n", 1) for f in section["fields"])


def action_ids(message: Message) -> list[str]:
    actions = [b for b in message.blocks if b["type"] == "actions"]
    return [e["action_id"] for b in actions for e in b["elements"]]


def assert_unique_action_ids(blocks: list[dict[str, Any]]) -> None:
    """No block repeats an action_id: the rule Slack applies (and the stand-in, whose check this is)."""
    for i, block in enumerate(blocks):
        assert repeated_action_ids(block) == [], f"block {i} repeats action ids: {repeated_action_ids(block)}"
