"""The typed views of Slack's payloads: what each handler reads, from real-shaped fixtures and from
payloads missing or mangling those fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from bot.slack.payloads import BlockAction, MessageShortcut, SlashCommand
from tests.fixtures_app import load_payload
from tests.paths import SLACK_FIXTURES


def test_a_button_click_gives_who_where_what_and_the_thread() -> None:
    click = BlockAction.parse(load_payload("block-actions.json"))
    assert (click.user_id, click.channel_id) == ("U2147483697", "C2147483705")
    assert click.value == "voice-bot:0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
    assert click.message_ts == click.thread_ts == "1793369100.000300"
    assert click.is_private is False


def test_a_menu_choice_gives_the_selected_value_and_a_threaded_message_keeps_its_thread() -> None:
    payload = load_payload("block-actions.json")
    payload["actions"] = [{"action_id": "incident_mute", "type": "static_select", "selected_option": {"value": "a|1h"}}]
    payload["message"]["thread_ts"] = "1793369000.000100"
    payload["container"]["is_ephemeral"] = True
    click = BlockAction.parse(payload)
    assert click.value == "a|1h" and click.thread_ts == "1793369000.000100" and click.is_private


def test_without_a_container_the_channel_and_message_come_from_the_payload() -> None:
    payload = {"user": {"id": "U1"}, "channel": {"id": "C1"}, "message": {"ts": "1.2"}, "actions": []}
    click = BlockAction.parse(payload)
    assert (click.channel_id, click.message_ts, click.thread_ts, click.value) == ("C1", "1.2", "1.2", "")


@pytest.mark.parametrize(
    "payload",
    [{}, None, "text", {"user": "U1", "actions": "x"}, {"actions": [{"value": ["a"]}]}, {"container": []}],
)
def test_a_payload_with_missing_or_mangled_fields_reads_as_empty(payload: Any) -> None:
    click = BlockAction.parse(payload)
    assert (click.user_id, click.channel_id, click.value, click.thread_ts) == ("", "", "", None)


def test_a_message_shortcut_keeps_the_whole_message_and_answers_in_its_thread() -> None:
    shortcut = MessageShortcut.parse(load_payload("message-shortcut.json"))
    assert (shortcut.user_id, shortcut.channel_id) == ("U2147483697", "C2147483705")
    assert shortcut.thread_ts == "1793368900.000100" and shortcut.message["blocks"]


def test_a_slash_command_form_gives_user_channel_and_text() -> None:
    form = dict(parse_qsl((SLACK_FIXTURES / "slash-command.form.txt").read_text().strip()))
    command = SlashCommand.parse(form)
    assert (command.user_id, command.channel_id) == ("U2147483697", "C2147483705")
    assert command.text == "voice-bot 800d444a-e67e-4686-afb3-b0de509cccb3"
    assert SlashCommand.parse({"user_id": "U1"}).text == ""
