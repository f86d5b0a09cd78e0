"""Escalation to PagerDuty end to end (issue 14): the real app over HTTP, signed Slack requests,
the Pipecat simulator, the Slack stand-in and the PagerDuty stand-in, on the simulator's clock."""

from __future__ import annotations

import json
import logging
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bot.contracts.actions import Action
from bot.ops.logs import Redactor
from bot.store.records import OutboxState
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests import store_reads
from tests.fixtures_app import AppFactory, SlackDriver, load_payload
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import ONCALL_CHANNEL

if TYPE_CHECKING:
    from bot.app import Runtime

AGENT = "voice-bot"
CYCLE = 60.0


@pytest.fixture
def paging_app(app_factory: AppFactory, pagerduty_url: str) -> Any:
    """The app with PagerDuty configured (the stand-in knows `key`)."""

    def start(key: str = ROUTING_KEY) -> AbstractAsyncContextManager[tuple[Runtime, SlackDriver]]:
        return app_factory(PAGERDUTY_ROUTING_KEY=key, PAGERDUTY_EVENTS_URL=pagerduty_url)

    return start


async def cycle(runtime: Runtime, clock: SimClock, seconds: float = CYCLE) -> None:
    """What the scheduler does every poll interval."""
    clock.advance(seconds)
    await runtime.jobs.poll_once()
    await runtime.jobs.deliver_once()


async def command(slack: SlackDriver, text: str) -> str:
    """Run `/session <text>`; the text of the answer."""
    key = await slack.command(text)
    [answer] = await slack.responses(key)
    return json.dumps({"text": answer.body.get("text"), "blocks": answer.body.get("blocks")}, ensure_ascii=False)


def parent(standin: SlackStandIn) -> StoredMessage:
    [top] = standin.messages_in(ONCALL_CHANNEL)
    return top


async def click_acknowledge(slack: SlackDriver, message: StoredMessage) -> None:
    payload = load_payload("block-actions.json")
    payload["actions"][0]["action_id"] = Action.INCIDENT_ACK.value
    payload["container"]["message_ts"] = payload["message"]["ts"] = message.ts
    await slack.interact(payload, message_ts=message.ts)


async def test_without_a_routing_key_page_explains_the_set_up_and_changes_nothing(running: Any) -> None:
    _, slack = running
    answer = await command(slack, f"watch {AGENT} page")
    assert "PAGERDUTY_ROUTING_KEY" in answer and "Events API v2" in answer and "Integration Key" in answer
    assert "No agents are watched" in await command(slack, "watches")


async def test_one_alert_per_incident_across_a_500_and_a_restart_with_one_key(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
    slack_standin: SlackStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        assert "page PagerDuty" in await command(slack, f"watch {AGENT} page")
        assert ":pager: Pages PagerDuty" in await command(slack, "watches")
        pagerduty_standin.accept_then_fail_next()  # the trigger lands, its answer is lost
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)
        [alert] = pagerduty_standin.alerts
        [row] = await store_reads.page_rows(runtime.store)
        assert (row.state, row.attempts) == ("pending", 1)  # to be sent again
    async with paging_app() as (runtime, slack):  # a restarted replica, same database
        await cycle(runtime, sim_clock)
        assert pagerduty_standin.alerts == [alert] and alert.triggers == 2  # re-sent, folded into one alert
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)  # the incident grew: PagerDuty's count follows the parent's
        assert alert.triggers == 3
        for _ in range(3):
            await cycle(runtime, sim_clock)
        assert alert.triggers == 3  # nothing new, nothing sent
        # The likely cause is the one the Slack triage card lists first (the session log's error).
        cause = "Pipeline error in session <id>: HTTP_ERROR"
        assert alert.summary == f"{AGENT}: 3 sessions failed (HTTP_ERROR) — likely cause: {cause}"
        assert cause.replace("<", "&lt;").replace(">", "&gt;") in json.dumps(parent(slack_standin).blocks)
    keys = {event.dedup_key for event in pagerduty_standin.requests}
    assert keys == {alert.dedup_key} and alert.dedup_key.endswith(f"/{ONCALL_CHANNEL}/incident/1")
    assert [e.action for e in pagerduty_standin.requests] == ["trigger", "trigger", "trigger"]
    top = parent(slack_standin)
    assert alert.links == [{"href": f"{slack_standin.base_url}/archives/{ONCALL_CHANNEL}/p{top.ts.replace('.', '')}",
                            "text": "Incident thread in Slack"}]  # fmt: skip
    details = alert.payload["custom_details"]
    assert details["top_cause"] == cause
    assert (alert.source, alert.severity, details["failed_sessions"], details["statuses"]) == (
        AGENT,
        "error",
        3,
        ["HTTP_ERROR"],
    )
    assert alert.payload["component"] == alert.payload["group"] == details["deployment"] is not None


