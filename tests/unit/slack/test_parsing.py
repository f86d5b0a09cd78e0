"""Table tests of the /session grammar (bot/slack/parsing.py)."""

from __future__ import annotations

from datetime import time

import pytest

from bot.slack import parsing as p

SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"voice-bot {SID}", p.Lookup(SID, "voice-bot")),
        (f"  voice-bot\t {SID.upper()}  ", p.Lookup(SID, "voice-bot")),
        (f"voice-bot/{SID}", p.Lookup(SID, "voice-bot")),
        (f"https://pipecat.daily.co/acme/agents/voice-bot/sessions/{SID}", p.Lookup(SID, "voice-bot")),
        (f"<https://pipecat.daily.co/acme/agents/voice-bot/sessions/{SID}|link>", p.Lookup(SID, "voice-bot")),
        (SID, p.Lookup(SID, None)),
        (f"voice-bot {SID} -p", p.Lookup(SID, "voice-bot", private=True)),
        (f"private voice-bot {SID}", p.Lookup(SID, "voice-bot", private=True)),
        ("list voice-bot", p.ListSessions("voice-bot")),
        ("LIST voice-bot errors 5", p.ListSessions("voice-bot", errors_only=True, limit=5)),
        ("list voice-bot 25", p.ListSessions("voice-bot", limit=25)),
        ("list voice-bot errors 40", p.ListSessions("voice-bot", errors_only=True, limit=25, asked=40)),
        ("voice-bot", p.AgentStatus("voice-bot")),
        ("voice-bot -p", p.AgentStatus("voice-bot", private=True)),
        ("deadbeef", p.AgentStatus("deadbeef")),  # all letters, no ellipsis: an agent name
        ("agents", p.Agents()),
        ("agents private", p.Agents(private=True)),
        ("voice-bot 0B6F2C1E…", p.Lookup("0b6f2c1e", "voice-bot")),
        ("voice-bot 0b6f2c1e", p.Lookup("0b6f2c1e", "voice-bot")),
        ("voice-bot/0b6f2c1e...", p.Lookup("0b6f2c1e", "voice-bot")),
        ("0b6f2c1e…", p.Lookup("0b6f2c1e", None)),
        ("deadbeef…", p.Lookup("deadbeef", None)),
        ("stats voice-bot", p.Stats("voice-bot", "24h")),
        ("agent voice-bot", p.AgentStatus("voice-bot")),
        (f"agent {SID}", p.Lookup(SID, "agent")),  # an agent named "agent" is still looked up
        ("AGENT voice-bot -p", p.AgentStatus("voice-bot", private=True)),
        ("Stats voice-bot 7D", p.Stats("voice-bot", "7d")),
        ("watch voice-bot", p.Watch("voice-bot")),
        (
            "watch voice-bot HTTP_ERROR agent_error @oncall",
            p.Watch("voice-bot", frozenset({"HTTP_ERROR", "AGENT_ERROR"}), "@oncall"),
        ),
        ("watch voice-bot <!subteam^S0123ABC|@voice-oncall>", p.Watch("voice-bot", group="<!subteam^S0123ABC>")),
        ("unwatch voice-bot", p.Unwatch("voice-bot")),
        ("watches", p.Watches()),
        ("mute voice-bot 4h", p.Mute("voice-bot", "4h")),
        ("unmute voice-bot", p.Unmute("voice-bot")),
        ("changes", p.Changes()),
        ("changes voice-bot", p.Changes("voice-bot")),
        ("changes voice-bot 1h", p.Changes("voice-bot", "1h")),
        ("CHANGES 7D voice-bot -p", p.Changes("voice-bot", "7d", private=True)),
        ("changes 24h", p.Changes(None, "24h")),
        ("", p.Help()),
        ("help", p.Help()),
        ("HELP", p.Help()),
    ],
)
def test_accepted_forms(text: str, expected: p.Command) -> None:
    assert p.parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"../.. {SID}", "not an agent name"),
        (f"a/b {SID}", "not an agent name"),
        ("voice-bot not-a-uuid", "couldn't read"),
        (f"<!channel> {SID}", "not an agent name"),
        ("changes voice-bot support-bot", "one agent and one window"),
        ("changes 1h 7d", "one agent and one window"),
        ("changes ../etc", "not an agent name"),
        ("changes voice-bot 1h extra", "Too many words: expected `/session changes [<agent>] [1h|24h|7d]`"),
        ("list", "Missing the agent: expected `/session list <agent> [errors] [N]`"),
        ("list voice-bot 0", "not “0”: expected `/session list <agent> [errors] [N]`"),
        ("list voice-bot many", "not “many”"),
        ("stats voice-bot 2h", "1h, 24h or 7d"),
        ("agent", "agent <agent>"),
        ("agent voice-bot extra", "agent <agent>"),
        ("agent <!channel>", "not an agent name"),
        ("mute voice-bot", "expected `/session mute <agent>"),
        ("mute voice-bot 2h", "30m, 1h, 4h or 24h"),
        ("watch", "Missing the agent: expected `/session watch <agent>"),
        ("watch voice-bot <script>", "Statuses are words"),
        ("unwatch a b", "Too many words: expected `/session unwatch <agent>`"),
        ("watches extra", "Too many words: expected `/session watches`"),
        ("agents extra", "Too many words: expected `/session agents`"),
        ("stat voice-bot", "did you mean `/session stats <agent> [1h|24h|7d]`?"),
        ("voice-bot 3e896c6", "couldn't read that as a session lookup: expected `/session <agent> <session-id>`"),
        ("x" * 2001, "too long"),
        ("what is this", "couldn't read"),
    ],
)
def test_refusals_explain_what_was_wrong(text: str, says: str) -> None:
    result = p.parse_command(text)
    assert isinstance(result, p.Help)
    assert result.error is not None and says in result.error


