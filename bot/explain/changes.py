"""What changed, from the webhook timeline: the changes of the hour before an incident or a health
alert began (the agent's deployments and the builds they came from, and organization-wide
changes: secrets, API keys, spend, trial), for its "What changed" section, and the timeline that
`/session changes` lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.blocks.triage import ChangeEvent
from bot.explain.ports import ChangeStore
from bot.webhooks.timeline import Entry, referenced_builds, timeline

#: Changes this long before the trouble began are shown with it.
TIMELINE_WINDOW = timedelta(hours=1)
#: At most this many stored events are read for one timeline.
MAX_EVENTS = 500


async def change_timeline(store: ChangeStore, agent: str | None, since: datetime, until: datetime) -> list[Entry]:
    """The timeline between `since` and `until`, newest first: with `agent`, its own changes and
    the organization-wide ones; without, everything."""
    events = await store.webhook_events_between(since, until, MAX_EVENTS)
    builds = await store.webhook_builds(referenced_builds(events))
    return timeline(events, agent=agent, builds=builds)


async def changes_before(store: ChangeStore, agent: str, began_at: datetime) -> tuple[ChangeEvent, ...]:
    """The agent's timeline changes of the TIMELINE_WINDOW before `began_at`."""
    entries = await change_timeline(store, agent, began_at - TIMELINE_WINDOW, began_at)
    return tuple(
        ChangeEvent(e.at, e.text, int((began_at - e.at).total_seconds() // 60)) for e in entries if e.at <= began_at
    )