async def test_acknowledge_in_slack_and_a_quiet_incident_are_mirrored(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
    slack_standin: SlackStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        await command(slack, f"watch {AGENT} page")
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)
        [alert] = pagerduty_standin.alerts
        await click_acknowledge(slack, parent(slack_standin))
        await pagerduty_standin.wait_until(lambda: alert.status == "acknowledged")
        await cycle(runtime, sim_clock, seconds=31 * 60)  # the incident window passes without a failure
        assert alert.status == "resolved" and "Resolved after" in parent(slack_standin).text
        await cycle(runtime, sim_clock)
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)  # a new incident is a new alert, with its own key
        first, second = pagerduty_standin.alerts
        assert second.status == "triggered" and second.dedup_key != first.dedup_key
    assert [e.action for e in pagerduty_standin.requests] == ["trigger", "acknowledge", "resolve", "trigger"]


async def test_a_non_paging_watch_never_pages(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
    slack_standin: SlackStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        answer = await command(slack, f"watch {AGENT}")
        assert "PagerDuty" not in answer and "Pages PagerDuty" not in await command(slack, "watches")
        for _ in range(3):
            pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)
        await click_acknowledge(slack, parent(slack_standin))
        await cycle(runtime, sim_clock, seconds=31 * 60)
        await runtime.deps.alerts.unwatch(ONCALL_CHANNEL, AGENT)
    assert len(slack_standin.messages_in(ONCALL_CHANNEL, thread_ts=parent(slack_standin).ts)) == 3  # Slack had it all
    assert pagerduty_standin.requests == []


async def test_turning_paging_off_or_unwatching_resolves_open_alerts(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        await command(slack, f"watch {AGENT} page")
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)
        await command(slack, f"watch {AGENT}")  # same watch, without `page`
        [first] = pagerduty_standin.alerts
        assert first.status == "resolved"
        await command(slack, f"watch {AGENT} page")
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock, seconds=31 * 60)  # closes the old incident; the new failure opens one
        await cycle(runtime, sim_clock)
        second = pagerduty_standin.alerts[-1]
        assert second.status == "triggered"
        assert "Stopped watching" in await command(slack, f"unwatch {AGENT}")
        assert second.status == "resolved"


async def test_a_refused_event_shows_pagerdutys_error_on_watches_and_is_not_retried(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with paging_app(key="W" * 32) as (runtime, slack):  # well-formed, but no such integration
        await command(slack, f"watch {AGENT} page")
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)
        for _ in range(3):
            await cycle(runtime, sim_clock)
        assert [e.status for e in pagerduty_standin.requests] == [400]
        [row] = await store_reads.page_rows(runtime.store)
        assert row.state == OutboxState.DEAD and "Invalid routing key" in (row.last_error or "")
        answer = await command(slack, "watches")
        assert "PagerDuty refused an event:* Event object is invalid: Invalid routing key" in answer
        assert f"/session watch {AGENT} page" in answer
        await command(slack, f"watch {AGENT} page")  # set again: the error is cleared
        assert "PagerDuty refused" not in await command(slack, "watches")


async def test_429_and_5xx_are_retried_with_back_off(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        await command(slack, f"watch {AGENT} page")
        pagerduty_standin.rate_limit_next()
        pagerduty_standin.fail_next(status=502)
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)  # 429: back off 30 s
        [row] = await store_reads.page_rows(runtime.store)
        assert row.next_attempt_at == sim_clock.now() + timedelta(seconds=30)
        await runtime.jobs.deliver_once()  # not due yet: nothing sent
        assert len(pagerduty_standin.requests) == 1
        await cycle(runtime, sim_clock)  # 502 → retried later
        await cycle(runtime, sim_clock)
    assert [e.status for e in pagerduty_standin.requests] == [429, 502, 202]
    [alert] = pagerduty_standin.alerts
    assert alert.triggers == 1


TRACEBACK = (
    'Traceback (most recent call last):\n  File "/app/bot.py", line 14, in <module>\n'
    "ModuleNotFoundError: No module named 'pipecat.services.cartesia' key=sk_live_51HqLyjWDarjtT1zdp7dc"
)


async def status_cycle(runtime: Runtime, clock: SimClock) -> None:
    """What the agent-status job does every AGENT_STATUS_INTERVAL_SECONDS (120 s by default)."""
    clock.advance(120)
    await runtime.jobs.status_cycle()


