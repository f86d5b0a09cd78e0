"""The App Home tab over real HTTP: signed `app_home_opened` events → `views.publish` on the stand-in."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from bot.app import Runtime
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.signing import sign_request
from sandbox.slack.standin import SlackStandIn
from tests import store_reads
from tests.fixtures_app import SIGNING_SECRET, USER, AppFactory, SlackDriver
from tests.fixtures_slack import ONCALL_CHANNEL
from tests.rate_traffic import Traffic


def event_body(event: dict[str, Any], event_id: str = "Ev01") -> str:
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "event": event,
        }
    )


async def send_event(slack: SlackDriver, body: str, *, retry: int | None = None) -> httpx.Response:
    headers = {**sign_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    answer = await slack.http.post("/slack/events", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


HOME_OPENED = {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}


async def test_app_home_opened_publishes_the_home_tab_and_a_retry_does_not_act_twice(
    running: tuple[Runtime, SlackDriver], slack_standin: SlackStandIn
) -> None:
    _, slack = running
    key = await slack.command("watch voice-bot")
    await slack.responses(key)
    await send_event(slack, event_body(HOME_OPENED))
    (call,) = await slack_standin.wait_for_calls("views.publish")
    assert call.response and call.response["ok"] is True
    view = slack_standin.home_views[USER]
    shown = json.dumps(view)
    assert view["type"] == "home" and "voice-bot" in shown and f"<#{ONCALL_CHANNEL}>" in shown
    await send_event(slack, event_body(HOME_OPENED), retry=1)  # Slack's retry of the same event
    await send_event(slack, event_body({**HOME_OPENED, "tab": "messages"}, "Ev02"))
    key = await slack.command("watches")  # a later request: the retry's work would have run by now
    await slack.responses(key)
    assert len(slack_standin.calls_to("views.publish")) == 1


async def test_app_home_for_200_watches_pages_behind_more(
    running: tuple[Runtime, SlackDriver], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    runtime, slack = running
    store = runtime.store
    for i in range(200):
        await store.upsert_watch(f"C{i:06d}", "voice-bot", {"HTTP_ERROR"}, None, USER, sim_clock.now())
    await send_event(slack, event_body(HOME_OPENED))
    await slack_standin.wait_for_calls("views.publish")
    view = slack_standin.home_views[USER]
    assert len(view["blocks"]) <= 100
    (more,) = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    await slack.interact(
        {
            "type": "block_actions",
            "user": {"id": USER},
            "actions": [{"action_id": more["action_id"], "value": more["value"]}],
        }
    )
    await slack_standin.wait_for_calls("views.publish", 2)
    await runtime.deps.after_ack.drain(grace_seconds=5)
    [entry] = await store_reads.recent_audit(runtime.store)
    assert (entry.action, entry.result, entry.user_id) == ("home_more", "ok", USER)
    second = slack_standin.home_views[USER]
    assert f"C{int(more['value']):06d}" in json.dumps(second)
    assert len(second["blocks"]) <= 100


async def test_app_home_for_someone_not_allowed_shows_only_the_reason(
    app_factory: AppFactory, slack_standin: SlackStandIn
) -> None:
    async with app_factory(ALLOWED_USERS="U0SOMEONEELSE", ALLOWED_CHANNELS=ONCALL_CHANNEL) as (runtime, slack):
        await runtime.store.upsert_watch(
            ONCALL_CHANNEL, "voice-bot", {"HTTP_ERROR"}, None, "U0SOMEONEELSE", runtime.deps.clock.now()
        )
        await send_event(slack, event_body(HOME_OPENED))
        await slack_standin.wait_for_calls("views.publish")
        shown = json.dumps(slack_standin.home_views[USER])
        assert "not on this app's list of users" in shown and "voice-bot" not in shown
        slack_standin.add_member(ONCALL_CHANNEL, "U0SOMEONEELSE")
        await send_event(slack, event_body({**HOME_OPENED, "user": "U0SOMEONEELSE"}, "Ev03"))
        await slack_standin.wait_for_calls("views.publish", 2)
        # Allowed, and a member of the allowed channel: its watches show.
        assert "voice-bot" in json.dumps(slack_standin.home_views["U0SOMEONEELSE"])


async def test_app_home_and_metrics_show_an_agent_s_open_health_condition(
    app_factory: AppFactory, slack_standin: SlackStandIn, pipecat_sim: PipecatSimulator, sim_clock: SimClock
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    async with app_factory(AGENT_STATUS_INTERVAL_SECONDS=120) as (runtime, slack):
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, "voice-bot", None, None, USER)
        pipecat_sim.deploy("voice-bot", crash="CrashLoopBackOff", message="Traceback …")
        for _ in range(2):  # held across two reads before it is a condition
            sim_clock.advance(120)
            await runtime.jobs.status_cycle()
        await send_event(slack, event_body(HOME_OPENED))
        await slack_standin.wait_for_calls("views.publish")
        assert "is crash-looping (CrashLoopBackOff)" in json.dumps(slack_standin.home_views[USER])
        scrape = (await slack.http.get("/metrics")).text
        (gauge,) = [f for f in text_string_to_metric_families(scrape) if f.name == "pipecat_ops_open_health_conditions"]
        assert gauge.samples[0].value == 1


async def test_app_home_marks_a_watch_that_pages_pagerduty(
    running: tuple[Runtime, SlackDriver], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    runtime, slack = running
    await runtime.store.upsert_watch(
        ONCALL_CHANNEL, "voice-bot", {"HTTP_ERROR"}, None, USER, sim_clock.now(), page=True
    )
    await runtime.store.upsert_watch(ONCALL_CHANNEL, "support-bot", {"HTTP_ERROR"}, None, USER, sim_clock.now())
    await send_event(slack, event_body(HOME_OPENED))
    await slack_standin.wait_for_calls("views.publish")
    lines = [line for b in slack_standin.home_views[USER]["blocks"] for line in json.dumps(b).split("\\n")]
    (paging,) = [line for line in lines if "pages PagerDuty" in line]
    assert "voice-bot" in paging and "support-bot" not in paging


async def test_app_home_shows_the_slo_budget_of_an_agent_with_an_slo_as_slash_rates_does(
    running: tuple[Runtime, SlackDriver],
    slack_standin: SlackStandIn,
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
) -> None:
    runtime, slack = running
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, "voice-bot", None, None, USER)
    await runtime.deps.alerts.watch(ONCALL_CHANNEL, "support-bot", None, None, USER)
    await slack.responses(await slack.command("slo voice-bot 99.5%"))
    traffic = [Traffic(pipecat_sim, "voice-bot", 30, fail_share=0.002), Traffic(pipecat_sim, "support-bot", 10)]
    for _ in range(10):
        sim_clock.advance(60)
        for t in traffic:
            t.minute()
        await runtime.jobs.run_cycle()
    [card] = await slack.responses(await slack.command("rates voice-bot"))
    budget = re.search(
        r"SLO 99\.5% over 28d: \d+% of its error budget left \(over the [\d.]+ days counted so far\)",
        json.dumps(card.body),
    )
    assert budget is not None

    await send_event(slack, event_body(HOME_OPENED))
    await slack_standin.wait_for_calls("views.publish")
    blocks = slack_standin.home_views[USER]["blocks"]
    lines = [line for b in blocks for line in json.dumps(b, ensure_ascii=False).split("\\n")]
    [voice] = [line for line in lines if "*voice-bot* \u00b7" in line and "last successful poll" in line]
    [support] = [line for line in lines if "*support-bot* \u00b7" in line and "last successful poll" in line]
    assert budget.group(0) in voice  # the same numbers in the same words
    assert "SLO" not in support and "error budget" not in support
