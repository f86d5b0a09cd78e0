"""Table tests of the pure parts of short ids and unknown agents (bot/lookup.py) and of the
terminal lookup's forms (bot/cli_lookup.py)."""

from __future__ import annotations

import pytest

from bot.cli_lookup import Usage, parse_target
from bot.lookup import nearest_names, short_matches

SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
NAMES = ["voice-bot", "support-bot", "sales-bot", "Voice-Agent"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("voice-bott", ["voice-bot"]),
        ("VOICE-BOT2", ["voice-bot"]),
        ("suport-bot", ["support-bot"]),
        ("voice-agnet", ["Voice-Agent"]),
        ("zzz", []),
    ],
)
def test_nearest_names(name: str, expected: list[str]) -> None:
    assert nearest_names(name, NAMES)[: len(expected) or None] == expected


@pytest.mark.parametrize(
    ("prefix", "ids", "expected"),
    [
        ("0b6f2c1e", [SID, "11111111-0000-4000-8000-000000000000"], [SID]),
        ("0B6F2C1E", [SID.upper(), SID], [SID]),  # one session listed twice is one match
        ("3e896c64", [SID], []),
        ("3e896c64", ["3e896c64-0000-4000-8000-000000000001", "3e896c64-0000-4000-8000-000000000002"],
         ["3e896c64-0000-4000-8000-000000000001", "3e896c64-0000-4000-8000-000000000002"]),
    ],
)  # fmt: skip
def test_short_matches(prefix: str, ids: list[str], expected: list[str]) -> None:
    assert short_matches(prefix, ids) == expected


@pytest.mark.parametrize(
    ("words", "default", "expected"),
    [
        (["voice-bot", SID.upper()], None, ("voice-bot", SID)),
        ([f"voice-bot/{SID}"], None, ("voice-bot", SID)),
        ([f"<https://pipecat.daily.co/acme/agents/voice-bot/sessions/{SID}|link>"], None, ("voice-bot", SID)),
        ([SID], "voice-bot", ("voice-bot", SID)),
        (["voice-bot", "0b6f2c1e…"], None, ("voice-bot", "0b6f2c1e")),
        (["voice-bot/0B6F2C1E..."], None, ("voice-bot", "0b6f2c1e")),
        (["0b6f2c1e"], "voice-bot", ("voice-bot", "0b6f2c1e")),
    ],
)
def test_terminal_forms(words: list[str], default: str | None, expected: tuple[str, str]) -> None:
    assert parse_target(words, default) == expected


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ([SID], "PIPECAT_DEFAULT_AGENT"),
        (["../..", SID], "not an agent name"),
        (["voice-bot", "not-an-id"], "not a session id"),
        (["voice-bot"], "usage:"),
        (["a", "b", "c"], "usage:"),
    ],
)
def test_terminal_refusals(words: list[str], says: str) -> None:
    with pytest.raises(Usage, match=says.replace(".", r"\.")):
        parse_target(words, None)
