"""Store contract for a rate alert's acknowledgement (bot/store/rates.py `acknowledge_rate_alert`,
`unacknowledge_rate_alert`, table `rate_acks`), on every backend: the first click wins across
channels (and clicks at once), every channel's post says who, Unacknowledge restores Acknowledge,
a cleared alert takes neither, and a mute re-renders only open posts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.alerts.delivery.transitions import Posted, next_state
from bot.store import Store
from bot.store.payloads import RatePayload
from bot.store.records import NewPost, OutboxKind

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
AGENT = "voice-bot"
EPISODE = {"key": "failure-rate", "headline": "31% of calls failing (last 5 min), usually 2.0%", "usual": 0.02}


def opener(watch: int, channel: str) -> NewPost:
    payload = RatePayload(episode=EPISODE, opened_at=T0)
    return NewPost(f"rate:{watch}:failure-rate:{int(T0.timestamp())}", OutboxKind.RATE, channel, AGENT, payload, watch)


async def open_episode(store: Store) -> tuple[NewPost, NewPost]:
    """The evaluation that opened the episode (one post per watching channel), both posted."""
    posts = (opener(1, "C1"), opener(2, "C2"))
    await store.set_slo(AGENT, None, None, "U0", T0)  # the agent's rate state, at version 0
    assert await store.save_rate_evaluation(AGENT, 0, {"episodes": {}}, T0, posts=posts)
    for post, ts in zip(posts, ("1.1", "2.2"), strict=True):
        [row] = await store.outbox_rows(post.channel_id)
        assert await store.claim(row, "tok", T0, LEASE)
        assert await store.apply(row, "tok", next_state(row, Posted(ts), now=T0, give_up_after=LEASE), T0)
    return posts


async def shown_ack(store: Store, channel: str) -> tuple[str | None, datetime | None]:
    [row] = await store.outbox_rows(channel)
    body = row.body()
    assert isinstance(body, RatePayload)
    return body.acknowledged_by, body.acknowledged_at


async def test_a_rate_alert_is_acknowledged_once_across_channels_and_unacknowledged(store: Store) -> None:
    posts = await open_episode(store)
    at = T0 + timedelta(minutes=2)
    assert await store.acknowledge_rate_alert("C9", "1.1", "U1", at) is None  # not a post of ours
    first = await store.acknowledge_rate_alert("C1", "1.1", "U1", at)
    assert first is not None and (first.by, first.at, first.first) == ("U1", at, True)
    again = await store.acknowledge_rate_alert("C2", "2.2", "U2", at + LEASE)  # the other channel's post
    assert again is not None and (again.by, again.at, again.first) == ("U1", at, False)
    assert await store.rate_acknowledgements(AGENT) == {("failure-rate", T0): ("U1", at)}
    assert await shown_ack(store, "C1") == await shown_ack(store, "C2") == ("U1", at)
    for post in posts:  # each channel's post is queued for its re-render
        assert {r.dedup_key for r in await store.ready_reply_edits(post.channel_id, 10)} == {post.dedup_key}

    assert await store.unacknowledge_rate_alert("C2", "2.2", at + LEASE)
    assert await store.rate_acknowledgements(AGENT) == {}
    assert await shown_ack(store, "C1") == await shown_ack(store, "C2") == (None, None)
    later = at + 2 * LEASE
    back = await store.acknowledge_rate_alert("C2", "2.2", "U2", later)  # Acknowledge works again
    assert back is not None and (back.by, back.first) == ("U2", True)
    assert await shown_ack(store, "C1") == ("U2", later)


async def test_two_clicks_at_once_in_two_channels_one_wins(store: Store) -> None:
    await open_episode(store)
    at = T0 + timedelta(minutes=2)
    acks = await asyncio.gather(
        store.acknowledge_rate_alert("C1", "1.1", "U1", at), store.acknowledge_rate_alert("C2", "2.2", "U2", at)
    )
    assert all(a is not None for a in acks)
    winners = [a for a in acks if a is not None and a.first]
    assert len(winners) == 1
    assert {(a.by, a.at) for a in acks if a is not None} == {(winners[0].by, at)}
    assert await shown_ack(store, "C1") == await shown_ack(store, "C2") == (winners[0].by, at)


async def test_a_cleared_rate_alert_takes_no_acknowledgement_and_is_not_re_rendered_by_a_mute(store: Store) -> None:
    posts = await open_episode(store)
    assert await store.rerender_open_alert_posts("C1", AGENT, T0) == 1  # a mute re-renders the open post
    assert await store.rerender_open_alert_posts("C3", AGENT, T0) == 0
    cleared = T0 + timedelta(minutes=20)
    state = await store.rate_state(AGENT)
    assert state is not None
    touched = {p.dedup_key: {"cleared_at": cleared.isoformat(), "cost": 41} for p in posts}
    assert await store.save_rate_evaluation(AGENT, state.version, {"episodes": {}}, cleared, touched=touched)
    assert await store.acknowledge_rate_alert("C1", "1.1", "U1", cleared) is None
    assert not await store.unacknowledge_rate_alert("C1", "1.1", cleared)
    assert await store.rerender_open_alert_posts("C1", AGENT, cleared) == 0


async def test_acknowledgements_are_pruned_with_the_counts(store: Store) -> None:
    await open_episode(store)
    assert await store.acknowledge_rate_alert("C1", "1.1", "U1", T0) is not None
    await store.prune_rates(T0, T0, T0)  # opened at T0: kept
    assert await store.rate_acknowledgements(AGENT) != {}
    await store.prune_rates(T0 + timedelta(seconds=1), T0, T0)
    assert await store.rate_acknowledgements(AGENT) == {}
