"""What the Home tab shows a viewer limited to some channels (bot/slack/home.py `visible_only`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.blocks.home import AgentHealth, AlertLine, HomeData, IncidentLine
from bot.blocks.rates import SloLine
from bot.contracts.views import AgentPoll, HomeWatch
from bot.slack.home import visible_only

T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def watch(channel: str, agent: str) -> HomeWatch:
    return HomeWatch(channel, agent, frozenset({"HTTP_ERROR"}), None, None, None, None, 0)


DATA = HomeData(
    watches=[watch("C1", "voice-bot"), watch("C2", "support-bot"), watch("C2", "voice-bot")],
    incidents=[
        IncidentLine("voice-bot", "C1", "1.1", 3, T, None, None),
        IncidentLine("support-bot", "C2", "2.2", 1, T, None, None),
    ],
    alerts=[
        AlertLine("voice-bot", "C1", "s1", "HTTP_ERROR", T, "1.1"),
        AlertLine("support-bot", "C2", "s2", "500", T, "2.2"),
    ],
    polls=[AgentPoll("voice-bot", T, 0, None), AgentPoll("support-bot", T, 0, None)],
    health=[AgentHealth("support-bot", "crash-looping", healthy=False)],
    slo={"support-bot": SloLine("99.5%", "28d", 0.5, 100, 0.0)},
)


@pytest.mark.parametrize(
    ("channels", "watches", "incidents", "alerts", "agents"),
    [
        (frozenset({"C1", "C2"}), 3, ["C1", "C2"], ["s1", "s2"], {"voice-bot", "support-bot"}),
        (frozenset({"C1"}), 1, ["C1"], ["s1"], {"voice-bot"}),
        (frozenset({"C2"}), 2, ["C2"], ["s2"], {"voice-bot", "support-bot"}),  # voice-bot is watched in C2 too
        (frozenset(), 0, [], [], set()),
        (frozenset({"C9"}), 0, [], [], set()),
    ],
)
def test_only_the_viewers_channels_and_their_agents(
    channels: frozenset[str], watches: int, incidents: list[str], alerts: list[str], agents: set[str]
) -> None:
    shown = visible_only(DATA, channels)
    assert len(shown.watches) == watches
    assert [i.channel_id for i in shown.incidents] == incidents
    assert [a.session_id for a in shown.alerts] == alerts
    assert {p.agent for p in shown.polls} == agents
    assert {h.agent for h in shown.health} == agents & {"support-bot"}
    assert set(shown.slo) == agents & {"support-bot"}  # an agent's SLO budget goes with its other lines
