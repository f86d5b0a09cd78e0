"""The pieces the replica tests rely on, in-process and quick: the pre-post fence, claim take-over,
replica ids, the timing constants' relations, PostgreSQL engine options, and a truncated Pipecat
answer never costing an alert. (Both backends where a store is involved.)"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.delivery.transitions import Posted, next_state
from bot.ops.events import NO_EVENTS
from bot.pipecat.client import PipecatClient
from bot.store import Store
from bot.store.engine import create_engine
from bot.store.payloads import AlertPayload
from bot.store.records import NewPost, OutboxKind, OutboxState
from bot.wiring import MAX_REPLICA_ID_LENGTH, Alerts, AlertSettings, build_alerts, new_replica_id
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_store import ALERT_CHANNEL, TEST_ALERT_SETTINGS, AlertRig

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
CHANNEL = "C1"


async def queued_row(store: Store) -> NewPost:
    post = NewPost("7:s1", OutboxKind.ALERT, CHANNEL, "voice-bot", AlertPayload(session={"sessionId": "s1"}), 7, "s1")
    assert await store.enqueue([post], T0) == 1
    return post


async def test_confirm_claim_needs_the_safety_margin_and_the_channel_lease(store: Store) -> None:
    await queued_row(store)
    assert await store.acquire_channel(CHANNEL, "w1", T0, policy.CHANNEL_LEASE)
    [row] = await store.outbox_rows()
    assert await store.claim(row, "tok", T0, policy.CLAIM_TTL)
    [row] = await store.outbox_rows()

    async def confirm(owner: str, token: str, at: datetime) -> bool:
        return await store.confirm_claim(
            row,
            token,
            owner,
            at,
            ttl=policy.CLAIM_TTL,
            lease_ttl=policy.CHANNEL_LEASE,
            margin=policy.CLAIM_SAFETY_MARGIN,
        )

    assert not await confirm("w2", "tok", T0)  # not the lease holder
    assert not await confirm("w1", "other", T0)  # not the claim
    assert await confirm("w1", "tok", T0 + timedelta(seconds=5))  # renews claim and lease to +25 s
    [renewed] = await store.outbox_rows()
    assert renewed.claimed_until == T0 + timedelta(seconds=5) + policy.CLAIM_TTL
    late = T0 + timedelta(seconds=5) + policy.CLAIM_TTL - policy.CLAIM_SAFETY_MARGIN + timedelta(seconds=1)
    assert not await confirm("w1", "tok", late)  # less than the margin left: do not call Slack


async def test_a_sending_row_is_taken_over_only_once_its_claim_expired(store: Store) -> None:
    await queued_row(store)
    [row] = await store.outbox_rows()
    assert await store.claim(row, "first", T0, policy.CLAIM_TTL)
    [sending] = await store.outbox_rows()
    assert sending.state == OutboxState.SENDING
    assert not await store.claim(sending, "second", T0 + policy.CLAIM_TTL - timedelta(seconds=1), policy.CLAIM_TTL)
    assert await store.claim(sending, "second", T0 + policy.CLAIM_TTL + timedelta(seconds=1), policy.CLAIM_TTL)
    posted = next_state(
        sending, Posted("1.0"), now=T0 + policy.CLAIM_TTL, give_up_after=TEST_ALERT_SETTINGS.give_up_after
    )
    assert not await store.apply(row, "first", posted, T0 + policy.CLAIM_TTL)  # the record is fenced
    assert await store.apply(row, "second", posted, T0 + policy.CLAIM_TTL)
    assert [r.state for r in await store.outbox_rows()] == [OutboxState.SENT]


async def test_a_worker_paused_past_its_claim_does_not_post_when_it_resumes(
    store: Store,
    pipecat_sim: PipecatSimulator,
    pipecat_client: PipecatClient,
    slack_standin: SlackStandIn,
    slack_url: str,
    sim_clock: SimClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Worker A holds the claim on a row and waits on Slack (re-checking the channel for it) while
    time passes its claim and lease (as if SIGSTOPped); B takes the row over and posts it. When A
    gets its answer it must not post: the fence right before chat.postMessage refuses."""
    other = Store.from_url(store.engine.url.render_as_string(hide_password=False))
    clients: list[AsyncWebClient] = []

    def replica(opened: Store, name: str) -> Alerts:
        # A Slack timeout longer than the test: A's wait ends with its answer, not a timeout.
        client = AsyncWebClient(token=slack_standin.bot_token, base_url=f"{slack_url}/api/", timeout=60)
        clients.append(client)
        return build_alerts(
            TEST_ALERT_SETTINGS,
            store=opened,
            pipecat=pipecat_client,
            slack=client,
            clock=sim_clock,
            pagerduty=None,
            events=NO_EVENTS,
            replica_id=name,
        )

    a, b = replica(store, "replica-a"), replica(other, "replica-b")
    try:
        await a.commands.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
        sim_clock.advance(5)
        pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
        sim_clock.advance(60)
        await a.jobs.poll_once()
        slack_standin.fail_next("chat.postMessage", 1, status=500)
        await a.jobs.deliver_once()  # the parent's outcome is unknown: `uncertain`
        sim_clock.advance(policy.UNCERTAIN_RECHECK.total_seconds())
        slack_standin.accept_then_hang_next("conversations.history", 1)
        paused = asyncio.create_task(a.jobs.deliver_once())
        await slack_standin.wait_until(lambda: slack_standin.hanging == 1)
        sim_clock.advance(max(policy.CLAIM_TTL, policy.CHANNEL_LEASE).total_seconds() + 1)
        await b.jobs.deliver_once()  # the take-over: not in the channel, so B posts parent and reply
        assert len(slack_standin.messages_in(ALERT_CHANNEL)) == 1
        slack_standin.release_hangs()
        await asyncio.wait_for(paused, timeout=10)
    finally:
        await other.dispose()
    assert "not posting parent:1" in caplog.text
    [parent] = slack_standin.messages_in(ALERT_CHANNEL)
    assert len(slack_standin.messages_in(ALERT_CHANNEL, thread_ts=parent.ts)) == 1
    assert {r.state for r in await store.outbox_rows()} == {OutboxState.SENT}
    assert sum(c.ok for c in slack_standin.calls_to("chat.postMessage")) == 2


