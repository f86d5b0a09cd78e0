"""`/session watch … page` (issue 14)."""

from __future__ import annotations

import pytest

from bot.slack.parsing import Help, Watch, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch voice-bot page", Watch("voice-bot", frozenset(), None, True, True)),
        (
            "watch voice-bot HTTP_ERROR @oncall PAGE",
            Watch("voice-bot", frozenset({"HTTP_ERROR"}), "@oncall", True, True),
        ),
        ("watch voice-bot agent_error", Watch("voice-bot", frozenset({"AGENT_ERROR"}), None, True, False)),
    ],
)
def test_page_is_an_option_of_watch_not_a_status(text: str, expected: Watch) -> None:
    assert parse_command(text) == expected


def test_the_usage_of_watch_names_page() -> None:
    result = parse_command("watch")
    assert isinstance(result, Help) and result.error is not None and "[page]" in result.error