def test_refusal_quotes_at_most_80_characters_of_input() -> None:
    result = p.parse_command(f"{'a' * 70}!{'b' * 500} {SID}")
    assert isinstance(result, p.Help) and result.error is not None
    assert len(result.error) < 200


def test_windows_and_durations_are_real_timedeltas() -> None:
    stats = p.parse_command("stats voice-bot 1h")
    mute = p.parse_command("mute voice-bot 30m")
    assert isinstance(stats, p.Stats) and stats.window.total_seconds() == 3600
    assert isinstance(mute, p.Mute) and mute.duration.total_seconds() == 1800


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digest on", p.Digest(on=True)),
        ("DIGEST ON 17:30", p.Digest(on=True, at=time(17, 30))),
        ("digest on 7:05", p.Digest(on=True, at=time(7, 5))),
        ("digest on 23:59utc", p.Digest(on=True, at=time(23, 59))),
        ("digest off", p.Digest(on=False)),
    ],
)
def test_digest(text: str, expected: p.Command) -> None:
    assert p.parse_command(text) == expected


@pytest.mark.parametrize("text", ["digest", "digest maybe", "digest on 24:00", "digest on 9", "digest off 09:00"])
def test_digest_refusals(text: str) -> None:
    result = p.parse_command(text)
    assert isinstance(result, p.Help) and result.error


@pytest.mark.parametrize("text", ["list", "stat voice-bot", "what is this", "mute voice-bot forever", "agents x"])
def test_a_usage_error_is_one_line_naming_the_form_expected(text: str) -> None:
    result = p.parse_command(text)
    assert isinstance(result, p.Help) and result.error is not None
    assert "\n" not in result.error and result.error.count("`/session ") == 1


def test_a_short_id_is_flagged_for_resolution() -> None:
    short = p.parse_command("voice-bot 0b6f2c1e…")
    full = p.parse_command(f"voice-bot {SID}")
    assert isinstance(short, p.Lookup) and short.short
    assert isinstance(full, p.Lookup) and not full.short
