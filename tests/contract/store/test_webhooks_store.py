"""Store contract for webhook events and webhook alerts, on every backend: one row per
webhook-id, the pending queue, pruning, and alerts opened and cleared once with their posts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import Store
from bot.store.payloads import HealthPayload
from bot.store.records import NewPost, OutboxKind, ScopedPost

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
KEY = "webhook:spend-limit"


async def record(store: Store, webhook_id: str, *, at: datetime = T0, **extra: Any) -> tuple[Any, bool]:
    values: dict[str, Any] = {
        "event_type": "spend.limit_reached",
        "org": "acme-co",
        "created_at": at,
        "received_at": at,
        "agent": None,
        "build_id": None,
        "data": {"limit_cents": 100},
    }
    return await store.record_webhook(webhook_id=webhook_id, **{**values, **extra})


def post(channel: str, key: str) -> NewPost:
    payload = HealthPayload(finding={"key": KEY}, severity="critical", opened_at=T0)
    return NewPost(key, OutboxKind.HEALTH, channel, "voice-bot", payload, 1)


async def test_a_delivery_is_stored_once_per_webhook_id(store: Store) -> None:
    first, new = await record(store, "msg_1")
    again, new_again = await record(store, "msg_1", data={"limit_cents": 999})
    assert (new, new_again) == (True, False)
    assert again == first and again.data == {"limit_cents": 100}  # the first delivery's, untouched
    assert await store.pending_webhook_events(T0, 10) == [first]  # what the store returned is what it holds


async def test_concurrent_redeliveries_store_one_row(store: Store) -> None:
    results = await asyncio.gather(*(record(store, "msg_same") for _ in range(5)))
    assert sorted(new for _, new in results) == [False, False, False, False, True]
    assert len({event.id for event, _ in results}) == 1


async def test_pending_events_until_processed_once(store: Store) -> None:
    event, _ = await record(store, "msg_1")
    assert await store.pending_webhook_events(T0 - timedelta(seconds=1), 10) == []  # too young
    assert [e.id for e in await store.pending_webhook_events(T0, 10)] == [event.id]
    assert await store.mark_webhook_processed(event.id, T0) is True
    assert await store.mark_webhook_processed(event.id, T0) is False
    assert await store.pending_webhook_events(T0 + timedelta(hours=1), 10) == []


async def test_pruning_forgets_only_processed_events_past_the_cut(store: Store) -> None:
    old, _ = await record(store, "msg_old", at=T0 - timedelta(days=31))
    await record(store, "msg_stuck", at=T0 - timedelta(days=31))
    recent, _ = await record(store, "msg_new", at=T0)
    for event in (old, recent):
        await store.mark_webhook_processed(event.id, T0)
    assert await store.prune_webhook_events(T0 - timedelta(days=30)) == 1
    kept = await store.webhook_events_between(T0 - timedelta(days=40), T0, 10)
    assert [e.webhook_id for e in kept] == ["msg_new", "msg_stuck"]  # newest first


async def test_builds_are_found_by_id(store: Store) -> None:
    await record(store, "msg_b", event_type="build.succeeded", build_id="b1", data={"build_id": "b1"})
    await record(store, "msg_d", event_type="deployment.updated", build_id="b1", agent="voice-bot")
    assert [e.webhook_id for e in await store.webhook_builds(["b1", "b2"])] == ["msg_b"]


async def test_an_alert_opens_once_and_posts_where_it_opened(store: Store) -> None:
    finding = {"key": KEY, "kind": "spend-limit", "title": "Spend limit reached", "webhook_id": "msg_1"}
    posts = [
        ScopedPost(frozenset({"voice-bot", "support-bot"}), post("C1", "webhook:msg_1:C1")),
        ScopedPost(frozenset({"support-bot"}), post("C2", "webhook:msg_1:C2")),
    ]
    opened = await store.open_webhook_alert(
        key=KEY, finding=finding, agents=["voice-bot"], opened_at=T0, posts=posts, now=T0
    )
    assert opened == ["voice-bot"]
    assert [r.channel_id for r in await store.outbox_rows("C1", OutboxKind.HEALTH)] == ["C1"]
    assert await store.outbox_rows("C2", OutboxKind.HEALTH) == []  # C2 watches no agent it opened on

    # A second event while it is open: support-bot opens, but C1 already had the alert.
    posts2 = [ScopedPost(p.agents, post(p.post.channel_id, p.post.dedup_key.replace("msg_1", "msg_2"))) for p in posts]
    opened2 = await store.open_webhook_alert(
        key=KEY, finding=finding, agents=["voice-bot", "support-bot"], opened_at=T0, posts=posts2, now=T0
    )
    assert opened2 == ["support-bot"]
    assert (
        len(await store.outbox_rows("C1", OutboxKind.HEALTH)) == 1
        and len(await store.outbox_rows("C2", OutboxKind.HEALTH)) == 1
    )

    conditions = await store.open_alerts(KEY)
    assert sorted(c.agent for c in conditions) == ["support-bot", "voice-bot"]
    clear = [ScopedPost(frozenset({"voice-bot"}), post("C1", "webhook:msg_3:C1"))]
    assert await store.clear_webhook_alert(key=KEY, opened=conditions, posts=clear, opener_changes={}, now=T0) == [
        "support-bot",
        "voice-bot",
    ]
    assert (
        await store.clear_webhook_alert(key=KEY, opened=conditions, posts=clear, opener_changes={}, now=T0) == []
    )  # once
    assert await store.open_alerts(KEY) == [] and await store.open_conditions() == []
