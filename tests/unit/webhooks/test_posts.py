"""The outbox rows of webhook alerts (bot/webhooks/posts.py): one per channel, keyed by the event
and the channel, muted only where every concerned agent is muted, none for a broken watch."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.records import OpenCondition, OutboxKind, OutboxState, Watch
from bot.webhooks.posts import channel_scopes, clearing_posts, label, opening_posts

T = datetime(2026, 8, 25, 11, 0, tzinfo=UTC)


def watch(wid: int, channel: str, agent: str, broken: str | None = None) -> Watch:
    return Watch(wid, channel, agent, frozenset({"HTTP_ERROR"}), None, "U1", T, broken_reason=broken)


WATCHES = {
    "voice-bot": [watch(1, "C1", "voice-bot"), watch(3, "C2", "voice-bot", broken="channel_not_found")],
    "support-bot": [watch(2, "C1", "support-bot"), watch(4, "C3", "support-bot")],
}


def test_one_scope_per_channel_with_the_agents_it_watches() -> None:
    scopes = channel_scopes(WATCHES, ["voice-bot", "support-bot"], {})
    assert [(s.channel_id, sorted(s.agents), s.subscription_id, s.muted) for s in scopes] == [
        ("C1", ["support-bot", "voice-bot"], 1, False),
        ("C3", ["support-bot"], 4, False),
    ]  # C2's watch is broken: nothing can be posted there


def test_a_channel_is_muted_only_when_every_concerned_agent_is() -> None:
    one = channel_scopes(WATCHES, ["voice-bot", "support-bot"], {("C1", "voice-bot"): object()})
    both = channel_scopes(WATCHES, ["voice-bot", "support-bot"], {("C1", "voice-bot"): 1, ("C1", "support-bot"): 1})
    assert [s.muted for s in one] == [False, False] and [s.muted for s in both] == [True, False]
    only_voice = channel_scopes(WATCHES, ["voice-bot"], {("C1", "voice-bot"): 1})
    assert [(s.channel_id, s.muted) for s in only_voice] == [("C1", True)]


def test_opening_posts_are_keyed_by_the_event_and_the_channel() -> None:
    scopes = channel_scopes(WATCHES, ["voice-bot", "support-bot"], {("C3", "support-bot"): 1})
    finding = {
        "key": "webhook:spend-limit",
        "kind": "spend-limit",
        "title": "Spend limit reached",
        "webhook_id": "msg_1",
    }
    posts = opening_posts(finding, "critical", T, scopes, "msg_1", agent=None, org_label=label("acme-co"))
    assert [(p.post.dedup_key, p.post.kind, p.post.agent, p.post.state) for p in posts] == [
        ("webhook:msg_1:spend-limit:C1", OutboxKind.HEALTH, "Pipecat Cloud (acme-co)", OutboxState.PENDING),
        ("webhook:msg_1:spend-limit:C3", OutboxKind.HEALTH, "Pipecat Cloud (acme-co)", OutboxState.MUTED),
    ]
    assert posts[0].agents == frozenset({"voice-bot", "support-bot"})


def test_a_resolution_replies_under_each_channel_s_opening_post() -> None:
    finding = {"key": "webhook:spend-limit", "kind": "spend-limit", "webhook_id": "msg_1", "label": "X"}
    opened = [OpenCondition("voice-bot", "webhook:spend-limit", T, finding, True)]
    scopes = channel_scopes(WATCHES, ["voice-bot"], {})
    [post] = clearing_posts(opened, T, "spend limit cleared", scopes, "msg_2", agent=None)
    assert (post.post.dedup_key, post.post.kind, post.post.agent) == (
        "webhook:msg_2:spend-limit:C1",
        OutboxKind.HEALTH_CLEAR,
        "X",
    )
    assert post.post.payload.opener_key == "webhook:msg_1:spend-limit:C1"  # type: ignore[union-attr]


def test_a_long_organization_name_is_not_shown() -> None:
    assert label(None) == "Pipecat Cloud" and label("x" * 80) == "Pipecat Cloud"