async def test_a_truncated_detail_answer_fails_the_poll_instead_of_losing_the_alert(alert_rig: AlertRig) -> None:
    rig = alert_rig
    # Running since long before the watch: only the active list and the session's detail show it.
    sid = rig.sim.start_session("voice-bot", created_at=rig.clock.now() - timedelta(minutes=30))
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(30)
    rig.sim.end_session("voice-bot", sid, "HTTP_ERROR")
    rig.sim.malformed_next(1, path_contains=f"/sessions/{sid}")
    await rig.cycle()  # the detail is garbage: the poll fails, the session is not marked seen
    assert [r for r in await rig.store.outbox_rows() if r.session_id == sid] == []
    await rig.cycle()
    [parent] = rig.top()
    [reply] = rig.replies(parent)
    assert reply.metadata is not None and reply.metadata["event_payload"]["session_id"] == sid


def test_replica_ids_are_host_pid_random_and_fit_the_owner_columns() -> None:
    ids = {new_replica_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r".+-\d+-[0-9a-f]{8}", i) for i in ids)
    long = new_replica_id("h" * 200, 4_194_304)
    assert len(long) == MAX_REPLICA_ID_LENGTH and long.endswith(long.rsplit("-", 2)[-1])
    assert long.rsplit("-", 2)[1] == "4194304"
    assert new_replica_id("", 7).startswith("host-7-")


def test_the_timing_constants_keep_their_promises() -> None:
    from bot.app import SLACK_TIMEOUT_SECONDS
    from bot.config import Settings

    default_spacing = AlertSettings.from_settings(Settings.model_construct()).post_spacing
    margin = policy.CLAIM_SAFETY_MARGIN.total_seconds()
    assert margin > SLACK_TIMEOUT_SECONDS, "a post that starts inside the margin ends before the claim"
    assert policy.CLAIM_TTL > policy.CLAIM_SAFETY_MARGIN and policy.CHANNEL_LEASE > policy.CLAIM_SAFETY_MARGIN
    assert policy.MAX_INLINE_WAIT < policy.CHANNEL_LEASE and default_spacing <= policy.MAX_INLINE_WAIT
    assert policy.CHANNEL_PASS_BUDGET <= policy.CHANNEL_LEASE


async def test_postgresql_engines_ping_before_use_and_time_out_connecting() -> None:
    engine = create_engine("postgresql://u@/db?host=/tmp/nowhere&port=5")
    try:
        assert str(engine.url).startswith("postgresql+psycopg://")
        assert engine.pool._pre_ping
        _args, kwargs = engine.dialect.create_connect_args(engine.url)
        assert kwargs["host"] == "/tmp/nowhere" and str(kwargs["port"]) == "5"
    finally:
        await engine.dispose()
