"""The Deliverer against the in-memory fake of its port (tests/fakes/delivery_store.py), posting to
the Slack stand-in over real HTTP: the outbox rules seen from the channel, without a database.

The fake keeps the real store's rules (tests/contract/store/test_delivery_store_fake.py runs the
same checks on both); the same behaviour on the real database is tested in test_outbox_delivery.py
and test_reconcile.py beside this file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import policy
from bot.alerts.delivery.deliverer import Deliverer
from bot.alerts.delivery.hooks import ChannelPassHooks
from bot.alerts.delivery.ports import DeliveryStore, RowMessages
from bot.alerts.delivery.slack_errors import SlackFailure
from bot.blocks.alert_notices import outage_notice
from bot.blocks.message import Message
from bot.contracts.notices import NoticeKind
from bot.ops.events import NO_EVENTS
from bot.store.payloads import NoticePayload
from bot.store.records import NewPost, OutboxKind, OutboxRow, OutboxState
from sandbox.pipecat.simulator import SimClock
from sandbox.slack.standin import SlackStandIn
from tests.fakes.delivery_store import FakeDeliveryStore
from tests.fixtures_slack import BOT_TOKEN, ONCALL_CHANNEL

POST = "chat.postMessage"


class Notices:
    """Renders the notice rows these tests post (the MessageFactory's own rendering is tested elsewhere).
    `stall`: run once, in the middle of the next render (a worker paused between claim and post)."""

    def __init__(self) -> None:
        self.stall: Callable[[], Awaitable[None]] | None = None

    async def for_row(self, row: OutboxRow) -> tuple[Message, int | None]:
        stall, self.stall = self.stall, None
        if stall is not None:
            await stall()
        body = row.body()
        assert isinstance(body, NoticePayload)
        return outage_notice(row.agent, body.since or row.created_at, body.problem, row.dedup_key), None


class NoIncidents:
    """A channel with no incidents to close, route, summarise or re-render."""

    def __init__(self) -> None:
        self.failures: list[SlackFailure] = []

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=30)

    async def close_quiet(self, channel_id: str) -> int:
        return 0

    async def route(self, channel_id: str) -> None:
        return None

    async def summarise_undelivered(self, channel_id: str) -> None:
        return None

    async def render_dirty(self, channel_id: str, owner: str) -> int:
        return 0

    async def channel_failure(self, channel_id: str, error: SlackFailure) -> None:
        self.failures.append(error)


@pytest.fixture
def fake() -> FakeDeliveryStore:
    return FakeDeliveryStore()


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def replica(
    fake: FakeDeliveryStore, notices: Notices, slack_url: str, sim_clock: SimClock
) -> Callable[[str], Deliverer]:
    """A Deliverer of replica `owner` on the shared fake store (a replica per call)."""

    async def sleep(seconds: float) -> None:
        sim_clock.advance(seconds)

    def build(owner: str) -> Deliverer:
        store: DeliveryStore = fake  # the fake, checked against the port by mypy
        messages: RowMessages = notices
        incidents: ChannelPassHooks = NoIncidents()
        return Deliverer(
            store=store,
            slack=AsyncWebClient(token=BOT_TOKEN, base_url=f"{slack_url}/api/", timeout=1),
            clock=sim_clock,
            messages=messages,
            incidents=incidents,
            owner=owner,
            post_spacing=timedelta(0),
            give_up_after=timedelta(hours=24),
            sleep=sleep,
            events=NO_EVENTS,
        )

    return build


async def enqueue(fake: FakeDeliveryStore, clock: SimClock, *keys: str) -> None:
    payload = NoticePayload(type=NoticeKind.OUTAGE, since=clock.now(), problem="HTTP 503")
    posts = [NewPost(key, OutboxKind.NOTICE, ONCALL_CHANNEL, "voice-bot", payload) for key in keys]
    assert await fake.enqueue(posts, clock.now()) == len(keys)


def shown(slack: SlackStandIn) -> list[str]:
    """The dedup keys of the channel's messages, oldest first."""
    return [m.metadata["event_payload"]["dedup_key"] for m in slack.messages_in(ONCALL_CHANNEL) if m.metadata]


async def test_each_row_is_posted_once_in_order(
    fake: FakeDeliveryStore, replica: Callable[[str], Deliverer], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    await enqueue(fake, sim_clock, "n1", "n2", "n3")
    deliverer = replica("r1")
    await deliverer.deliver_once()
    assert shown(slack_standin) == ["n1", "n2", "n3"]
    rows = await fake.outbox_rows()
    assert [(r.state, r.posted_ts) for r in rows] == [
        (OutboxState.SENT, m.ts) for m in slack_standin.messages_in(ONCALL_CHANNEL)
    ]
    sim_clock.advance(60)
    await deliverer.deliver_once()
    assert len(slack_standin.calls_to(POST)) == 3, "a posted row is never posted again"
    assert fake.channels[ONCALL_CHANNEL].lease_owner is None, "the pass gave the channel back"


async def test_a_429_holds_the_channel_and_it_is_retried_after_retry_after(
    fake: FakeDeliveryStore, replica: Callable[[str], Deliverer], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    await enqueue(fake, sim_clock, "n1", "n2")
    slack_standin.rate_limit_next(POST, 1, retry_after=30)
    limited_at = sim_clock.now()
    deliverer = replica("r1")
    await deliverer.deliver_once()
    assert shown(slack_standin) == [] and len(slack_standin.calls_to(POST)) == 1
    assert await fake.channel_backoff(ONCALL_CHANNEL) == limited_at + timedelta(seconds=30)
    assert [r.state for r in await fake.outbox_rows()] == [OutboxState.PENDING, OutboxState.PENDING]
    sim_clock.advance(20)
    await deliverer.deliver_once()
    assert len(slack_standin.calls_to(POST)) == 1, "nothing is posted inside Retry-After"
    sim_clock.advance(11)
    await deliverer.deliver_once()
    # Both go out now, once each. (Due-longest first: the rate-limited row is due at the end of its
    # Retry-After, so it follows the row it held up; the real store orders them the same way.)
    assert sorted(shown(slack_standin)) == ["n1", "n2"]
    assert len(slack_standin.calls_to(POST)) == 3


async def test_a_claim_taken_by_another_worker_makes_no_post(
    fake: FakeDeliveryStore, replica: Callable[[str], Deliverer], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    await enqueue(fake, sim_clock, "n1")
    [row] = await fake.outbox_rows()
    assert await fake.claim(row, "r2-token", sim_clock.now(), policy.CLAIM_TTL)  # r2 claims it first
    await replica("r1").deliver_once()
    assert slack_standin.calls_to(POST) == [], "r1 must not post a row claimed by r2"
    [claimed] = await fake.outbox_rows()
    assert (claimed.state, claimed.claim_token) == (OutboxState.SENDING, "r2-token")


async def test_a_worker_stalled_past_its_claim_does_not_post_what_another_posted(
    fake: FakeDeliveryStore,
    replica: Callable[[str], Deliverer],
    notices: Notices,
    slack_standin: SlackStandIn,
    sim_clock: SimClock,
) -> None:
    """r1 claims the row, then stalls (a long GC, a paused VM) past its claim and its channel lease;
    r2 takes the row over and posts it. When r1 resumes, its fence fails: no second post."""
    await enqueue(fake, sim_clock, "n1")
    r1, r2 = replica("r1"), replica("r2")

    async def stall() -> None:
        sim_clock.advance((policy.CLAIM_TTL + policy.CHANNEL_LEASE).total_seconds())
        await r2.deliver_once()

    notices.stall = stall
    await r1.deliver_once()
    assert shown(slack_standin) == ["n1"] and len(slack_standin.calls_to(POST)) == 1
    [row] = await fake.outbox_rows()
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)
    await r1.deliver_once()
    assert len(slack_standin.calls_to(POST)) == 1


async def test_an_uncertain_post_is_looked_for_and_recorded_not_posted_twice(
    fake: FakeDeliveryStore, replica: Callable[[str], Deliverer], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    await enqueue(fake, sim_clock, "n1")
    slack_standin.accept_then_fail_next(POST, 1, status=500)  # Slack stored it; the answer was lost
    deliverer = replica("r1")
    await deliverer.deliver_once()
    [row] = await fake.outbox_rows()
    assert row.state == OutboxState.UNCERTAIN and shown(slack_standin) == ["n1"]
    await deliverer.deliver_once()
    assert len(slack_standin.calls_to(POST)) == 1, "not looked for again before its recheck time"
    sim_clock.advance(policy.UNCERTAIN_RECHECK.total_seconds())
    await deliverer.deliver_once()
    [message] = slack_standin.messages_in(ONCALL_CHANNEL)
    [row] = await fake.outbox_rows()
    assert (row.state, row.posted_ts) == (OutboxState.SENT, message.ts)
    assert len(slack_standin.calls_to(POST)) == 1 and slack_standin.calls_to("conversations.history")
