"""Rate alerts through the real pipeline (poller → counts → detectors → outbox → Slack stand-in,
PagerDuty stand-in): a regression of a busy agent whose per-session incident is open and
acknowledged posts a new top-level alert, pages once, and is resolved when the rate is back; calls
that stop post a silence alert that clears when they resume; two replicas post each once."""

from __future__ import annotations

import asyncio
import os
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.alerts.gauges import refresh_store_gauges
from bot.ops.metrics import Metrics
from bot.pagerduty.client import PagerDutyClient
from bot.wiring import Alerts
from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.slack.model import StoredMessage
from tests.fixtures_store import ALERT_CHANNEL, PG_URL_ENV, AlertRig, open_store
from tests.rate_traffic import Traffic

AGENT = "voice-bot"


def _urls() -> list[Any]:
    params = [pytest.param(None, id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        params.append(pytest.param(os.environ[PG_URL_ENV], id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(params=_urls())
async def replicas(
    request: pytest.FixtureRequest, alert_rig: AlertRig, pagerduty_client: PagerDutyClient
) -> AsyncIterator[tuple[Alerts, Alerts]]:
    if request.param is not None:  # PostgreSQL: start from empty tables
        alert_rig.db_url = request.param
        alert_rig.stores.append(await open_store(request.param, fresh=True))
    a = await alert_rig.new_service(pagerduty=pagerduty_client, replica_id="replica-a")
    b = await alert_rig.new_service(pagerduty=pagerduty_client, replica_id="replica-b")
    yield a, b


async def minute(rig: AlertRig, services: tuple[Alerts, ...], traffic: Traffic) -> None:
    """One minute of traffic, then every replica polls and delivers (as their scheduler would)."""
    rig.clock.advance(60)
    traffic.minute()
    await asyncio.gather(*(s.jobs.poll_once() for s in services))
    for _ in range(2):
        await asyncio.gather(*(s.jobs.deliver_once() for s in services))


def rate_alerts(rig: AlertRig) -> list[StoredMessage]:
    return [m for m in rig.top() if "(last 5 min)" in m.text or "calls started" in m.text]


def cost_so_far(alert: StoredMessage) -> int:
    """The sessions an open rate alert says it cost so far (its first line)."""
    assert alert.blocks
    first_line = str(alert.blocks[0]["text"]["text"]).split("\n")[0]
    found = re.search(r" · about (\d+) sessions? affected so far$", first_line)
    assert found, first_line
    return int(found.group(1))


def rate_pages(standin: PagerDutyStandIn) -> list[Any]:
    return [e for e in standin.requests if ":rate:" in (e.dedup_key or "")]


async def test_a_regression_under_an_acknowledged_incident_is_a_new_alert_paged_once_and_resolved(
    replicas: tuple[Alerts, Alerts], alert_rig: AlertRig, pagerduty_standin: PagerDutyStandIn
) -> None:
    a, b = replicas
    await a.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.02)
    for _ in range(10):
        await minute(alert_rig, (a, b), traffic)
    [incident] = [m for m in alert_rig.top() if m not in rate_alerts(alert_rig)]
    assert await a.commands.acknowledge(ALERT_CHANNEL, incident.ts, "U2")
    assert rate_alerts(alert_rig) == []  # the usual 2% never raises a rate alert

    traffic.fail_share = 0.30  # a deploy makes 30% of calls fail
    for _ in range(2):
        await minute(alert_rig, (a, b), traffic)
    [alert] = rate_alerts(alert_rig)
    assert alert.text.startswith(f"{AGENT}: ")
    pattern = r"\d+% of calls failing \(last 5 min\), usually (1\.9|2\.0|2\.1)% · Triggered$"
    assert re.search(pattern, alert.text), alert.text
    assert "Deployments (last hour)" in str(alert.blocks)
    assert [b_["block_id"] for b_ in alert.blocks or [] if b_.get("type") == "actions"] == ["rate_actions"]

    assert [e.action for e in rate_pages(pagerduty_standin)] == ["trigger"]
    cost_at_open = cost_so_far(alert)
    assert await b.commands.acknowledge_rate(ALERT_CHANNEL, alert.ts, "U0003")
    for _ in range(3):
        await minute(alert_rig, (a, b), traffic)
    [alert] = rate_alerts(alert_rig)  # edited in place, never posted again
    assert "*Acknowledged* by <@U0003> at <!date^" in str(alert.blocks)
    assert cost_so_far(alert) > cost_at_open  # how bad: the sessions it cost grow on its first line
    assert [e.action for e in rate_pages(pagerduty_standin)] == ["trigger", "acknowledge"]

    traffic.fail_share = 0.02  # rolled back
    for _ in range(12):
        await minute(alert_rig, (a, b), traffic)
    [alert] = rate_alerts(alert_rig)
    assert alert.text.startswith(f"{AGENT}: ") and " · Resolved after " in alert.text
    assert re.search(r"about \d+ sessions? affected\\n\*Resolved\* after", str(alert.blocks)), alert.blocks
    [reply] = alert_rig.replies(alert)
    assert "Back to usual" in reply.text or "Back to usual" in str(reply.blocks)
    actions = [e.action for e in rate_pages(pagerduty_standin)]
    assert actions == ["trigger", "acknowledge", "resolve"]


async def test_with_rate_counting_off_a_regression_alerts_per_session_only_and_nothing_is_counted(
    alert_rig: AlertRig,
) -> None:
    """AlertSettings.count_rates off (what bench/busy.py compares against): the same traffic and
    regression as above still posts its per-session incident, but no rate alert, and the polls
    store no counts for one to be judged from."""
    svc = await alert_rig.new_service(count_rates=False)
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    started = alert_rig.clock.now()
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.02)
    for _ in range(10):
        await minute(alert_rig, (svc,), traffic)
    traffic.fail_share = 0.30
    for _ in range(3):
        await minute(alert_rig, (svc,), traffic)
    assert rate_alerts(alert_rig) == []
    [incident] = alert_rig.top()
    assert alert_rig.replies(incident)  # the failures are told, one reply or roll-up at a time
    assert await alert_rig.store.rate_minutes(AGENT, started) == []
    assert await alert_rig.store.rate_state(AGENT) is None


async def test_calls_that_stop_are_told_within_five_minutes_and_cleared_when_they_resume(
    replicas: tuple[Alerts, Alerts], alert_rig: AlertRig, pagerduty_standin: PagerDutyStandIn
) -> None:
    a, b = replicas
    await a.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1", page=True)
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.0)
    for _ in range(5):  # 4 minutes of history (the first poll seeds)
        await minute(alert_rig, (a, b), traffic)
    traffic.per_minute = 0  # a spend limit: nothing starts
    told_after = None
    for n in range(1, 6):
        await minute(alert_rig, (a, b), traffic)
        if rate_alerts(alert_rig):
            told_after = n
            break
    assert told_after is not None and told_after <= 5
    [alert] = rate_alerts(alert_rig)
    assert "no calls started for" in alert.text and "usually 60 a minute" in alert.text
    assert [e.action for e in rate_pages(pagerduty_standin)] == ["trigger"]

    traffic.per_minute = 60
    for _ in range(6):
        await minute(alert_rig, (a, b), traffic)
    [alert] = rate_alerts(alert_rig)
    assert alert.text.startswith(f"{AGENT}: ") and " · Resolved after " in alert.text
    assert len(alert_rig.replies(alert)) == 1
    assert [e.action for e in rate_pages(pagerduty_standin)] == ["trigger", "resolve"]


async def test_a_quiet_agent_that_stops_is_never_told(alert_rig: AlertRig) -> None:
    svc = alert_rig.replica
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=2, fail_share=0.0)
    for _ in range(30):
        await minute(alert_rig, (svc,), traffic)
    traffic.per_minute = 0
    for _ in range(30):
        await minute(alert_rig, (svc,), traffic)
    assert rate_alerts(alert_rig) == []


