"""The outbox rows of webhook alerts: pure, table-tested in tests/unit/webhooks/test_posts.py.

An alert goes to each channel once, however many of the concerned agents it watches: one post
per channel, keyed by the event and the channel (bot/contracts/keys.py webhook_post_key), so a
redelivery or a second replica can never post it twice. A broken watch gets nothing; a channel
where every concerned agent is muted gets the row already muted (recorded, never posted), as
every alert. The posts are agent health posts (the same rendering, and a resolution is a
recovery reply under the opening post, which is then edited).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.contracts.keys import webhook_post_key
from bot.store.payloads import HealthClearPayload, HealthPayload
from bot.store.records import NewPost, OpenCondition, OutboxKind, OutboxState, ScopedPost, Watch

#: What an organization-wide alert's posts name instead of an agent (the org when the event named it).
PIPECAT_CLOUD = "Pipecat Cloud"
MAX_LABEL = 64


@dataclass(frozen=True)
class ChannelScope:
    """One channel that watches some of the concerned agents."""

    channel_id: str
    agents: frozenset[str]
    #: The first of its watches among them (the row's subscription, as every post has one).
    subscription_id: int
    muted: bool


def channel_scopes(
    watches: Mapping[str, Sequence[Watch]], agents: Iterable[str], mutes: Mapping[tuple[str, str], object]
) -> list[ChannelScope]:
    """The channels that watch any of `agents` through a working watch, by channel id."""
    by_channel: dict[str, list[Watch]] = {}
    for agent in set(agents):
        for w in watches.get(agent, ()):
            if not w.broken_reason:
                by_channel.setdefault(w.channel_id, []).append(w)
    scopes = []
    for channel, found in sorted(by_channel.items()):
        concerned = frozenset(w.agent for w in found)
        muted = all((channel, agent) in mutes for agent in concerned)
        scopes.append(ChannelScope(channel, concerned, min(w.id for w in found), muted))
    return scopes


def label(org: str | None) -> str:
    """What an organization-wide post names: "Pipecat Cloud (acme-co)"."""
    text = f"{PIPECAT_CLOUD} ({org})" if org else PIPECAT_CLOUD
    return text if len(text) <= MAX_LABEL else PIPECAT_CLOUD


def opening_posts(
    finding: Mapping[str, Any],
    severity: str,
    opened_at: datetime,
    scopes: Sequence[ChannelScope],
    webhook_id: str,
    *,
    agent: str | None,
    org_label: str,
) -> list[ScopedPost]:
    """An alert's posts (or a warning's: the same, with nothing to resolve later)."""
    payload = HealthPayload(finding=dict(finding), severity=severity, opened_at=opened_at)
    return [
        ScopedPost(
            scope.agents,
            NewPost(
                dedup_key=webhook_post_key(webhook_id, str(finding.get("kind", "")), scope.channel_id),
                kind=OutboxKind.HEALTH,
                channel_id=scope.channel_id,
                agent=agent or org_label,
                payload=payload,
                subscription_id=scope.subscription_id,
                state=OutboxState.MUTED if scope.muted else OutboxState.PENDING,
            ),
        )
        for scope in scopes
    ]


def clearing_posts(
    opened: Sequence[OpenCondition],
    cleared_at: datetime,
    note: str,
    scopes: Sequence[ChannelScope],
    webhook_id: str,
    *,
    agent: str | None,
) -> list[ScopedPost]:
    """The recovery reply of each channel, under that channel's opening post (named by the event
    that opened the alert on one of the channel's agents)."""
    by_agent = {c.agent: c for c in opened}
    posts = []
    for scope in scopes:
        mine = [by_agent[a] for a in sorted(scope.agents) if a in by_agent]
        if not mine:
            continue
        condition = min(mine, key=lambda c: c.opened_at)
        opener = str(condition.finding.get("webhook_id") or "")
        kind = str(condition.finding.get("kind") or "")
        payload = HealthClearPayload(
            finding=condition.finding,
            opened_at=condition.opened_at,
            cleared_at=cleared_at,
            opener_key=webhook_post_key(opener, kind, scope.channel_id),
            now=note,
        )
        posts.append(
            ScopedPost(
                scope.agents,
                NewPost(
                    dedup_key=webhook_post_key(webhook_id, kind, scope.channel_id),
                    kind=OutboxKind.HEALTH_CLEAR,
                    channel_id=scope.channel_id,
                    agent=agent or str(condition.finding.get("label") or PIPECAT_CLOUD),
                    payload=payload,
                    subscription_id=scope.subscription_id,
                    state=OutboxState.MUTED if scope.muted else OutboxState.PENDING,
                ),
            )
        )
    return posts
