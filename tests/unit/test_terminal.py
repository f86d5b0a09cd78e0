"""`python -m bot lookup` text: same facts as the Slack summary, plain and terminal-safe."""

from __future__ import annotations

from bot.terminal import render_session_text
from tests.blocks_checks import CASES

AGENT = "voice-bot"


def test_error_fixture_text() -> None:
    text = render_session_text(AGENT, CASES["session-detail-error"])
    lines = text.splitlines()
    assert lines[0] == "voice-bot · session 0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11 · 🔴 error"
    for expected in (
        "Status:       HTTP_ERROR",
        "End state:    agent_error",
        "Created:      2026-10-30 14:02:11 UTC",
        "Ended:        2026-10-30 14:03:08 UTC",
        "Duration:     57s",
        "Bot start:    7s",
        "Cold start:   Yes",
        "Peak memory:  592 MiB (p50 468 MiB)",
        "CPU p50/p99:  480m / 718m",
        "  2026-10-30 14:02:18 UTC  REQUEST_ARRIVED_AT_BOT",
        "Deployment:   81f4da55-106d-401f-b069-a1f1992f871a",
    ):
        assert expected in lines, expected
    assert any(line.startswith("CPU:") and "█" in line for line in lines)
    assert any(line.startswith("Memory:") and "▁" in line for line in lines)


def test_every_fixture_without_none() -> None:
    for name, session in CASES.items():
        text = render_session_text(AGENT, session)
        assert "None" not in text, name
        assert text.endswith("\n")


def test_active_and_odd_say_not_reported() -> None:
    active = render_session_text(AGENT, CASES["session-detail-active"])
    assert "Ended:        still running" in active
    assert "Cold start:   not reported" in active and "Peak memory:  not reported" in active
    assert "no resource samples reported" in active
    odd = render_session_text(AGENT, CASES["session-detail-odd"])
    assert "Status:       500" in odd and "Peak memory:  1.0 GiB" in odd
    assert "CPU p50/p99:  not reported" in odd


def test_control_characters_are_neutralised() -> None:
    session = CASES["session-detail-error"].model_copy(update={"completion_status": "\x1b[2J\x1b[31mpwned\r"})
    text = render_session_text("agent\x1b]0;title\x07", session)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "?[31mpwned?" in text


def test_bidi_controls_go_and_secrets_are_masked() -> None:
    """The terminal gets what Slack gets (bot/blocks/format.py `outside`): no right-to-left override
    to reorder the line, no key in clear."""
    session = CASES["session-detail-error"].model_copy(
        update={"completion_status": "HTTP_ERROR \u202eredis://:Hunter2Pass@cache", "end_state": "ck_live_4f9a8b7c6d5e"}
    )
    text = render_session_text(AGENT + "\u2066", session)
    assert "\u202e" not in text and "\u2066" not in text
    assert "Hunter2Pass" not in text and "4f9a8b7c6d5e" not in text
    assert "redis://:[masked]@cache" in text and "ck_[masked]" in text


def test_a_negative_bot_start_is_not_reported() -> None:
    session = CASES["session-detail-error"].model_copy(update={"bot_start_seconds": -1})
    text = render_session_text(AGENT, session)
    assert "Bot start:    not reported" in text and "-1" not in text.split("Bot start:")[1].split("\n")[0]