async def test_metrics_show_each_watched_agents_rates_and_slo_budget(alert_rig: AlertRig) -> None:
    svc = alert_rig.replica
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    await svc.commands.set_slo(AGENT, 0.99, "28d", "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.005)
    for _ in range(8):
        await minute(alert_rig, (svc,), traffic)
    metrics = Metrics()
    await refresh_store_gauges(alert_rig.store, metrics, alert_rig.clock.now())
    text = metrics.render().decode()
    started = re.search(r'pipecat_ops_agent_sessions_started_per_minute\{agent="voice-bot"\} ([\d.]+)', text)
    assert started is not None and 40 <= float(started.group(1)) <= 60
    failed = re.search(r'pipecat_ops_agent_failure_rate\{agent="voice-bot"\} ([\d.]+)', text)
    assert failed is not None and float(failed.group(1)) < 0.02
    budget = re.search(r'pipecat_ops_agent_slo_budget_remaining\{agent="voice-bot"\} ([\d.]+)', text)
    assert budget is not None and 0.3 < float(budget.group(1)) < 0.7  # 0.5% failing of a 1% budget
    assert "session_id" not in text


async def test_a_busy_agents_background_gets_periodic_roll_ups_listing_every_failure(alert_rig: AlertRig) -> None:
    svc = alert_rig.replica
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.02)
    # It becomes known as busy once its usual is known (USUAL_FAILURES_MIN_HISTORY, 30 min): 2% of
    # 60 a minute is ~72 failures an hour.
    for _ in range(31):
        await minute(alert_rig, (svc,), traffic)
    [incident] = alert_rig.top()
    before = len(alert_rig.replies(incident))
    for _ in range(60):
        await minute(alert_rig, (svc,), traffic)
    replies = alert_rig.replies(incident)
    assert len(alert_rig.top()) == 1  # a steady background is one top-level message
    # About 6 roll-ups an hour, not ~72 replies (plus at most two straddling the hour's edges).
    assert len(replies) - before <= 8
    alert_rig.clock.advance(11 * 60)  # the last period's held failures go out too
    await svc.jobs.deliver_once()
    thread = " ".join(str(m.blocks) for m in alert_rig.replies(incident))
    missing = [sid for sid in traffic.failed_ids if sid not in thread]
    assert [traffic.failed_ids.index(m) for m in missing] == []  # every failed session is in the thread

    # Each periodic roll-up says how many it covers, the failure rate against the usual (the rate
    # counts: 2% of calls, usually 2%), the top causes their own logs gave, and their ids.
    rollups = [m for m in alert_rig.replies(incident)[before:] if "more sessions failed* between" in str(m.blocks)]
    assert len(rollups) >= 5
    held = 0
    for rollup in rollups:
        assert rollup.blocks is not None
        lines = rollup.blocks[0]["text"]["text"].split("\n")
        count = re.match(r":heavy_plus_sign: \*(\d+) more sessions? failed\* between <!date\^", lines[0])
        assert count is not None, lines[0]
        held += int(count.group(1))
        if rollup is rollups[-1]:
            # Posted after the calls stopped (11 min without any): no rate to tell, none made up.
            assert "of calls failing" not in str(rollup.blocks)
            lines.insert(1, "")
        else:
            assert re.fullmatch(r":bar_chart: \d\.\d% of calls failing \(last 5 min\), usually 2\.0%", lines[1])
        assert lines[2].startswith("Top causes (of ") and "HTTP_ERROR ×" in lines[2], lines[2]
        assert sum(line.startswith("• `") for line in lines) == min(int(count.group(1)), 20)
    assert held == sum(1 for sid in traffic.failed_ids if any(sid in str(r.blocks) for r in rollups))
    # The parent leads with the same rate against the usual while the incident is open.
    [parent] = alert_rig.top()
    assert parent.blocks is not None
    second = parent.blocks[0]["text"]["text"].split("\n")[1]
    assert re.fullmatch(r":bar_chart: \d\.\d% of calls failing \(last 5 min\), usually 2\.0%", second), second