async def test_health_conditions_page_with_their_own_key_and_resolve_when_they_clear(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        await command(slack, f"watch {AGENT} page")
        await status_cycle(runtime, sim_clock)  # healthy: nothing to page
        assert pagerduty_standin.requests == []
        pipecat_sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
        await status_cycle(runtime, sim_clock)
        assert pagerduty_standin.requests == []  # seen once: held (bot/alerts/health/states.py)
        await status_cycle(runtime, sim_clock)
        [crash] = pagerduty_standin.alerts
        assert (crash.severity, crash.status, crash.payload["class"]) == ("critical", "triggered", "revision")
        assert "crash-looping (CrashLoopBackOff)" in crash.summary and crash.source == AGENT
        assert "ModuleNotFoundError" in crash.payload["custom_details"]["message"]
        assert "sk_live_51Hq" not in json.dumps(crash.payload)  # secrets in the crash output are masked
        assert f"/{ONCALL_CHANNEL}/pipecat-ops:health:{AGENT}:revision:" in crash.dedup_key
        await status_cycle(runtime, sim_clock)  # still crash-looping: no second page
        assert len(pagerduty_standin.requests) == 1
        pipecat_sim.deploy(AGENT)  # the fix
        for _ in range(3):  # gone, but not for HEALTH_CLEAR_AFTER yet
            await status_cycle(runtime, sim_clock)
        assert crash.status == "triggered"
        await status_cycle(runtime, sim_clock)
        assert crash.status == "resolved"
        pipecat_sim.oom_restart(AGENT, 2)
        await status_cycle(runtime, sim_clock)
        await status_cycle(runtime, sim_clock)
        oom = pagerduty_standin.alerts[-1]
        assert (oom.severity, oom.status) == ("error", "triggered") and oom.dedup_key != crash.dedup_key
        await command(slack, f"unwatch {AGENT}")  # unwatching resolves the condition's alert too
        assert oom.status == "resolved"
    assert [e.action for e in pagerduty_standin.requests] == ["trigger", "resolve", "trigger", "resolve"]


async def test_health_conditions_never_page_a_non_paging_watch(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
    slack_standin: SlackStandIn,
) -> None:
    async with paging_app() as (runtime, slack):
        await command(slack, f"watch {AGENT}")
        pipecat_sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
        await status_cycle(runtime, sim_clock)
        await status_cycle(runtime, sim_clock)
    assert any("crash-looping" in m.text for m in slack_standin.messages_in(ONCALL_CHANNEL))  # Slack heard it
    assert pagerduty_standin.requests == []


async def test_a_paging_watch_without_the_key_any_more_says_it_is_not_sending(
    paging_app: Any, app_factory: AppFactory
) -> None:
    async with paging_app() as (_, slack):
        await command(slack, f"watch {AGENT} page")
    async with app_factory() as (_, slack):  # restarted without PAGERDUTY_ROUTING_KEY
        answer = await command(slack, "watches")
    assert "Pages PagerDuty — :warning: *not sending:* `PAGERDUTY_ROUTING_KEY` is not set" in answer


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


async def test_the_routing_key_is_never_logged_or_shown(
    paging_app: Any,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    pagerduty_standin: PagerDutyStandIn,
    slack_standin: SlackStandIn,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    async with paging_app() as (runtime, slack):
        redact = Redactor(runtime.settings.secret_values())  # what the app's log handler applies
        await command(slack, f"watch {AGENT} page")
        pagerduty_standin.fail_next(status=500)
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await cycle(runtime, sim_clock)
        await cycle(runtime, sim_clock)
        await click_acknowledge(slack, parent(slack_standin))
        await pagerduty_standin.wait_until(lambda: pagerduty_standin.alerts[0].status == "acknowledged")
        await command(slack, "watches")
        await cycle(runtime, sim_clock, seconds=31 * 60)
        rows = await runtime.store.outbox_rows()
    assert pagerduty_standin.alerts[0].status == "resolved"
    assert all(e.body.get("routing_key") == ROUTING_KEY for e in pagerduty_standin.requests)  # it was used...
    # The alert keeps the key that opened it (its later events go there): the one place it is
    # written is that INSERT, which only the SQLite driver's DEBUG trace repeats, and the app's log
    # handler redacts it (it is the configured key then; an old key is never written again).
    ours = [r for r in debug_logs.records if r.name != "aiosqlite"]
    logged = "".join(r.getMessage() + str(r.args) + str(r.exc_text) for r in ours)
    assert "PagerDuty accepted the trigger" in logged and "HTTP Request: POST" in logged  # the logs are captured
    assert ROUTING_KEY not in logged  # ...but never logged
    traced = [r.getMessage() for r in debug_logs.records if r.name == "aiosqlite" and ROUTING_KEY in r.getMessage()]
    assert traced and all("INSERT INTO pager_alerts" in line for line in traced)
    assert not any(ROUTING_KEY in redact(line) for line in traced)
    shown = [json.dumps(c.args) + json.dumps(c.response) for c in slack_standin.calls]
    shown += [json.dumps(p.body) for p in slack_standin.response_posts]
    assert len(shown) > 5 and not any(ROUTING_KEY in s for s in shown)  # nor sent to Slack
    assert not any(ROUTING_KEY in json.dumps(r.payload) for r in rows)  # nor stored
