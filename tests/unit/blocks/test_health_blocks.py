"""Health alerts and the agent card: valid Block Kit within limits, outside text never live."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.health import assess as h
from bot.alerts.policy import CAPACITY_HYSTERESIS_SESSIONS as HYST
from bot.blocks.agent_card import ErrorRate, OpenHealth, agent_card
from bot.blocks.health import health_alert, health_back, health_recovery, health_resolved
from bot.pipecat.models import Agent
from tests.blocks_checks import HOSTILE, assert_no_raw_markup, assert_within_limits, fields_of, load_fixture

NOW = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)
STATUS_FIXTURES = ("healthy", "crashloop", "oom", "at-capacity")


def agent(name: str) -> Agent:
    return Agent.model_validate(load_fixture(f"agent-status-{name}.json"))


def hostile_agent() -> Agent:
    payload: dict[str, Any] = copy.deepcopy(load_fixture("agent-status-crashloop.json"))
    revision = payload["currentRevision"]
    revision["phase"] = HOSTILE
    revision["deploymentID"] = HOSTILE
    revision["health"].update(reason=HOSTILE, state=HOSTILE, message=(HOSTILE + "\n") * 400)
    payload["deployment"]["manifest"]["spec"]["image"] = HOSTILE * 50
    payload["region"] = HOSTILE
    return Agent.model_validate(payload)


@pytest.mark.parametrize("name", STATUS_FIXTURES)
def test_every_finding_of_every_fixture_renders_as_alert_resolved_and_recovery(name: str) -> None:
    findings = h.evaluate(agent(name), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings.values()
    for finding in findings:
        data = finding.to_json()
        for message in (
            health_alert("voice-bot", data, finding.severity, NOW, "health:1:x:1"),
            health_resolved("voice-bot", data, NOW, NOW, "health:1:x:1"),
            health_recovery("voice-bot", data, NOW, NOW, "revision 19db578d Active", "health-clear:1:x:1"),
            health_back("voice-bot", data, NOW, NOW, "health-back:1:x:1:1"),
            health_alert("voice-bot", data, finding.severity, NOW, "health:1:x:1", returned_at=NOW, returns=3),
        ):
            assert_within_limits(message)
            assert message.metadata is not None and message.metadata["event_payload"]["agent"] == "voice-bot"


def test_hostile_findings_are_escaped_and_bounded() -> None:
    finding = h.evaluate(hostile_agent(), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings
    for item in finding.values():
        data = item.to_json()
        message = health_alert(HOSTILE, data, item.severity, NOW, "health:1:x:1")
        assert_within_limits(message)
        assert_no_raw_markup(message)
        assert_no_raw_markup(health_recovery(HOSTILE, data, NOW, NOW, HOSTILE, "k"))
        assert_no_raw_markup(health_resolved(HOSTILE, data, NOW, NOW, "k"))
        assert_no_raw_markup(health_back(HOSTILE, data, NOW, NOW, "k"))
        assert_within_limits(health_resolved(HOSTILE, data, NOW, NOW, "k"))


def test_a_resolved_alert_keeps_its_evidence_and_says_how_long_it_lasted() -> None:
    crash = h.evaluate(agent("crashloop"), h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings
    [finding] = crash.values()
    opened = health_alert("voice-bot", finding.to_json(), finding.severity, NOW, "health:1:x:1")
    resolved = health_resolved("voice-bot", finding.to_json(), NOW, NOW + timedelta(minutes=42), "health:1:x:1")
    for kept in ("```", "ModuleNotFoundError", "6 restart(s)", "last exit code 1"):
        assert kept in str(opened.blocks) and kept in str(resolved.blocks), kept
    assert resolved.text.startswith("Resolved: voice-bot: Revision 7c1e2f90 is crash-looping")
    assert "~Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)~" in str(resolved.blocks)
    assert "after 42m 00s" in str(resolved.blocks)


def test_an_alert_that_came_back_says_so_and_its_thread_hears_it() -> None:
    data = {"key": "unavailable", "kind": "unavailable", "title": "Agent is not available", "short": "x"}
    again = health_alert("voice-bot", data, "critical", NOW, "health:1:x:1", returned_at=NOW, returns=2)
    assert "cleared, then came back <!date^" in str(again.blocks) and "(2 times)" in str(again.blocks)
    assert "came back" not in str(health_alert("voice-bot", data, "critical", NOW, "health:1:x:1").blocks)
    back = health_back("voice-bot", data, NOW, NOW + timedelta(minutes=3), "health-back:1:x:1:1")
    assert back.text == "Back again: voice-bot: Agent is not available"


@pytest.mark.parametrize("name", STATUS_FIXTURES)
def test_the_agent_card_of_every_fixture(name: str) -> None:
    status = agent(name)
    open_health = [
        OpenHealth(f.title, f.severity, NOW)
        for f in h.evaluate(status, h.Memory(), NOW, warn_percent=80, capacity_hysteresis=HYST).findings.values()
        if not f.quiet
    ]
    health = status.current_revision.health if status.current_revision else None
    message = h.quotable(health.message if health else None)
    card = agent_card("voice-bot", status, open_health, ErrorRate(3, 40, 40), now=NOW, health_message=message)
    assert_within_limits(card)
    fields = fields_of(card)
    assert "7.5% (3 of 40)" in fields["Error rate (last hour)"]
    revision = fields["Revision"]
    assert status.current_revision is not None and status.current_revision.health is not None
    assert f"{status.current_revision.health.restart_count} restart(s)" in revision
    if name == "crashloop":
        assert "*Failed*" in revision and "CrashLoopBackOff" in revision and "last exit code 1" in revision
        assert "crash-looping" in str(card.blocks) and "```" in str(card.blocks)
    if name == "oom":
        assert "last exit code 137 (out of memory)" in revision
    if name == "at-capacity":
        assert fields["Active sessions"] == "10 of 10 (100%) · :no_entry: at capacity"
    if name == "healthy":
        assert "No open health conditions" in str(card.blocks)
        assert fields["Deployment"].startswith("`19db578d` (desired = reconciled)")


def test_the_card_says_when_a_rollout_is_pending_and_when_errors_were_sampled() -> None:
    status = Agent.model_validate(load_fixture("agents-list.json")["services"][1])
    card = agent_card("support-bot", status, [], ErrorRate(5, 100, 250), now=NOW)
    fields = fields_of(card)
    assert fields["Deployment"] == "desired `7c1e2f90` · reconciled `19db578d` (rolling out)"
    assert fields["Error rate (last hour)"] == "5.0% (5 of 100)\nnewest 100 of 250"
    assert fields["Revision"] == "not reported" and fields["Active sessions"] == "not reported"
    quiet = agent_card("support-bot", status, [], ErrorRate(0, 0, 0), now=NOW)
    assert fields_of(quiet)["Error rate (last hour)"] == "no sessions ended in the last hour"
    assert fields_of(agent_card("support-bot", status, [], None, now=NOW))["Error rate (last hour)"] == (
        "could not be read"
    )


def test_a_hostile_status_card_is_escaped_and_bounded() -> None:
    card = agent_card(
        HOSTILE,
        hostile_agent(),
        [OpenHealth(HOSTILE * 100, "critical", NOW)] * 20,
        ErrorRate(1, 1, 1),
        now=NOW,
        health_message=HOSTILE * 100,
    )
    assert_within_limits(card)
    assert_no_raw_markup(card)
