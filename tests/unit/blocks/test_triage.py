"""The incident parent as a triage card (issue 12 §5), snapshot-tested for every combination of
what it can explain, and the reply's quoted cause. Inputs come from the Pipecat fixtures."""

from __future__ import annotations

import itertools
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.blocks.alerts import IncidentView, incident_parent, session_reply
from bot.blocks.message import Message
from bot.blocks.triage import (
    NO_ERROR,
    CauseLine,
    CausesView,
    Change,
    FailingDeployment,
    IncidentLink,
    Rate,
    ReplyCause,
    reply_cause_block,
)
from bot.explain.cause import first_error, quote_lines
from bot.explain.fingerprint import fingerprint
from bot.pipecat.models import Session
from tests.blocks_checks import assert_within_limits, mrkdwn_texts
from tests.fixtures_pipecat import load_pipecat_fixture
from tests.paths import SNAPSHOTS

T0 = datetime(2026, 11, 30, 14, 10, 5, tzinfo=UTC)
SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
NEW_DEPLOY = "7c1e2f90-4d3b-4a8e-9b21-5f6a7d8c9e01"
OLD_DEPLOY = "19db578d-808c-420a-a047-87edde4410c1"
HOSTILE = "<!channel> & <https://evil.example|click>"


def fixture_cause() -> tuple[str, list[str]]:
    page = load_pipecat_fixture("logs-session-error.json")
    cause = first_error([entry["log"] for entry in reversed(page["logs"])])
    assert cause is not None
    _, label = fingerprint("voice-starter", cause.where, cause.headline)
    return label, quote_lines(cause)


LABEL, QUOTE = fixture_cause()
EARLIER = IncidentLink("C0ONCALL", "1796117097.367956", T0 - timedelta(days=3))
CAUSES: dict[str, CausesView | None] = {
    "no-causes": None,
    "new": CausesView(lines=[CauseLine(LABEL, 3)]),
    "seen-before": CausesView(
        lines=[CauseLine(LABEL, 5, seen_before=EARLIER.opened_at, earlier=EARLIER), CauseLine(HOSTILE, 1)],
        quiet=1,
        unread=12,
    ),
    "still-reading": CausesView(reading=2),
    "many": CausesView(lines=[CauseLine(f"{LABEL} {i}", 5 - i) for i in range(5)], quiet=2),
}


def crashloop_health() -> str:
    status = load_pipecat_fixture("agent-status-crashloop.json")
    health = status["currentRevision"]["health"]
    return f"new revision {status['currentRevision']['deploymentID'][:8]} crash-looping: {health['message']}"


CHANGES: dict[str, Change | None] = {
    "no-change": None,
    "failing-only": Change(failing=[FailingDeployment(OLD_DEPLOY, 4, None)]),
    "bad-deploy": Change(
        failing=[FailingDeployment(NEW_DEPLOY, 6, T0 - timedelta(minutes=6)), FailingDeployment(OLD_DEPLOY, 1, None)],
        started_after=(NEW_DEPLOY, 6),
        rates=[Rate(NEW_DEPLOY, 8, 6), Rate(OLD_DEPLOY, 40, 1)],
    ),
}
HEALTH: dict[str, str | None] = {"no-health": None, "crashloop": crashloop_health()}
STATES: dict[str, dict[str, Any]] = {
    "open": {},
    "acked-closed": {"acknowledged_by": "U0STEVE", "acknowledged_at": T0, "closed": True},
}


def view(causes: CausesView | None, change: Change | None, health: str | None, **state: Any) -> IncidentView:
    return IncidentView(
        agent="voice-starter",
        session_count=7,
        first_failure_at=T0,
        last_failure_at=T0 + timedelta(minutes=4),
        statuses=["HTTP_ERROR"],
        latest_session_id=SID,
        group="<!subteam^S0ONCALL>",
        causes=causes,
        change=change,
        health=health,
        **state,
    )


