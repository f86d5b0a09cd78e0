"""What "nothing lost, nothing twice" means for the messages in a stand-in channel."""

from __future__ import annotations

from collections import Counter

from sandbox.slack.standin import SlackStandIn, StoredMessage


def _key(message: StoredMessage) -> str:
    metadata = message.metadata or {}
    return str((metadata.get("event_payload") or {}).get("dedup_key", ""))


def all_messages(standin: SlackStandIn, channel: str) -> list[StoredMessage]:
    """Top-level messages and every thread's replies."""
    top = standin.messages_in(channel)
    return top + [reply for parent in top for reply in standin.messages_in(channel, thread_ts=parent.ts)]


def alert_sessions(standin: SlackStandIn, channel: str) -> Counter[str]:
    """How many times each session's own alert reply is in the channel (threaded or top-level)."""
    found: Counter[str] = Counter()
    for message in all_messages(standin, channel):
        key = _key(message)
        head = key.split(":", 1)[0]
        if head.isdigit():  # "<subscription>:<session>": a session's alert
            found[key.split(":", 1)[1]] += 1
    return found


def keys_posted_twice(standin: SlackStandIn, channel: str) -> list[str]:
    counts = Counter(_key(m) for m in all_messages(standin, channel) if _key(m))
    return sorted(k for k, n in counts.items() if n > 1)
