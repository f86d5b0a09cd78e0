"""One definition of "failed" over real HTTP: the badges of `/session list`, `/session list … errors`,
`/session stats` and the agent card count the same seven failed sessions out of ten
(bot.contracts.outcomes), whatever ALERT_STATUSES says."""

from __future__ import annotations

import json
from typing import Any

from sandbox.pipecat.simulator import PipecatSimulator
from tests.fixtures_app import SlackDriver

#: Seven failed (5xx codes, connection timeout, agent errors, start timeout) and three that did not.
MIX = [
    ("HTTP_ERROR", "agent_error"),
    ("BOT_CONNECTION_TIMEOUT", None),
    ("500", None),
    ("503", None),
    ("WS_CONNECTION_CLOSED", "agent_error"),
    ("WS_CONNECTION_CLOSED", "agent_start_timeout"),
    ("WS_CONNECTION_CLOSED", "ended_before_agent_start"),
    ("HTTP_COMPLETED", "completed"),
    ("HTTP_COMPLETED", "terminated"),
    ("WS_CONNECTION_CLOSED", "something_new"),
]


def text_of(body: dict[str, Any]) -> str:
    return json.dumps({"text": body.get("text"), "blocks": body.get("blocks")}, ensure_ascii=False)


async def test_badges_list_errors_stats_and_agent_card_agree(pipecat_sim: PipecatSimulator, slack: SlackDriver) -> None:
    pipecat_sim.max_page_size = len(MIX)  # one page holds the whole list
    ids = [pipecat_sim.add_session("voice-bot", s, end_state=e, duration_seconds=40) for s, e in MIX]
    failed, fine = ids[:7], ids[7:]

    [post] = await slack.responses(await slack.command("list voice-bot 10"))
    listed = text_of(post.body)
    assert listed.count("🔴") + listed.count("⏱️") == 7  # red (or timed out) badges

    [post] = await slack.responses(await slack.command("list voice-bot errors 10"))
    errors = text_of(post.body)
    assert all(sid[:8] in errors for sid in failed) and not any(sid[:8] in errors for sid in fine)

    [post] = await slack.responses(await slack.command("stats voice-bot 24h"))
    assert "70.0% (7 of 10 ended)" in text_of(post.body)

    [post] = await slack.responses(await slack.command("agent voice-bot"))
    assert "70.0% (7 of 10)" in text_of(post.body)
