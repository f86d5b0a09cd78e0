"""Property tests: no input crashes the parser or the reference finder, nothing hostile renders raw,
and no request path outside /agents/<valid name>/… is ever built."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.blocks.help import help_message
from bot.contracts.names import AGENT_NAME, SESSION_ID
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import InvalidInput, NotFound
from bot.slack import parsing as p
from bot.slack.references import MAX_REFERENCES, find_references

UUID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
# Pieces an attacker or a confused user would type, mixed with anything at all.
PIECES = st.sampled_from(
    [
        "<!channel>",
        "<@U123>",
        "<!here>",
        "*bold*",
        "`code`",
        "../..",
        "a/b",
        "%2e%2e",
        "agents/x/",
        UUID,
        UUID.upper(),
        "voice-bot",
        "list",
        "stats",
        "watch",
        "mute",
        "1h",
        "-p",
        "&amp;",
        "<http://evil|click>",
        "\u202e",
    ]
)
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=12).map(" ".join)
#: An unescaped Slack control sequence: <!…>, <@…>, <#…> or a <http…> link.
RAW_CONTROL = re.compile(r"<[!@#]|<https?:")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rendered_text(message: Any) -> str:
    return json.dumps({"text": message.text, "blocks": message.blocks}, ensure_ascii=False)


@FUZZ
@given(TEXT)
def test_parser_never_crashes_and_only_valid_names_and_ids_get_through(text: str) -> None:
    command = p.parse_command(text)
    agent = getattr(command, "agent", None)
    if agent is not None:
        assert AGENT_NAME.fullmatch(agent)
    if isinstance(command, p.Lookup):
        assert SESSION_ID.fullmatch(command.session_id) and command.session_id == command.session_id.lower()


@FUZZ
@given(TEXT)
def test_usage_message_for_any_input_has_no_raw_mentions_or_links(text: str) -> None:
    command = p.parse_command(text)
    if isinstance(command, p.Help):
        assert not RAW_CONTROL.search(rendered_text(help_message(error=command.error)))


MESSAGE = st.fixed_dictionaries(
    {"text": TEXT},
    optional={
        "blocks": st.lists(
            st.fixed_dictionaries(
                {"type": st.just("section"), "text": st.fixed_dictionaries({"type": st.just("mrkdwn"), "text": TEXT})}
            ),
            max_size=3,
        ),
        "attachments": st.lists(st.fixed_dictionaries({"fallback": TEXT}), max_size=2),
        "metadata": st.fixed_dictionaries(
            {
                "event_type": st.just("pipecat_ops_alert"),
                "event_payload": st.fixed_dictionaries({"agent": TEXT, "session_id": TEXT}),
            }
        ),
    },
)


@FUZZ
@given(MESSAGE, st.lists(st.text(max_size=20), max_size=5))
def test_reference_finder_yields_only_uuids_and_valid_agent_hints(message: dict[str, Any], known: list[str]) -> None:
    refs = find_references(message, known)
    assert len(refs) <= MAX_REFERENCES
    for ref in refs:
        assert SESSION_ID.fullmatch(ref.session_id)
        assert ref.agent_hint is None or AGENT_NAME.fullmatch(ref.agent_hint)


@FUZZ
@given(st.one_of(PIECES, st.text(max_size=70)), st.one_of(PIECES, st.text(max_size=40)))
async def test_client_never_builds_a_path_outside_a_valid_agent(agent: str, session_id: str) -> None:
    paths: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"error": "Session not found", "code": "NOT_FOUND"})

    # A transport that records URLs: the property is about URL building, not HTTP.
    http = httpx.AsyncClient(base_url="http://pipecat.invalid/v1/", transport=httpx.MockTransport(record))
    client = PipecatClient(http)
    try:
        await client.get_session(agent, session_id)
    except InvalidInput:
        assert paths == []
    except NotFound:
        assert len(paths) == 1  # the recording transport answers 404 to anything that was sent
    finally:
        await http.aclose()
    for path in paths:
        match = re.fullmatch(r"/v1/agents/([^/?]+)/sessions/([^/?]+)", path)
        assert match and AGENT_NAME.fullmatch(match.group(1)) and SESSION_ID.fullmatch(match.group(2))
