"""manifest.yaml declares exactly what the code handles and the scopes its Web API calls need."""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.contracts.actions import SHORTCUT_LOOKUP as CALLBACK_ID
from bot.contracts.scopes import MANIFEST_BOT_SCOPES
from bot.slack.commands import COMMAND
from tests.paths import ROOT

#: Web API methods the code may call → the bot scopes they need.
SCOPES_BY_CALL = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "files_upload_v2": {"files:write"},
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_replies": {"channels:history", "groups:history"},
    # The Home tab's channel check with ALLOWED_CHANNELS (public and private channel types).
    "users_conversations": {"channels:read", "groups:read"},
    # The incident's link in a PagerDuty page; Slack's reference lists no scope for it.
    "chat_getPermalink": set(),
    "views_publish": set(),  # "No scopes required" (docs.slack.dev/reference/methods/views.publish)
    "views_open": set(),  # the Resolve modal; "No scopes required" (docs.slack.dev/reference/methods/views.open)
}


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    return data


def calls_in_code() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py") if "sandbox" not in p.parts)
    return set(re.findall(r"\.(chat_\w+|files_\w+|conversations_\w+|users_\w+|views_\w+|reactions_\w+)\(", source))


def test_manifest_declares_the_command_and_shortcut_the_code_handles() -> None:
    features = manifest()["features"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [("message", CALLBACK_ID)]
    assert features["slash_commands"][0]["should_escape"] is True  # group mentions arrive as <!subteam^…>


def test_interactivity_and_socket_mode_are_on() -> None:
    settings = manifest()["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_bot_scopes_are_exactly_what_the_code_uses() -> None:
    calls = calls_in_code()
    unknown = calls - SCOPES_BY_CALL.keys()
    assert not unknown, f"add the scopes for {unknown} to SCOPES_BY_CALL and manifest.yaml"
    needed = {"commands"}.union(*(SCOPES_BY_CALL[c] for c in calls))
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == needed


def events_in_code() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py") if "sandbox" not in p.parts)
    return set(re.findall(r"@app\.event\(\"(\w+)\"\)", source))


def test_manifest_subscribes_to_exactly_the_events_the_code_handles() -> None:
    data = manifest()
    assert events_in_code() == {"app_home_opened"}
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == events_in_code()
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_check_compares_granted_scopes_with_the_manifest_s() -> None:
    assert set(MANIFEST_BOT_SCOPES) == set(manifest()["oauth_config"]["scopes"]["bot"])
