"""One top-level post per channel watching an agent: the rule every notice and health post shares.

A channel that muted the agent gets the row already muted, so it is recorded (and deduplicated)
but never posted. A broken watch gets its row like any other: the channel holds it until its next
probe post finds Slack taking posts there again (bot/alerts/delivery/deliverer.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.store.payloads import OutboxPayload
from bot.store.records import NewPost, OutboxKind, OutboxState, Watch

#: The channel's active mutes, by (channel id, agent).
Mutes = Mapping[tuple[str, str], object]


def fan_out(
    agent: str,
    kind: OutboxKind,
    watches: Sequence[Watch],
    mutes: Mutes,
    post: Callable[[Watch], tuple[str, OutboxPayload]],
) -> list[NewPost]:
    """A row for each watch; `post` gives the watch's dedup key and payload."""
    rows = []
    for w in watches:
        dedup_key, payload = post(w)
        rows.append(
            NewPost(
                dedup_key=dedup_key,
                kind=kind,
                channel_id=w.channel_id,
                agent=agent,
                payload=payload,
                subscription_id=w.id,
                state=OutboxState.MUTED if (w.channel_id, w.agent) in mutes else OutboxState.PENDING,
            )
        )
    return rows
