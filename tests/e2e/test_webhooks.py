"""Pipecat Cloud webhooks end to end (issue 22): the real app over HTTP, deliveries signed and sent
by the simulator's webhook sender, the Slack and PagerDuty stand-ins, on the simulator's clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandbox.pagerduty.standin import PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests.fixtures_app import USER, AppFactory, SlackDriver
from tests.fixtures_pagerduty import ROUTING_KEY
from tests.fixtures_slack import INCIDENT_CHANNEL, ONCALL_CHANNEL

if TYPE_CHECKING:
    from bot.app import Runtime

AGENT, OTHER = "voice-bot", "support-bot"
LIMIT_CENTS = 10_000


@pytest.fixture
def webhook_app(app_factory: AppFactory, pagerduty_url: str, pipecat_sim: PipecatSimulator) -> Any:
    """The app with PIPECAT_WEBHOOK_SECRET set to the sender's secret and PagerDuty configured;
    the simulator's sender delivers to it."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[tuple[Runtime, SlackDriver]]:
        settings = {
            "PIPECAT_WEBHOOK_SECRET": pipecat_sim.webhooks.secret,
            "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
            "PAGERDUTY_EVENTS_URL": pagerduty_url,
            **overrides,
        }
        async with app_factory(**settings) as (runtime, slack):
            pipecat_sim.webhooks.url = str(slack.http.base_url.join("/webhooks/pipecat"))
            yield runtime, slack

    return start


async def settle(runtime: Runtime) -> None:
    """The effects that run after the answer, then one delivery pass (Slack, then PagerDuty)."""
    await runtime.deps.after_ack.drain(grace_seconds=10)
    await runtime.jobs.deliver_once()


def top_level(standin: SlackStandIn, channel: str) -> list[StoredMessage]:
    return standin.messages_in(channel)