def rendered(message: Message) -> str:
    body = {"text": message.text, "blocks": message.blocks, "metadata": message.metadata}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_snapshot(name: str, message: Message) -> None:
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(rendered(message), encoding="utf-8")
    assert path.exists(), f"{path.name} missing; run with UPDATE_SNAPSHOTS=1 to write it"
    assert path.read_text(encoding="utf-8") == rendered(message), f"{path.name} changed; UPDATE_SNAPSHOTS=1 to accept"


def assert_safe(message: Message) -> None:
    for text in mrkdwn_texts(message.blocks):
        bare = re.sub(
            r"<!date\^[^>]*>|<!subteam\^S0ONCALL>|<https://slack\.com/archives/[A-Z0-9]+/p\d+\|[^>]*>", "", text
        )
        assert "<" not in bare and ">" not in bare, text


COMBINATIONS = list(itertools.product(CAUSES, CHANGES, HEALTH))


@pytest.mark.parametrize(("causes", "change", "health"), COMBINATIONS)
def test_triage_card_snapshot(causes: str, change: str, health: str) -> None:
    message = incident_parent(view(CAUSES[causes], CHANGES[change], HEALTH[health]), "incident:12")
    assert_within_limits(message)
    assert_safe(message)
    check_snapshot(f"triage-{causes}-{change}-{health}", message)


@pytest.mark.parametrize("state", STATES)
def test_triage_card_state_snapshot(state: str) -> None:
    message = incident_parent(
        view(CAUSES["seen-before"], CHANGES["bad-deploy"], HEALTH["crashloop"], **STATES[state]), "incident:12"
    )
    assert_within_limits(message)
    check_snapshot(f"triage-full-{state}", message)


def test_the_card_reads_top_to_bottom() -> None:
    message = incident_parent(view(CAUSES["new"], CHANGES["bad-deploy"], HEALTH["crashloop"]), "incident:1")
    order = [
        next(i for i, text in enumerate(mrkdwn_texts(message.blocks)) if marker in text)
        for marker in (
            "*voice-starter*: 7 sessions failed since",
            "*Likely cause*",
            "*What changed*",
            "*Agent health*",
            "*Statuses seen*",
        )
    ]
    assert order == sorted(order)
    assert message.blocks[-1]["type"] == "actions"
    card = json.dumps(message.blocks, ensure_ascii=False)
    assert f"3× `{LABEL}` · *new*" in card
    assert "Started 6 min after deployment `7c1e2f90` went live" in card
    assert "75% of 8 sessions on `7c1e2f90` · 2.5% of 40 on `19db578d` (last hour)" in card


def test_seen_before_links_the_earlier_incident() -> None:
    """The earlier incident's day is a date token (the reader's zone, like every time beside it)
    that links to its parent; its fallback says UTC."""
    card = json.dumps(incident_parent(view(CAUSES["seen-before"], None, None), "incident:1").blocks)
    opened = int(EARLIER.opened_at.timestamp())
    assert (
        f"seen before on <!date^{opened}^{{date_short_pretty}}^https://slack.com/archives/C0ONCALL/p1796117097367956"
        "|2026-11-27 14:10:05 UTC>" in card
    )


def test_the_quoted_cause_says_its_times_are_utc() -> None:
    block = reply_cause_block(ReplyCause(quote=QUOTE))
    assert block is not None
    assert "times UTC" in json.dumps(block.to_dict())


def failed() -> Session:
    return Session.model_validate(load_pipecat_fixture("session-detail-error.json"))


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("quoted", ReplyCause(quote=QUOTE)),
        ("quiet", ReplyCause(note=NO_ERROR)),
        ("hostile", ReplyCause(quote=[f"2026-10-30 14:03:07.880 | ERROR    | bot:main:1 - {HOSTILE} ``` done"])),
    ],
)
def test_reply_cause_snapshot(name: str, cause: ReplyCause) -> None:
    message = session_reply("voice-starter", failed(), f"3:{SID}", cause=cause)
    assert_within_limits(message)
    assert_safe(message)
    check_snapshot(f"reply-cause-{name}", message)
    if name == "hostile":
        text = message.blocks[1]["text"]["text"]
        assert text.count("```") == 2 and "&lt;!channel&gt; &amp;" in text
