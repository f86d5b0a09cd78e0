"""Runbook and dashboard links (bot/contracts/links.py): what is refused with a clear message, and
the links made from PIPECAT_DASHBOARD_URL; the setting is checked when the settings load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.contracts.links import BadLink, agent_link, dashboard_template, runbook_url, session_link
from bot.slack.parsing import Watch, parse_command


@pytest.mark.parametrize(
    ("word", "url"),
    [
        ("https://wiki.example.com/rb", "https://wiki.example.com/rb"),
        ("<https://wiki.example.com/rb?a=1&amp;b=2>", "https://wiki.example.com/rb?a=1&b=2"),
        ("<https://wiki.example.com/rb|our runbook>", "https://wiki.example.com/rb"),
    ],
)
def test_runbook_urls_as_slack_sends_them(word: str, url: str) -> None:
    assert runbook_url(word) == url


@pytest.mark.parametrize(
    ("word", "says"),
    [
        ("http://wiki.example.com/rb", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://", "https://"),
        ("https://wiki.example.com/" + "a" * 600, "at most 500"),
        ("https://wiki.example.com/a>b", "must not hold"),
        ("https://user@wiki.example.com/", "host name"),
    ],
)
def test_bad_runbooks_are_refused_with_the_reason(word: str, says: str) -> None:
    with pytest.raises(BadLink, match=says):
        runbook_url(word)


def test_watch_takes_a_runbook_and_refuses_a_bad_one() -> None:
    parsed = parse_command("watch voice-bot HTTP_ERROR runbook <https://wiki.example.com/Voice-Bot> page")
    assert parsed == Watch(
        "voice-bot", frozenset({"HTTP_ERROR"}), None, True, True, "https://wiki.example.com/Voice-Bot"
    )
    refused = parse_command("watch voice-bot runbook http://wiki.example.com")
    assert "https://" in str(refused) and "runbook <https-url>" in str(refused)
    assert "takes a link" in str(parse_command("watch voice-bot runbook"))


TEMPLATE = "https://pipecat.daily.co/acme/agents/{agent}/sessions/{session}"


def test_dashboard_links() -> None:
    assert agent_link(TEMPLATE, "voice-bot") == "https://pipecat.daily.co/acme/agents/voice-bot"
    assert session_link(TEMPLATE, "voice-bot", "abc") == "https://pipecat.daily.co/acme/agents/voice-bot/sessions/abc"
    assert session_link("https://p.example/{agent}", "voice-bot", "abc") is None
    assert agent_link(None, "voice-bot") is None and session_link(None, "v", "s") is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("https://pipecat.daily.co/acme/agents", "must name {agent}"),
        ("https://pipecat.daily.co/{org}/agents/{agent}", "unknown placeholders: org"),
        ("http://pipecat.daily.co/agents/{agent}", "https://"),
    ],
)
def test_bad_dashboard_templates(raw: str, says: str) -> None:
    with pytest.raises(BadLink, match=says):
        dashboard_template(raw)


def _settings(tmp_path: Path, **env: Any) -> Settings:
    return Settings(pipecat_api_key="pk", slack_bot_token="xoxb-1", _env_file=None, **env)


def test_the_dashboard_setting_is_checked_when_settings_load(tmp_path: Path) -> None:
    assert _settings(tmp_path).pipecat_dashboard_url is None
    assert _settings(tmp_path, pipecat_dashboard_url=" ").pipecat_dashboard_url is None
    assert _settings(tmp_path, pipecat_dashboard_url=TEMPLATE).pipecat_dashboard_url == TEMPLATE
    with pytest.raises(ValueError, match="must name \\{agent\\}"):
        _settings(tmp_path, pipecat_dashboard_url="https://pipecat.daily.co/")