async def test_a_pipecat_outage_is_not_taken_for_calls_that_stopped(alert_rig: AlertRig) -> None:
    svc = alert_rig.replica
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.0)
    for _ in range(8):
        await minute(alert_rig, (svc,), traffic)
    alert_rig.sim.fail_next(100, status=503)  # the list calls fail for a while; calls go on
    for _ in range(6):
        await minute(alert_rig, (svc,), traffic)
    alert_rig.sim.clear_faults()
    for _ in range(4):
        await minute(alert_rig, (svc,), traffic)
    assert rate_alerts(alert_rig) == []
    assert not any("no calls started" in m.text for m in alert_rig.top())


async def test_each_session_is_counted_once_across_replicas_and_a_restart(
    replicas: tuple[Alerts, Alerts], alert_rig: AlertRig
) -> None:
    a, b = replicas
    await a.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=30, fail_share=0.1)
    for _ in range(4):
        await minute(alert_rig, (a, b), traffic)
    restarted = await alert_rig.new_service(replica_id="replica-c")  # a process restarting mid-way
    for _ in range(4):
        await minute(alert_rig, (restarted, b), traffic)
    minutes = await alert_rig.store.rate_minutes(AGENT, alert_rig.clock.now() - timedelta(hours=1))
    started = sum(m.counts.started for m in minutes)
    ended = sum(m.counts.ended for m in minutes)
    failed = sum(m.counts.failed for m in minutes)
    assert (started, ended, failed) == (traffic.started, traffic.started, traffic.failed)
    by_status = Counter[str]()
    for m in minutes:
        by_status.update(m.counts.failed_by_status)
    assert dict(by_status) == {"HTTP_ERROR": traffic.failed}