def text_of(message: StoredMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def webhook_counts(scrape: str) -> dict[tuple[str, str], float]:
    (family,) = [f for f in text_string_to_metric_families(scrape) if f.name == "pipecat_ops_webhooks"]
    return {(s.labels["event_type"], s.labels["outcome"]): s.value for s in family.samples if s.name.endswith("_total")}


async def test_a_signed_spend_limit_reaches_every_watching_channel_once_pages_once_and_resolves(
    webhook_app: Any,
    pipecat_sim: PipecatSimulator,
    slack_standin: SlackStandIn,
    pagerduty_standin: PagerDutyStandIn,
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app() as (runtime, slack):
        alerts = runtime.deps.alerts
        await alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER, page=True)
        await alerts.watch(ONCALL_CHANNEL, OTHER, None, None, USER)
        await alerts.watch(INCIDENT_CHANNEL, OTHER, None, None, USER)

        reached = await hooks.spend_limit_reached(LIMIT_CENTS)
        assert reached.status == 200
        await settle(runtime)
        for channel in (ONCALL_CHANNEL, INCIDENT_CHANNEL):
            [post] = top_level(slack_standin, channel)  # one per channel, though ONCALL watches two agents
            shown = text_of(post)
            assert "Spend limit reached: Pipecat Cloud refuses every new session (402 SPEND_LIMIT_REACHED)" in shown
            assert "spend $100.00 of a $100.00 limit" in shown and "sessions in progress continue" in shown
        [page] = pagerduty_standin.alerts  # the one paging watch
        assert (page.status, page.severity, page.source) == ("triggered", "critical", AGENT)
        assert "Spend limit reached" in page.summary

        again = await hooks.deliver(reached)  # Pipecat Cloud retries: same webhook-id
        assert again.status == 200
        await settle(runtime)
        assert [len(top_level(slack_standin, c)) for c in (ONCALL_CHANNEL, INCIDENT_CHANNEL)] == [1, 1]
        assert len(pagerduty_standin.alerts) == 1 and page.triggers == 1

        # The App Home shows it on both agents while it is open.
        await runtime.jobs.run_delivery()
        from bot.slack.home import home_data

        health = {h.agent: h.summary for h in (await home_data(runtime.deps)).health}
        assert set(health) == {AGENT, OTHER} and all("Spend limit reached" in s for s in health.values())

        cleared = await hooks.spend_limit_cleared(LIMIT_CENTS)
        assert cleared.status == 200
        await settle(runtime)
        for channel in (ONCALL_CHANNEL, INCIDENT_CHANNEL):
            [post] = top_level(slack_standin, channel)
            assert post.edited and ":white_check_mark:" in text_of(post) and "Resolved" in text_of(post)
            [reply] = slack_standin.messages_in(channel, thread_ts=post.ts)
            assert "Recovered: Spend limit reached" in text_of(reply) and "spend limit cleared" in text_of(reply)
        assert page.status == "resolved"
        assert (await home_data(runtime.deps)).health == []

        scrape = (await slack.http.get("/metrics")).text
    counts = webhook_counts(scrape)
    assert counts[("spend.limit_reached", "accepted")] == 1
    assert counts[("spend.limit_reached", "duplicate")] == 1
    assert counts[("spend.limit_cleared", "accepted")] == 1


async def test_forged_tampered_replayed_unsigned_and_oversized_deliveries_are_refused_and_change_nothing(
    webhook_app: Any, pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app() as (runtime, slack):
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER)
        url = "/webhooks/pipecat"
        message = hooks.message("spend.limit_reached", {"current_spend_cents": 1, "limit_cents": 1})
        forged = hooks.headers(message, secret="whsec_" + "QUJD" * 8)
        tampered = hooks.headers(message)
        replayed = hooks.headers(message, timestamp=int(hooks.headers(message)["webhook-timestamp"]) - 600)
        unsigned = {"content-type": "application/json"}
        answers = {
            "forged": await slack.http.post(url, content=message.body, headers=forged),
            "tampered": await slack.http.post(
                url, content=message.body.replace(b'"limit_cents":1', b'"limit_cents":9'), headers=tampered
            ),
            "replayed": await slack.http.post(url, content=message.body, headers=replayed),
            "unsigned": await slack.http.post(url, content=message.body, headers=unsigned),
            "oversized": await slack.http.post(url, content=b"{" + b" " * (256 * 1024) + b"}", headers=tampered),
        }
        assert {name: a.status_code for name, a in answers.items()} == {
            "forged": 401,
            "tampered": 401,
            "replayed": 401,
            "unsigned": 401,
            "oversized": 413,
        }
        await settle(runtime)
        assert top_level(slack_standin, ONCALL_CHANNEL) == []
        day_ago = sim_clock.now() - timedelta(days=1)
        assert await runtime.store.webhook_events_between(day_ago, sim_clock.now(), 10) == []  # nothing stored
        counts = webhook_counts((await slack.http.get("/metrics")).text)
        assert counts == {
            ("unverified", "bad_signature"): 2,
            ("unverified", "stale"): 1,
            ("unverified", "unsigned"): 1,
            ("unverified", "oversized"): 1,
        }

        # The same delivery under the svix-* names Pipecat Cloud has also been seen to use is good.
        hooks.header_style = "svix"
        assert (await hooks.deliver(message)).status == 200


async def test_without_the_secret_the_route_answers_404_and_socket_mode_serves_it_too(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator
) -> None:
    async with app_factory() as (runtime, slack):
        answer = await slack.http.post("/webhooks/pipecat", content=b"{}")
        assert answer.status_code == 404
    async with app_factory(PIPECAT_WEBHOOK_SECRET=pipecat_sim.webhooks.secret) as (runtime, _):
        from sandbox.server import serve

        async with serve(runtime.ops_asgi()) as ops_url:  # Socket Mode's small server
            pipecat_sim.webhooks.url = f"{ops_url}/webhooks/pipecat"
            sent = await pipecat_sim.webhooks.secret_updated("voice-bot-secrets", ["OPENAI_API_KEY"])
            assert sent.status == 200


async def test_a_secret_change_before_the_failures_shows_in_the_incident_s_what_changed(
    webhook_app: Any, pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app() as (runtime, _slack):
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER)
        assert (await hooks.secret_updated("voice-bot-secrets", ["OPENAI_API_KEY"])).status == 200
        await runtime.deps.after_ack.drain(grace_seconds=10)
        sim_clock.advance(180)
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await runtime.jobs.run_cycle()
        [parent] = top_level(slack_standin, ONCALL_CHANNEL)
        shown = text_of(parent)
        assert "*What changed*" in shown
        assert "`OPENAI_API_KEY` in secret set `voice-bot-secrets` changed" in shown
        assert "3 min before the failures began" in shown


async def test_deployment_updated_reads_the_agent_s_status_at_once(
    webhook_app: Any, pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app(AGENT_STATUS_INTERVAL_SECONDS=120) as (runtime, _slack):
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER)
        await runtime.jobs.status_cycle()  # the regular read: healthy, next one in 120 s
        sim_clock.advance(10)
        deployment = pipecat_sim.deploy(AGENT, crash="CrashLoopBackOff", message="ModuleNotFoundError: cartesia")
        reads_before = sum(1 for r in pipecat_sim.requests if r.path == f"/v1/agents/{AGENT}")
        service = pipecat_sim.agents[AGENT].service_id
        build = await hooks.deployed(AGENT, deployment, service_id=service)
        await settle(runtime)  # no status job ran: the webhook did
        reads = sum(1 for r in pipecat_sim.requests if r.path == f"/v1/agents/{AGENT}")
        assert reads == reads_before + 1
        # A crash loop is alerted on its second sighting a minute on (policy.HEALTH_HOLD): the read
        # the webhook made asks for that one a minute later, not at the 120 s interval.
        sim_clock.advance(60)
        await runtime.jobs.status_cycle()
        await runtime.jobs.deliver_once()
        [alert] = top_level(slack_standin, ONCALL_CHANNEL)
        shown = text_of(alert)
        assert "is crash-looping (CrashLoopBackOff)" in shown
        # Its "What changed" names the deploy, with the build's commit and branch.
        assert "*What changed*" in shown and f"`{AGENT}` deployed build `{build[:8]}` (sim-org/{AGENT}@" in shown
        assert "on main), deployment `" + deployment[:8] + "`" in shown and "just before this began" in shown
        [known] = [d for d in await runtime.store.deployments_of(AGENT) if d.deployment_id == deployment]
        assert known.went_live_at == sim_clock.now() - timedelta(seconds=60)  # dated by the event


async def test_a_crash_between_the_answer_and_the_effects_loses_nothing(
    webhook_app: Any, pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app() as (runtime, _slack):
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER)
        assert runtime.webhooks is not None and runtime.webhook_effects is not None
        runtime.webhooks._on_stored = lambda event: None  # the replica died right after its 2xx
        assert (await hooks.spend_threshold(80, LIMIT_CENTS)).status == 200
        await settle(runtime)
        assert top_level(slack_standin, ONCALL_CHANNEL) == []
        await runtime.webhook_effects.sweep()  # too soon: the answering replica may still be on it
        await settle(runtime)
        assert top_level(slack_standin, ONCALL_CHANNEL) == []
        sim_clock.advance(60)
        await runtime.webhook_effects.sweep()
        await settle(runtime)
        [warning] = top_level(slack_standin, ONCALL_CHANNEL)
        assert "Spend at 80% of the limit" in text_of(warning)
        await runtime.webhook_effects.sweep()  # already processed: nothing runs twice
        await settle(runtime)
        assert len(top_level(slack_standin, ONCALL_CHANNEL)) == 1
        day_ago = sim_clock.now() - timedelta(days=1)
        assert len(await runtime.store.webhook_events_between(day_ago, sim_clock.now(), 10)) == 1
        sim_clock.advance(timedelta(days=31).total_seconds())
        await runtime.webhook_effects.sweep()  # kept 30 days, then forgotten
        assert await runtime.store.webhook_events_between(day_ago - timedelta(days=31), sim_clock.now(), 10) == []


async def command(slack: SlackDriver, text: str) -> str:
    key = await slack.command(text)
    [answer] = await slack.responses(key)
    return json.dumps({"text": answer.body.get("text"), "blocks": answer.body.get("blocks")}, ensure_ascii=False)


async def test_session_changes_lists_the_agent_s_and_the_organization_s_changes_newest_first(
    webhook_app: Any, pipecat_sim: PipecatSimulator, sim_clock: SimClock
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app() as (runtime, slack):
        assert "No change recorded in the last 24h" in await command(slack, "changes")
        voice = await hooks.deployed(
            AGENT, "d1f7b2c8-0000-4000-8000-000000000001", service_id=pipecat_sim.agents[AGENT].service_id
        )
        sim_clock.advance(60)
        other = await hooks.deployed(
            OTHER, "e2a8c3d9-0000-4000-8000-000000000002", service_id=pipecat_sim.agents[OTHER].service_id
        )
        sim_clock.advance(60)
        await hooks.secret_updated("voice-bot-secrets", ["OPENAI_API_KEY", "CARTESIA_API_KEY"])
        sim_clock.advance(60)
        await hooks.send(
            "api_key.rotated", {"key_id": "k1", "name": "ci-deploy", "type": "private", "actor_user_id": None}
        )
        await hooks.send("session.started", {"session_id": "s1", "service": AGENT, "region": "us-west-2"})
        unknown = await hooks.send("agent.renamed", {"from": "a", "to": "b"})  # a type this app does not know
        assert unknown.status == 200
        await runtime.deps.after_ack.drain(grace_seconds=10)

        mine = await command(slack, f"changes {AGENT} 1h")
        assert f"Changes · {AGENT} · last 1h" in mine
        order = [
            "private API key `ci-deploy` rotated",
            "`OPENAI_API_KEY`, `CARTESIA_API_KEY` in secret set `voice-bot-secrets` changed",
            f"`{AGENT}` deployed build `{voice[:8]}` (sim-org/{AGENT}@",
            f"build `{voice[:8]}` succeeded (sim-org/{AGENT}@",
        ]
        positions = [mine.index(line) for line in order]
        assert positions == sorted(positions)  # newest first
        assert other[:8] not in mine and OTHER not in mine  # another agent's deploy and build
        assert "4 change(s), newest first" in mine  # the session start and the unknown type are none
        assert "organization-wide" in mine

        everything = await command(slack, "changes")
        assert f"`{OTHER}` deployed build `{other[:8]}`" in everything and voice[:8] in everything
        counts = webhook_counts((await slack.http.get("/metrics")).text)
        assert counts[("other", "accepted")] == 1 and counts[("deployment.updated", "accepted")] == 2


async def test_a_suspension_alerts_the_agent_s_channels_muted_ones_quietly_and_resumption_resolves_it(
    webhook_app: Any, pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn, pagerduty_standin: PagerDutyStandIn
) -> None:
    hooks = pipecat_sim.webhooks
    service = {"service_id": pipecat_sim.agents[AGENT].service_id, "service_name": AGENT, "region": "us-west-2"}
    async with webhook_app() as (runtime, _):
        alerts = runtime.deps.alerts
        await alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER, page=True)
        await alerts.watch(INCIDENT_CHANNEL, AGENT, None, None, USER)
        await alerts.watch(INCIDENT_CHANNEL, OTHER, None, None, USER)
        await alerts.mute(INCIDENT_CHANNEL, AGENT, timedelta(hours=1), USER)

        await hooks.send("service.suspended", {**service, "reason": "trial_exhausted"})
        await hooks.send("org.trial_ended", {"org_name": "sim-org", "amount_due_cents": 1250})
        await settle(runtime)
        [suspended, trial] = top_level(slack_standin, ONCALL_CHANNEL)
        assert "Service suspended (the free trial is exhausted)" in text_of(suspended) and AGENT in text_of(suspended)
        assert "add a payment method" in text_of(suspended)
        assert "Free trial ended" in text_of(trial) and "amount due $12.50" in text_of(trial)
        # The muted channel hears only what concerns an agent it did not mute: the trial's end.
        [trial_elsewhere] = top_level(slack_standin, INCIDENT_CHANNEL)
        assert "Free trial ended" in text_of(trial_elsewhere)
        assert sorted(a.payload["class"] for a in pagerduty_standin.alerts) == ["suspended", "trial-ended"]

        await hooks.send("service.resumed", service)
        await settle(runtime)
        for post in top_level(slack_standin, ONCALL_CHANNEL):
            assert post.edited and "Resolved" in text_of(post)
            [reply] = slack_standin.messages_in(ONCALL_CHANNEL, thread_ts=post.ts)
            assert f"{AGENT} resumed" in text_of(reply)
        assert [a.status for a in pagerduty_standin.alerts] == ["resolved", "resolved"]
        assert await runtime.store.open_conditions() == []


async def test_a_change_delivered_after_the_incident_was_posted_joins_its_what_changed(
    webhook_app: Any, pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    hooks = pipecat_sim.webhooks
    async with webhook_app() as (runtime, _):
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, AGENT, None, None, USER)
        pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        await runtime.jobs.run_cycle()
        [parent] = top_level(slack_standin, ONCALL_CHANNEL)
        assert "API key" not in text_of(parent)
        # Pipecat Cloud retried it for a while: it happened 5 minutes before the failure.
        happened = sim_clock.now() - timedelta(minutes=5)
        await hooks.send("api_key.rotated", {"key_id": "k", "name": "prod", "type": "private"}, created_at=happened)
        await settle(runtime)
        [parent] = top_level(slack_standin, ONCALL_CHANNEL)
        assert parent.edited and "private API key `prod` rotated" in text_of(parent)
