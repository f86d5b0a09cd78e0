"""Where an outbox row posts: the thread its payload declares (bot/store/payloads.py).

A feature places its replies by what its payload is, never by a kind the deliverer knows:
- IncidentReply (a session's failure, a roll-up): under its incident's parent post; behind it
  while the parent is not posted yet; at the top level once the parent was given up (ParentLost),
  or when the row was sent there (`top_level`: its parent was deleted).
- FollowsOpener (a health or rate alert's recovery, a "came back" note): under its opener's post;
  behind it while the opener may still be posted; dropped when the channel never saw the opener
  (muted, given up, or the watch came later): a recovery of an alert nobody saw is noise.
- anything else: the top level.
"""

from __future__ import annotations

from bot.alerts.delivery import transitions
from bot.alerts.delivery.ports import ThreadStore
from bot.store.payloads import FollowsOpener, IncidentReply
from bot.store.records import DELIVERABLE, OutboxKind, OutboxRow, OutboxState


class Behind:
    """The post the row goes under may still be made: the row (and the channel's rows after it)
    wait for it, keeping their order behind it."""


BEHIND = Behind()

#: A Slack ts to post under, None for the top level, BEHIND, or what to do with a row that cannot
#: go where it belongs (post it top-level, or drop it).
Thread = str | None | Behind | transitions.ParentLost | transitions.Dropped


async def thread_of(store: ThreadStore, row: OutboxRow) -> Thread:
    """Where `row` posts now (see the module docstring)."""
    try:
        body = row.body()
    except ValueError:  # pydantic's ValidationError: the render fails too, and gives the row up
        return None
    if isinstance(body, FollowsOpener):
        return await _under_opener(store, body.opener_key)
    if isinstance(body, IncidentReply) and not row.top_level:
        return await _under_parent(store, row)
    return None


async def _under_opener(store: ThreadStore, opener_key: str) -> Thread:
    opener = await store.outbox_row_by_key(opener_key)
    if opener is None:
        return transitions.Dropped("recovery not posted: no alert was posted to this channel")
    if opener.state == OutboxState.SENT and opener.posted_ts:
        return opener.posted_ts
    if opener.state in DELIVERABLE:
        return BEHIND
    return transitions.Dropped(f"recovery not posted: its alert was not posted ({opener.state})")


async def _under_parent(store: ThreadStore, row: OutboxRow) -> Thread:
    incident = await store.incident(row.incident_id) if row.incident_id is not None else None
    if incident is not None and incident.parent_ts is not None:
        return incident.parent_ts
    parents = await store.outbox_rows(row.channel_id, kind=OutboxKind.PARENT, incident_id=row.incident_id)
    latest = parents[-1] if parents else None  # (a deleted parent's replacement comes after it)
    if latest is not None and latest.state != OutboxState.DEAD:
        return BEHIND
    why = latest.last_error if latest else "missing"
    return transitions.ParentLost(f"incident parent could not be posted ({why}): posted top-level")