async def test_a_channel_that_watches_during_an_acknowledged_episode_hears_of_it_once_acknowledged(
    alert_rig: AlertRig,
) -> None:
    svc = alert_rig.replica
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.0)
    for _ in range(6):
        await minute(alert_rig, (svc,), traffic)
    traffic.per_minute = 0
    for _ in range(4):
        await minute(alert_rig, (svc,), traffic)
    [first] = rate_alerts(alert_rig)
    ack = await svc.commands.acknowledge_rate(ALERT_CHANNEL, first.ts, "U0001")
    assert ack is not None and ack.first
    later = "C0LATER01"
    alert_rig.slack.add_channel(later, "later")
    await svc.commands.watch(later, AGENT, None, None, "U2")
    for _ in range(3):
        await minute(alert_rig, (svc,), traffic)
    posts = [m for m in alert_rig.slack.messages_in(later) if "no calls started" in m.text]
    assert len(posts) == 1
    # Someone is on it already: the late channel's post says who, with Unacknowledge.
    assert "*Acknowledged* by <@U0001>" in str(posts[0].blocks) and "rate_unack" in str(posts[0].blocks)


async def test_a_given_up_rate_alert_is_named_in_the_undelivered_summary(alert_rig: AlertRig) -> None:
    svc = await alert_rig.new_service(give_up_after=timedelta(hours=1))
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=30, fail_share=0.0)
    for _ in range(6):
        await minute(alert_rig, (svc,), traffic)
    alert_rig.slack.start_outage(until=alert_rig.clock.now() + timedelta(hours=2))
    traffic.per_minute = 0
    for _ in range(4):
        await minute(alert_rig, (svc,), traffic)
    for _ in range(14):  # Slack is down for 2 hours; the silence goes on
        alert_rig.clock.advance(600)
        await svc.jobs.poll_once()
        await svc.jobs.deliver_once()
    [summary] = [m for m in alert_rig.top() if "could not be delivered" in m.text]
    assert "rate alert (no calls started" in str(summary.blocks)


async def test_a_rate_alert_says_what_changed_in_the_hour_before(alert_rig: AlertRig) -> None:
    """A secret changed (a webhook the app stored) minutes before a busy agent's failures jumped:
    the rate alert's "What changed" names it, as incidents and health alerts do."""
    svc = await alert_rig.new_service()
    await svc.commands.watch(ALERT_CHANNEL, AGENT, None, None, "U1")
    traffic = Traffic(alert_rig.sim, AGENT, per_minute=60, fail_share=0.02)
    for _ in range(10):
        await minute(alert_rig, (svc,), traffic)
    await alert_rig.store.record_webhook(
        webhook_id="msg_secret_1",
        event_type="secret.updated",
        org="acme",
        created_at=alert_rig.clock.now(),
        received_at=alert_rig.clock.now(),
        agent=None,
        build_id=None,
        data={"set_name": "voice-bot-secrets", "scope": "field", "field_names": ["OPENAI_API_KEY"]},
    )
    traffic.fail_share = 0.30
    for _ in range(2):
        await minute(alert_rig, (svc,), traffic)
    [alert] = rate_alerts(alert_rig)
    shown = str(alert.blocks)
    assert "*What changed*" in shown
    assert "`OPENAI_API_KEY` in secret set `voice-bot-secrets` changed" in shown
