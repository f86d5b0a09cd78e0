"""A lookup of a session whose times carry no offset (issue 10, item 5): read as UTC, no crash."""

from __future__ import annotations

from datetime import timedelta

from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from tests.e2e.test_lookup import text_of
from tests.fixtures_app import SlackDriver

SID = "5b1f0c2e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


async def test_a_running_session_with_a_naive_start_time_shows_how_long_it_runs(
    pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack: SlackDriver
) -> None:
    started = (sim_clock.now() - timedelta(minutes=3)).replace(tzinfo=None).isoformat()
    pipecat_sim.add_raw_session("voice-bot", {"sessionId": SID, "createdAt": started, "endedAt": None})
    key = await slack.command(f"voice-bot {SID}")
    [post] = await slack.responses(key)
    shown = text_of(post.body)
    assert "running for 3m" in shown, shown
