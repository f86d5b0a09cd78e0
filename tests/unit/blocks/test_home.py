"""The App Home view: valid per slack_sdk for 0, 1 and 200 watches, never past 100 blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.views import View

from bot.blocks.home import (
    ACTION_HOME_MORE,
    MAX_HOME_BLOCKS,
    AgentHealth,
    AlertLine,
    HomeData,
    IncidentLine,
    home_view,
)
from bot.blocks.rates import SloLine, slo_budget_text
from bot.contracts.views import AgentPoll, HomeWatch
from sandbox.slack.checks import blocks_problems
from tests.blocks_checks import HOSTILE

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


def watch(i: int, **changes: object) -> HomeWatch:
    values: dict[str, object] = {
        "channel_id": f"C{i:05d}",
        "agent": f"agent-{i}",
        "statuses": frozenset({"HTTP_ERROR"}),
        "group": None,
        "muted_until": None,
        "broken_reason": None,
        "last_alert_at": None,
        "undelivered": 0,
    }
    values.update(changes)
    return HomeWatch(**values)  # type: ignore[arg-type]


def incident(ack: bool) -> IncidentLine:
    return IncidentLine("agent-1", "C00001", "1700000000.000100", 7, NOW, "U1" if ack else None, NOW if ack else None)


def alert() -> AlertLine:
    return AlertLine("agent-1", "C00001", SID, "HTTP_ERROR", NOW, "1700000000.000200")


def data(watches: list[HomeWatch], **extra: object) -> HomeData:
    return HomeData(watches=watches, incidents=[], alerts=[], polls=[], **extra)  # type: ignore[arg-type]


def texts(view: dict[str, object]) -> str:
    return str(view)


@pytest.mark.parametrize("count", [0, 1, 200])
def test_valid_for_0_1_and_200_watches(count: int) -> None:
    view = home_view(data([watch(i) for i in range(count)]), now=NOW)
    View(**view).validate_json()  # slack_sdk's own check of the whole view
    assert view["type"] == "home"
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    assert not blocks_problems(view["blocks"], limit=MAX_HOME_BLOCKS)
    more = [b for b in view["blocks"] if b["type"] == "actions"]
    if count == 200:
        (button,) = more[0]["elements"]
        assert button["action_id"] == ACTION_HOME_MORE
        shown = sum(texts(b).count("agent-") for b in view["blocks"] if b["type"] == "section")
        assert int(button["value"]) == shown < 200
        # The next page starts where this one stopped and is valid too.
        page = home_view(data([watch(i) for i in range(count)]), now=NOW, offset=int(button["value"]))
        assert len(page["blocks"]) <= MAX_HOME_BLOCKS and f"agent-{shown}*" in texts(page)
    else:
        assert not more
    if count == 0:
        assert "Nothing is watched yet" in texts(view)


def test_shows_states_incidents_alerts_and_agents() -> None:
    watches = [
        watch(1, muted_until=NOW + timedelta(hours=1), group="<!subteam^S01>"),
        watch(2, broken_reason="not_in_channel", undelivered=3),
        watch(3, page=True),
    ]
    polls = [
        AgentPoll("agent-1", NOW - timedelta(seconds=30), 0, None),
        AgentPoll("agent-2", NOW - timedelta(minutes=30), 4, "Unreachable: connection refused"),
    ]
    health = [AgentHealth("agent-2", "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)", healthy=False)]
    view = home_view(
        HomeData(
            watches=watches, incidents=[incident(False), incident(True)], alerts=[alert()], polls=polls, health=health
        ),
        now=NOW,
    )
    text = texts(view)
    assert "muted until" in text and "<!subteam^S01>" in text
    assert "not delivering: bot not in channel" in text and "3 post(s) waiting" in text
    assert "pages PagerDuty" in text
    assert "not acknowledged" in text and "acknowledged by <@U1>" in text
    assert "https://slack.com/archives/C00001/p1700000000000100" in text
    assert "HTTP_ERROR" in text and "0b6f2c1e" in text
    assert "Pipecat unreachable (4 failed polls" in text and "last successful poll" in text
    assert "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)" in text


def test_outside_text_is_escaped() -> None:
    view = home_view(data([watch(1, agent=HOSTILE, statuses=frozenset({HOSTILE}))]), now=NOW)
    assert "<!channel>" not in texts(view)


def test_an_agent_with_an_slo_shows_its_budget_in_the_words_of_every_surface() -> None:
    polls = [AgentPoll("agent-1", NOW, 0, None), AgentPoll("agent-2", NOW, 0, None)]
    line = SloLine("99.5%", "28d", 0.63, 1200, 0.0)
    home = HomeData(watches=[watch(1), watch(2)], incidents=[], alerts=[], polls=polls, slo={"agent-1": line})
    view = home_view(home, now=NOW)
    [agents] = [b for b in view["blocks"] if b["type"] == "section" and "last successful poll" in texts(b)]
    first, second = agents["text"]["text"].split("\n")
    assert first.endswith(" · SLO 99.5% over 28d: 63% of its error budget left") and first.startswith("*agent-1*")
    assert slo_budget_text(line) in first
    assert "SLO" not in second  # no SLO set: no budget


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (SloLine("99.5%", "28d", 0.634, 1200, 0.0), "SLO 99.5% over 28d: 63% of its error budget left"),
        (
            SloLine("99%", "30d", -0.5, 1200, 3.25),
            "SLO 99% over 30d: -50% of its error budget left (over the 3.2 days counted so far)",
        ),
        (
            SloLine("99.9%", "7d", None, 0, 0.5),
            "SLO 99.9% over 7d: no ended sessions counted yet (over the 0.5 days counted so far)",
        ),
    ],
)
def test_slo_budget_text(line: SloLine, text: str) -> None:
    assert slo_budget_text(line) == text
    assert SloLine.from_json(line.to_json()) == line  # the digest carries it in its payload
